"""The browser test itself can fail: it sees a cell that raises and a widget that did not render.

Runs ``tests/browser/broken_probe.ipynb``, which breaks both on purpose, through the same helpers
as the lesson test.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from labdriver import (
    cell_errors,
    cells_not_run,
    open_notebook,
    run_all_cells,
    shut_down_kernel,
    unrendered_widgets,
    widget_count,
)

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
BROKEN = Path(__file__).with_name("broken_probe.ipynb")


def test_harness_sees_a_failing_cell_and_a_broken_widget(lab, page):
    original = BROKEN.read_bytes()
    try:
        open_notebook(page, lab, BROKEN.relative_to(ROOT).as_posix())
        run_all_cells(page, timeout_ms=120_000)
        errors = cell_errors(page)
        not_run = cells_not_run(page)
        broken = unrendered_widgets(page, timeout_ms=5_000)
        count = widget_count(page)
    finally:
        shut_down_kernel(page)
        if BROKEN.read_bytes() != original:
            BROKEN.write_bytes(original)
    assert len(errors) == 1 and "ZeroDivisionError" in errors[0], errors  # not the tagged one
    assert not_run == [4], not_run  # Run All stopped at 1 / 0
    assert count == 1 and len(broken) == 1, (count, broken)
    print(f"\nthe harness saw: {errors[0].splitlines()[-1]!r} and widget text {broken[0]!r}")
