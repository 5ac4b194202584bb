"""Start a private JupyterLab server and drive it from Chromium, as a learner would.

Used by ``tests/browser``: :func:`start_lab` starts ``jupyter lab`` on a free loopback port with
a random token and a throw-away configuration (no news pop-up, no autosave, every cell kept in
the page); the page helpers open a notebook, press *Run > Run All Cells*, wait for the kernel's
status text to read ``Idle``, and collect what the cells show.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

# Chromium as the CI machine runs it: headless, no sandbox (root in a container), no GPU, and no
# traffic to Google's services (the tests are offline).
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

# JupyterLab user settings for the test server: no announcements pop-up over the page, no
# autosave (running a lesson must not write its outputs into the repository), and every cell
# attached to the DOM so that the test sees all of them, not only those in the viewport.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
}

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


@dataclass
class Lab:
    """A running JupyterLab server: its URL, token and process (stopped by :meth:`stop`)."""

    url: str
    token: str
    process: subprocess.Popen
    log: Path

    def notebook_url(self, path: str) -> str:
        """URL that opens ``path`` (relative to the server's root) in JupyterLab."""
        return f"{self.url}lab/tree/{path}?token={self.token}&reset"

    def stop(self, timeout: float = 20.0) -> None:
        """Stop the server by its own PID (SIGTERM: it shuts its kernels down), then its group."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        try:  # kernels it started are in its process group (start_new_session below)
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_lab(root: Path, workdir: Path, timeout: float = 90.0) -> Lab:
    """Start ``jupyter lab`` serving ``root`` on 127.0.0.1 with a token; state goes in ``workdir``.

    ``workdir`` holds a private Jupyter config, runtime, settings and workspaces directory, so the
    server neither reads the user's ``~/.jupyter`` nor leaves anything behind.
    """
    for sub in ("config", "runtime", "settings", "workspaces"):
        (workdir / sub).mkdir(parents=True, exist_ok=True)
    for plugin, values in LAB_SETTINGS.items():
        file = workdir / "settings" / f"{plugin}.jupyterlab-settings"
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(json.dumps(values))
    server_config = {"LabApp": {"news_url": None,
                                "check_for_updates_class": "jupyterlab.NeverCheckForUpdate"}}
    (workdir / "config" / "jupyter_server_config.json").write_text(json.dumps(server_config))
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(workdir / "config"),
               JUPYTER_RUNTIME_DIR=str(workdir / "runtime"),
               JUPYTERLAB_SETTINGS_DIR=str(workdir / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(workdir / "workspaces"))
    port, token = free_port(), secrets.token_hex(16)
    log = workdir / "jupyter-lab.log"
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
               f"--port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
               f"--ServerApp.root_dir={root}", "--LabApp.extension_manager=readonly",
               "--LabApp.expose_app_in_browser=True"]  # window.jupyterapp, to read cell outputs
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # CI containers run as root
        command.append("--allow-root")
    with open(log, "wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    lab = Lab(f"http://127.0.0.1:{port}/", token, process, log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{lab.url}api/status?token={token}", timeout=2) as reply:
                if reply.status == 200:
                    return lab
        except OSError:
            time.sleep(0.25)
    lab.stop()
    raise RuntimeError(f"jupyter lab did not answer within {timeout:.0f} s:\n{log.read_text()}")


# --- page helpers -----------------------------------------------------------------------------

KERNEL_STATUS_JS = """() => {
  const item = [...document.querySelectorAll('.jp-StatusBar-Item, .jp-StatusBar-TextItem')]
    .map(e => e.textContent.trim()).find(t => / \\| \\w+$/.test(t));
  return item ? item.split('|').pop().trim() : null;
}"""

# One entry per code cell with source: its prompt ("[3]:", "[*]:", "[ ]:").
PROMPTS_JS = """() => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell')]
  .filter(c => (c.querySelector('.jp-InputArea-editor')?.textContent || '').trim() !== '')
  .map(c => (c.querySelector('.jp-InputArea-prompt')?.textContent || '').trim())"""

# Error outputs of the open notebook, read from its model (on screen an error looks like stderr).
# A cell tagged "raises-exception" (JupyterLab's tag; Run All goes on past it) or starting with
# "# NBVAL_RAISES_EXCEPTION" (nbval's marker) is expected to fail: its error is marked expected.
ERRORS_JS = r"""() => {
  const panel = window.jupyterapp.shell.currentWidget, errors = [];
  for (const cell of panel.content.model.cells) {
    if (cell.type !== 'code') continue;
    const tags = cell.getMetadata('tags') || [];
    const expected = tags.includes('raises-exception')
      || cell.sharedModel.getSource().trimStart().startsWith('# NBVAL_RAISES_EXCEPTION');
    for (const o of cell.outputs.toJSON())
      if (o.output_type === 'error')
        errors.push({expected,
                     text: o.traceback.join('\n').replace(/\x1b\[[0-9;]*m/g, '').slice(-3000)});
  }
  return errors;
}"""

DONE_JS = f"""() => {{
  const status = ({KERNEL_STATUS_JS})(), prompts = ({PROMPTS_JS})();
  const failed = ({ERRORS_JS})().length > 0;  // Run All stops at an untagged error
  const running = prompts.some(p => p.includes('*'));
  const allRun = prompts.every(p => /\\[\\d+\\]/.test(p));
  return status === 'Idle' && !running && (allRun || failed);
}}"""


def kernel_status(page) -> str | None:
    """The kernel status word shown in JupyterLab's status bar ("Idle", "Busy", ...)."""
    return page.evaluate(KERNEL_STATUS_JS)


def open_notebook(page, lab: Lab, path: str, timeout_ms: float = 120_000) -> None:
    """Open ``path`` in JupyterLab and wait until its kernel's status text reads ``Idle``."""
    page.goto(lab.notebook_url(path))
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=timeout_ms)
    page.wait_for_function(f"() => ({KERNEL_STATUS_JS})() === 'Idle'", timeout=timeout_ms)


def shut_down_kernel(page) -> None:
    """Shut down the open notebook's kernel (the server would keep it running otherwise)."""
    page.evaluate("() => window.jupyterapp.shell.currentWidget?.sessionContext?.shutdown()")


def run_all_cells(page, timeout_ms: float) -> float:
    """Press *Run > Run All Cells*; wait until every cell ran (or one failed) and the kernel is
    idle, twice 0.5 s apart; return the seconds it took."""
    start = time.monotonic()
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    for _ in range(2):
        page.wait_for_timeout(500)
        page.wait_for_function(DONE_JS, timeout=timeout_ms, polling=200)
    return time.monotonic() - start


def cell_errors(page) -> list[str]:
    """Traceback of every unexpected error output in the open notebook (empty: no cell failed)."""
    return [e["text"] for e in page.evaluate(ERRORS_JS) if not e["expected"]]


def cells_not_run(page) -> list[int]:
    """Numbers (from 1) of the code cells with source that show no execution count."""
    prompts = page.evaluate(PROMPTS_JS)
    return [i + 1 for i, p in enumerate(prompts) if not re.search(r"\[\d+\]", p)]


# One entry per widget output in the open notebook's model: did the page render it?
WIDGETS_JS = """() => {
  const found = [];
  for (const cell of window.jupyterapp.shell.currentWidget.content.widgets) {
    if (cell.model.type !== 'code') continue;
    const children = [...cell.outputArea.node.children];
    cell.model.outputs.toJSON().forEach((output, j) => {
      if (!(output.data && output.data['WIDGET_MIME'])) return;
      const el = children[j]?.querySelector(':scope > .jp-OutputArea-output');
      const text = (el?.textContent || '').trim().slice(0, 300);
      const ok = !!el?.querySelector('.jupyter-widgets')
        && !/^(Error displaying widget|Loading widget)/.test(text);
      found.push({ok, text: text || '(nothing rendered)'});
    });
  }
  return found;
}""".replace("WIDGET_MIME", WIDGET_MIME)


def unrendered_widgets(page, timeout_ms: float = 30_000) -> list[str]:
    """Wait (up to ``timeout_ms``) for every widget output to render; return those that did not
    (their text, e.g. "Error displaying widget: model not found")."""
    wait = f"() => ({WIDGETS_JS})().every(w => w.ok)"
    try:
        page.wait_for_function(wait, timeout=timeout_ms, polling=250)
    except Exception:  # noqa: BLE001 - what is still unrendered is returned below
        pass
    return [w["text"] for w in page.evaluate(WIDGETS_JS) if not w["ok"]]


def widget_count(page) -> int:
    """How many widget outputs the open notebook has (in its model)."""
    return len(page.evaluate(WIDGETS_JS))


def screenshot_notebook(page, path: Path, max_height: int = 16_000) -> Path:
    """Screenshot the whole notebook (the viewport grows to fit it, up to ``max_height`` px)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    height = page.evaluate("""() => Math.max(...[...document.querySelectorAll(
        '.jp-WindowedPanel-outer, .jp-Notebook')].map(e => e.scrollHeight), 0)""")
    width = page.viewport_size["width"] if page.viewport_size else 1280
    page.set_viewport_size({"width": width, "height": int(min(max(height + 200, 800), max_height))})
    page.evaluate("""() => document.querySelectorAll('.jp-WindowedPanel-outer, .jp-Notebook')
        .forEach(e => { e.scrollTop = 0; })""")
    page.wait_for_timeout(300)
    page.screenshot(path=str(path))
    return path


# --- live widgets -----------------------------------------------------------------------------

# A control that must redraw the picture when used carries this CSS class (ipywidgets:
# ``slider.add_class("ganlab-redraws")``, on a slider, a button, a toggle button or a Play widget).
# The lesson test moves or presses each one and requires the widget's output (its controls
# masked out) to look different within a stated time.
REDRAWS_CLASS = "ganlab-redraws"
CONTROLS = (".widget-slider, .widget-play, .widget-button, .widget-toggle-button, "
            ".widget-readout, .widget-label, .widget-text, .widget-dropdown, "
            ".widget-toggle-buttons, .widget-checkbox, .widget-html, .widget-progress")


def _changed_within(output, action, timeout_ms: float) -> float | None:
    """Do ``action``; milliseconds until ``output`` (controls masked) looks different, else None."""
    mask = [output.locator(CONTROLS)]
    before = output.screenshot(mask=mask, animations="disabled")
    start = time.monotonic()
    action()
    while (elapsed := (time.monotonic() - start) * 1000) < timeout_ms:
        if output.screenshot(mask=mask, animations="disabled") != before:
            return elapsed
        output.page.wait_for_timeout(20)
    return None


def exercise_live_widgets(page, timeout_ms: float) -> list[dict]:
    """Use every ``ganlab-redraws`` control in the notebook and time the redraw it causes.

    A slider gets one right-arrow key press on its handle; a button, a toggle button or a Play
    widget one mouse click (and a second click, or Pause, after the check to stop it). Returns one
    record per control, ``{"control", "ms"}``: ``ms`` is the time until the output looked
    different in screenshots (an upper bound: a screenshot takes tens of ms), None when it did not
    change within ``timeout_ms``.
    """
    records = []
    controls = page.locator(f".jp-Notebook .{REDRAWS_CLASS}")
    for i in range(controls.count()):
        control = controls.nth(i)
        output = control.locator("xpath=ancestor::div[contains(@class,'jp-OutputArea-output')][1]")
        control.scroll_into_view_if_needed()
        label = (control.text_content() or "").strip()[:40]
        classes = control.get_attribute("class") or ""
        stop = None
        if "widget-slider" in classes:
            kind = "slider"
            handle = control.locator(".noUi-handle").first

            def action(handle=handle):
                handle.focus()
                page.keyboard.press("ArrowRight")
        elif "widget-play" in classes:
            kind = "play"
            action = control.locator("button").first.click
            stop = control.locator("button").nth(1).click  # pause
        else:
            kind = "toggle" if "widget-toggle-button" in classes else "button"
            action = control.click
            stop = control.click if kind == "toggle" else None
        ms = _changed_within(output, action, timeout_ms)
        if stop:
            stop()
        records.append({"control": f"{kind} {label!r}", "ms": None if ms is None else round(ms)})
    return records
