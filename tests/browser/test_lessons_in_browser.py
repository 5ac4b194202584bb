"""Every lesson, run in JupyterLab in Chromium as a learner runs it: no cell fails, every widget
renders. Parametrised over ``notebooks/*.ipynb``, so a new lesson is covered without editing this.

Each lesson's screenshot is written to ``screenshots/browser/`` (kept when the test fails) and its
run time to ``screenshots/browser/timings.json``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from labdriver import (
    cell_errors,
    cells_not_run,
    exercise_live_widgets,
    open_notebook,
    run_all_cells,
    screenshot_notebook,
    shut_down_kernel,
    unrendered_widgets,
    widget_count,
)

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
LESSONS = sorted((ROOT / "notebooks").glob("*.ipynb"))
# A lesson must run in well under 5 minutes on a 2-core CPU; the browser adds little to that.
LESSON_TIMEOUT_S = float(os.environ.get("GANLAB_LESSON_TIMEOUT_S", "600"))
# A live widget (CSS class ganlab-redraws) must show a new picture this soon after a control moves.
LIVE_TIMEOUT_MS = float(os.environ.get("GANLAB_LIVE_WIDGET_TIMEOUT_MS", "10000"))
# Sample grids travel one pixel per image pixel and the browser enlarges them; the apps' style
# sheet (ganlab.ui.sampling_widgets.pixel_style) must reach each picture, or it is drawn blurred.
BLURRED_JS = """() => [...document.querySelectorAll('img.ganlab-pixelated')]
    .filter(img => getComputedStyle(img).imageRendering !== 'pixelated').length"""


@pytest.mark.parametrize("notebook", LESSONS, ids=[p.stem for p in LESSONS])
def test_lesson_runs_in_browser(notebook: Path, lab, page, screenshots):
    original = notebook.read_bytes()
    shot = screenshots / f"{notebook.stem}.png"
    try:
        open_notebook(page, lab, notebook.relative_to(ROOT).as_posix())
        seconds = run_all_cells(page, timeout_ms=LESSON_TIMEOUT_S * 1000)
        errors = cell_errors(page)
        not_run = cells_not_run(page)
        broken = unrendered_widgets(page)
        widgets = widget_count(page)
        blurred = page.evaluate(BLURRED_JS)
        live = [] if errors or broken else exercise_live_widgets(page, LIVE_TIMEOUT_MS)
    finally:
        screenshot_notebook(page, shot)
        print(f"\nscreenshot of {notebook.name}: {shot}")
        shut_down_kernel(page)
        if notebook.read_bytes() != original:  # the server must not save outputs; be sure
            notebook.write_bytes(original)
    _record_timing(screenshots / "timings.json", notebook.name, seconds, widgets, live)
    print(f"{notebook.name}: ran in the browser in {seconds:.1f} s, {widgets} widget(s); "
          f"live widgets: {live}")
    assert not errors, f"{notebook.name}: a cell failed in the browser:\n" + "\n---\n".join(errors)
    assert not not_run, f"{notebook.name}: code cells {not_run} (counting from 1) did not run"
    assert not broken, f"{notebook.name}: widget(s) did not render: {broken}"
    assert not blurred, f"{notebook.name}: {blurred} sample grid(s) without crisp pixels"
    stuck = [r for r in live if r["ms"] is None]
    assert not stuck, f"{notebook.name}: no redraw within {LIVE_TIMEOUT_MS:.0f} ms after {stuck}"


def _record_timing(path: Path, name: str, seconds: float, widgets: int, live: list) -> None:
    timings = json.loads(path.read_text()) if path.exists() else {}
    timings[name] = {"seconds": round(seconds, 1), "widgets": widgets, "live_widgets": live}
    path.write_text(json.dumps(timings, indent=1, sort_keys=True))
