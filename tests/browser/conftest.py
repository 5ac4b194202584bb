"""Fixtures for the browser tests: Debian's Chromium, Playwright, and a private JupyterLab server.

Chromium (and Debian's CJK font, for the Chinese lessons) is installed with ``apt-get install -y
chromium fonts-noto-cjk`` when it is missing and the tests run as root (as on the CI machine);
otherwise, and when Playwright is not installed, every browser test is skipped with the reason.
No browser is ever downloaded: Playwright drives ``/usr/bin/chromium`` (or ``$GANLAB_CHROMIUM``).
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


def _has_cjk_font() -> bool:
    """Whether fontconfig knows a font for Chinese (the Chinese lessons need one)."""
    if shutil.which("fc-list") is None:
        return False
    listed = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True)
    return bool(listed.stdout.strip())


def _apt_install(packages: list[str]) -> str | None:
    """``apt-get install -y`` the packages (root only); return why it could not, or None."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or shutil.which("apt-get") is None:
        return (f"{' '.join(packages)} missing and cannot be installed here (needs root and "
                f"apt-get); run `sudo apt-get install -y {' '.join(packages)}` to enable this")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = ["apt-get", "install", "-y", "-q", *packages]
    if subprocess.run(install, env=env, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True)
        done = subprocess.run(install, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            return f"`{' '.join(install)}` failed:\n{done.stderr[-2000:]}"
    return None


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    """Debian's Chromium, installed when missing (root); the test skips, saying why, otherwise."""
    why = None if CHROMIUM.exists() else _apt_install(["chromium", "fonts-noto-cjk"])
    if why or not CHROMIUM.exists():
        pytest.skip(why or f"chromium installed but {CHROMIUM} is still missing")
    return CHROMIUM


@pytest.fixture(scope="session")
def cjk_font() -> None:
    """A CJK font for the Chinese lessons (Debian's fonts-noto-cjk), installed when missing."""
    why = None if _has_cjk_font() else _apt_install(["fonts-noto-cjk"])
    if why or not _has_cjk_font():
        pytest.skip(why or "fonts-noto-cjk installed but fontconfig lists no Chinese font")


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
