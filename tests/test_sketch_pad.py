"""The sketch pad driven from Python and by simulated mouse events (no browser)."""

from types import SimpleNamespace

import numpy as np
import pytest
from matplotlib.backend_bases import MouseButton, MouseEvent

from ganlab.tasks import translation
from ganlab.ui.sketch_pad import SketchPad, line_pixels


def _discs(n: int = 6) -> np.ndarray:
    """``n`` filled discs of different sizes and places, [n, 28, 28, 1] in [-1, 1]."""
    rows, cols = np.mgrid[:28, :28]
    images = [np.where((rows - 10 - i) ** 2 + (cols - 12 - i) ** 2 < (4 + i) ** 2, 1.0, -1.0)
              for i in range(n)]
    return np.asarray(images, np.float32)[..., None]


@pytest.fixture(scope="module")
def translator():
    config = translation.TranslatorConfig(data="mnist", width=4, steps=2, batch_size=4)
    return translation.train_translator(config, _discs(8), progress=False)


@pytest.fixture
def pad(translator):
    return SketchPad(translator, _discs())


def test_stroke_draws_exactly_the_line_and_erase_removes_it(pad):
    pad.clear()
    assert (pad.sketch == -1).all()
    pad.stroke([(5.0, 3.2), (5.0, 20.4)])
    on = pad.sketch[..., 0] > 0
    expected = np.zeros((28, 28), bool)
    expected[5, 3:21] = True
    np.testing.assert_array_equal(on, expected)
    pad.stroke([(2, 2), (12, 12)])  # a diagonal: one pixel per row
    assert all(pad.sketch[i, i, 0] == 1 for i in range(2, 13))
    assert (pad.sketch[..., 0] > 0).sum() == 18 + 11 - 1  # (5, 5) is on both
    pad.stroke([(5.0, 3.0), (5.0, 21.0)], erase=True)
    assert (pad.sketch[4:7, 2:22] == -1).all() and pad.sketch[12, 12, 0] == 1
    pad.clear()
    assert (pad.sketch == -1).all() and set(np.unique(pad.sketch)) == {-1.0}


def test_show_output_and_timing(pad, translator):
    images = _discs()
    pad.show(3)
    np.testing.assert_array_equal(pad.sketch, translator.sketch(images[3:4])[0])
    assert pad.picker.value == 3
    pad.picker.value = 1  # the slider does the same
    np.testing.assert_array_equal(pad.sketch, translator.sketch(images[1:2])[0])
    pad.stroke([(20, 2), (20, 25)])
    np.testing.assert_array_equal(pad.output, translator.translate(pad.sketch[None])[0])
    before = pad.image.value
    pad.reset_button.click()
    np.testing.assert_array_equal(pad.sketch, translator.sketch(images[1:2])[0])
    assert pad.image.value != before and 0 < pad.last_redraw_ms < 5000
    pad.clear_button.click()
    assert (pad.sketch == -1).all()


def _mouse(pad, name, row, col, button=MouseButton.LEFT):
    """A real matplotlib mouse event at pixel (row, col) of the sketch."""
    x, y = pad.ax.transData.transform((col, row))
    buttons = {button} if name == "motion_notify_event" else None
    event = MouseEvent(name, pad.canvas, x, y, button=button, buttons=buttons)
    pad.on_mouse(event)


def test_mouse_drag_draws_as_stroke_does(pad, translator):
    path = [(3.0, 4.0), (3.0, 9.0), (15.0, 9.0), (24.0, 22.0)]  # jumps of 5 to 16 pixels
    pad.clear()
    _mouse(pad, "button_press_event", *path[0])
    for point in path[1:]:
        _mouse(pad, "motion_notify_event", *point)
    _mouse(pad, "button_release_event", *path[-1])
    drawn = pad.sketch
    _mouse(pad, "motion_notify_event", 0.0, 0.0)  # no button held: draws nothing
    np.testing.assert_array_equal(pad.sketch, drawn)
    pad.clear()
    pad.stroke(path)
    np.testing.assert_array_equal(drawn, pad.sketch)
    np.testing.assert_array_equal(pad.output, translator.translate(drawn[None])[0])

    # A connected line: every drawn pixel reaches the first through 8-neighbours.
    on = {tuple(p) for p in np.argwhere(drawn[..., 0] > 0)}
    seen, todo = {(3, 4)}, [(3, 4)]
    while todo:
        r, c = todo.pop()
        for n in ((r + i, c + j) for i in (-1, 0, 1) for j in (-1, 0, 1)):
            if n in on and n not in seen:
                seen.add(n)
                todo.append(n)
    assert seen == on and (24, 22) in on


def test_eraser_mode_and_plain_event_objects(pad):
    pad.clear()
    pad.stroke([(10, 2), (10, 25)])
    pad.mode.value = "eraser"

    def event(name, row, col, inaxes=pad.ax):
        return SimpleNamespace(name=name, xdata=col, ydata=row, inaxes=inaxes, button=1)

    pad.on_mouse(event("button_press_event", 10, 5))
    pad.on_mouse(event("motion_notify_event", 10, 8))
    pad.on_mouse(event("motion_notify_event", 10, 14, inaxes=None))  # outside: nothing
    pad.on_mouse(event("button_release_event", 10, 14))
    row = pad.sketch[10, :, 0]
    assert (row[4:10] == -1).all() and (row[10:26] == 1).all() and (row[2:4] == 1).all()


def test_line_pixels_without_gaps():
    rows, cols = line_pixels([(0.0, 0.0), (3.0, 27.0)], (28, 28))
    assert sorted(cols) == list(range(28))  # one pixel per column
    assert np.abs(np.diff(rows)).max() <= 1
    rows, cols = line_pixels([(-5.0, 40.0)], (28, 28))  # clipped to the page
    assert (rows[0], cols[0]) == (0, 27)


def test_bad_arguments_say_what_is_wrong(translator):
    with pytest.raises(ValueError, match="translator must be a ganlab Translator"):
        SketchPad("sketch2mnist")
    with pytest.raises(ValueError, match=r"images must have shape \[B, 28, 28, 1\]"):
        SketchPad(translator, np.zeros((3, 28, 28)))
    with pytest.raises(ValueError, match=r"images must be in \[-1, 1\]"):
        SketchPad(translator, np.full((2, 28, 28, 1), 255.0))
    with pytest.raises(ValueError, match="eraser must be an odd width in pixels"):
        SketchPad(translator, eraser=2)
    pad = SketchPad(translator)
    with pytest.raises(ValueError, match="this pad has no images"):
        pad.show(0)
    assert pad.reset_button.disabled
    with pytest.raises(ValueError, match=r"index must be in \[0, 5\]"):
        SketchPad(translator, _discs(), index=6)
