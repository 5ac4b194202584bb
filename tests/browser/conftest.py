"""Fixtures for the browser tests: Debian's Chromium, Playwright, and a private JupyterLab server.

Chromium is installed with ``apt-get install -y chromium`` when it is missing and the tests run
as root (as on the CI machine); otherwise, and when Playwright is not installed, every browser
test is skipped with the reason. No browser is ever downloaded: Playwright drives
``/usr/bin/chromium`` (or ``$GANLAB_CHROMIUM``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from labdriver import CHROMIUM_ARGS, start_lab

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("GANLAB_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = ROOT / "screenshots" / "browser"


def _install_chromium() -> str | None:
    """Install Debian's chromium if missing; return why it is unavailable, or None when it is."""
    if CHROMIUM.exists():
        return None
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or shutil.which("apt-get") is None:
        return (f"{CHROMIUM} is missing and cannot be installed here (needs root and apt-get); "
                "run `sudo apt-get install -y chromium` to enable the browser tests")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = ["apt-get", "install", "-y", "-q", "chromium"]
    if subprocess.run(install, env=env, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True)
        done = subprocess.run(install, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            return f"`apt-get install -y chromium` failed:\n{done.stderr[-2000:]}"
    return None if CHROMIUM.exists() else f"chromium installed but {CHROMIUM} is still missing"


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    why = _install_chromium()
    if why:
        pytest.skip(why)
    return CHROMIUM


@pytest.fixture(scope="session")
def browser(chromium_path, tmp_path_factory):
    """Headless Chromium driven by Playwright, with a new empty profile."""
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')")
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=str(chromium_path), headless=True,
            args=CHROMIUM_ARGS, viewport={"width": 1280, "height": 900})
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def lab(browser, tmp_path_factory):
    """A JupyterLab server over the repository on a free loopback port with a token; stopped
    (by its own PID) when the session ends."""
    server = start_lab(ROOT, tmp_path_factory.mktemp("jupyter"))
    yield server
    server.stop()


@pytest.fixture
def page(browser):
    """A fresh browser tab, closed after the test."""
    tab = browser.new_page()
    yield tab
    tab.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """Folder for the screenshots (``screenshots/`` is ignored by git)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
