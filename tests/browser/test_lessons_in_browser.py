"""Every lesson, run in JupyterLab in Chromium as a learner runs it: no cell fails, every widget
renders. Parametrised over ``notebooks/*.ipynb``, so a new lesson is covered without editing this;
and one Chinese twin (``notebooks/zh/``), drawn with a CJK font.

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
# The Chinese edition shares the English code (tests/test_zh_edition.py); two twins run here:
# a lesson, and the playground for its live widgets (8 s).
ZH_LESSONS = [ROOT / "notebooks" / "zh" / name for name in ("01_background.ipynb",
                                                              "playground.ipynb")]
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
    _run_lesson(notebook, lab, page, screenshots)


@pytest.mark.parametrize("twin", ZH_LESSONS, ids=[p.stem for p in ZH_LESSONS])
def test_a_chinese_lesson_runs_with_a_cjk_font(twin: Path, cjk_font, lab, page, screenshots):
    """A Chinese twin (issue 19) runs, its widgets work as the English lesson's did in this run,
    and its headings and prose are drawn with a CJK font (Debian's fonts-noto-cjk), not boxes."""
    fonts, widgets, live = _run_lesson(twin, lab, page, screenshots, check=_cjk_fonts)
    for selector, (chars, used) in fonts.items():
        cjk = {name: n for name, n in used.items() if "CJK" in name}
        print(f"{selector}: {chars} CJK characters drawn with {used}")
        assert sum(cjk.values()) >= chars, (
            f"zh/{twin.name}: {selector} has {chars} CJK characters but the browser drew them "
            f"with {used}; install a CJK font (apt-get install fonts-noto-cjk)")
    timings = screenshots / "timings.json"
    english = json.loads(timings.read_text()).get(twin.name) if timings.exists() else None
    if english:  # the English lesson ran before it in this session (or an earlier one)
        assert widgets == english["widgets"], f"zh/{twin.name}: {widgets} widgets; {english}"
        assert [r["control"] for r in live] == [r["control"] for r in english["live_widgets"]]


def _run_lesson(notebook: Path, lab, page, screenshots, check=None):
    """Run ``notebook`` in JupyterLab as a learner does and assert what every lesson must show;
    return what ``check(page)`` found before the kernel was shut down, the number of widgets and
    the live widgets exercised."""
    original = notebook.read_bytes()
    name = notebook.relative_to(ROOT / "notebooks").as_posix()
    shot = screenshots / f"{name.removesuffix('.ipynb').replace('/', '_')}.png"
    try:
        open_notebook(page, lab, notebook.relative_to(ROOT).as_posix())
        seconds = run_all_cells(page, timeout_ms=LESSON_TIMEOUT_S * 1000)
        errors = cell_errors(page)
        not_run = cells_not_run(page)
        broken = unrendered_widgets(page)
        widgets = widget_count(page)
        blurred = page.evaluate(BLURRED_JS)
        live = [] if errors or broken else exercise_live_widgets(page, LIVE_TIMEOUT_MS)
        found = check(page) if check else None
    finally:
        screenshot_notebook(page, shot)
        print(f"\nscreenshot of {name}: {shot}")
        shut_down_kernel(page)
        if notebook.read_bytes() != original:  # the server must not save outputs; be sure
            notebook.write_bytes(original)
    _record_timing(screenshots / "timings.json", name, seconds, widgets, live)
    print(f"{name}: ran in the browser in {seconds:.1f} s, {widgets} widget(s); "
          f"live widgets: {live}")
    assert not errors, f"{name}: a cell failed in the browser:\n" + "\n---\n".join(errors)
    assert not not_run, f"{name}: code cells {not_run} (counting from 1) did not run"
    assert not broken, f"{name}: widget(s) did not render: {broken}"
    assert not blurred, f"{name}: {blurred} sample grid(s) without crisp pixels"
    stuck = [r for r in live if r["ms"] is None]
    assert not stuck, f"{name}: no redraw within {LIVE_TIMEOUT_MS:.0f} ms after {stuck}"
    return found, widgets, live


def _cjk_fonts(page) -> dict[str, tuple[int, dict[str, int]]]:
    """For the h1 and the paragraph with the most Chinese in their own text: (CJK characters
    in its own text, the glyphs Chromium drew per platform font), from the DevTools protocol
    (CSS.getPlatformFontsForNode counts the glyphs of a node's own text)."""
    page.evaluate("() => document.fonts.ready")
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    found = {}
    for selector in (".jp-MarkdownOutput h1", ".jp-MarkdownOutput p"):
        chars = page.evaluate(MARK_CJK_JS, selector)
        assert chars, f"no {selector} with Chinese text rendered"
        page.locator("[data-cjk-probe]").scroll_into_view_if_needed()  # drawn, not skipped
        page.wait_for_timeout(200)
        root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
        node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": "[data-cjk-probe]"})
        fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node["nodeId"]})["fonts"]
        found[selector] = (chars, {f["familyName"]: f["glyphCount"] for f in fonts})
        page.evaluate("() => document.querySelector('[data-cjk-probe]')"
                      ".removeAttribute('data-cjk-probe')")
    cdp.detach()
    return found


# Marks the element matching the selector whose own text has the most CJK characters (at least
# 4); returns how many it has (0: none found).
MARK_CJK_JS = """selector => {
  const own = e => [...e.childNodes].filter(n => n.nodeType === Node.TEXT_NODE)
    .map(n => n.textContent).join('');
  const count = e => (own(e).match(/[\\u3400-\\u9fff]/g) || []).length;
  const best = [...document.querySelectorAll(selector)]
    .reduce((a, e) => (a && count(a) >= count(e) ? a : e), null);
  if (!best || count(best) < 4) return 0;
  best.setAttribute('data-cjk-probe', '');
  return count(best);
}"""


def _record_timing(path: Path, name: str, seconds: float, widgets: int, live: list) -> None:
    timings = json.loads(path.read_text()) if path.exists() else {}
    timings[name] = {"seconds": round(seconds, 1), "widgets": widgets, "live_widgets": live}
    path.write_text(json.dumps(timings, indent=1, sort_keys=True))
