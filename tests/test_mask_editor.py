"""The mask editor widget, driven from Python: presets, the brush, the buttons."""

import numpy as np

from ganlab.tasks.completion import make_mask
from ganlab.ui.mask_editor import MaskEditor


def test_mask_editor_driven_from_python():
    calls = []
    image = np.zeros((8, 8, 1), np.float32)
    editor = MaskEditor(image, on_complete=calls.append, kind="centre", size=0.5)
    np.testing.assert_array_equal(editor.mask, make_mask("centre", (8, 8), size=0.5))
    editor.kind.value = "left"
    editor.size.value = 0.25
    np.testing.assert_array_equal(editor.mask, make_mask("left", (8, 8), size=0.25))
    before = editor.artist.get_array().copy()
    editor.paint(4, 4)
    assert editor.kind.value == "drawn" and editor.mask[4, 4, 0] == 0
    assert editor.mask.sum() < 64 and not np.array_equal(editor.artist.get_array(), before)
    editor.run_button.click()
    assert len(calls) == 1
    np.testing.assert_array_equal(calls[0], editor.mask)
    editor.clear.click()
    assert editor.mask.min() == 1
