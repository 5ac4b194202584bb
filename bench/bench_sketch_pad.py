"""The sketch pad (pix2pix): kernel-side milliseconds per redraw, against the 100 ms budget.

A redraw is what the kernel does for one frame of a drag: translate the sketch (one jitted
U-Net call), update the sketch artist and the translation's PNG, draw the ipympl canvas and
encode its diff PNG. Cases, timed in alternation stroke after stroke (the machine is shared, see
``timing.py``):

- ``pad.stroke``: the widget, a random short stroke then the redraw (``pad.last_redraw_ms`` is
  its redraw part);
- ``translate``: the translator alone, on the same sketch;
- ``canvas draw``: the pad's ipympl canvas alone (Agg render + diff PNG);
- ``reference: Agg imshow``: a plain matplotlib figure of the same size, ``set_data`` + draw;
- ``two-panel figure``: the layout not chosen, one ipympl figure with sketch and translation
  panels and their titles (translate + two ``set_data`` + draw).

    GANLAB_DATA_DIR=/work/shared/data .venv/bin/python bench/bench_sketch_pad.py [--strokes 50]

Uses the shipped ``sketch2mnist`` translator if present, else ``--translator PATH``, else a tiny
one trained for 2 steps (the network's size, not its skill, sets the time).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from timing import machine, table

from ganlab.core.images import load_image_set
from ganlab.tasks import translation
from ganlab.ui.sketch_pad import SketchPad

BUDGET_MS = 100.0


def _translator(path: str | None):
    if translation.weights_path("sketch2mnist").is_file():
        return translation.load_pretrained_translator("sketch2mnist"), "shipped sketch2mnist"
    if path:
        return translation.load_translator(path), path
    images = load_image_set("mnist", "train", limit=64).images
    config = translation.TranslatorConfig(data="mnist", steps=2, batch_size=4)
    return translation.train_translator(config, images, progress=False), "untrained (2 steps)"


def _two_panels(translator, sketch):
    """The layout not chosen: one ipympl figure, sketch | translation, with titles."""
    from ipympl.backend_nbagg import new_figure_manager_given_figure

    fig = Figure(figsize=(2 * 252 / 72, 272 / 72), dpi=72)
    axes = fig.subplots(1, 2)
    artists = []
    for ax, title in zip(axes, ("your sketch", "translation")):
        artists.append(ax.imshow(sketch[..., 0], cmap="gray", vmin=-1, vmax=1,
                                 interpolation="nearest"))
        ax.set_axis_off()
        ax.set_title(title, fontsize=10)
    canvas = new_figure_manager_given_figure(id(fig), fig).canvas
    canvas.syncing_data_url = False

    def redraw(sketch):
        artists[0].set_data(sketch[..., 0])
        artists[1].set_data(translator.translate(sketch[None])[0, ..., 0])
        canvas.draw()
    return redraw


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--strokes", type=int, default=50)
    parser.add_argument("--translator", default=None, help="a translator .npz (development)")
    args = parser.parse_args()
    translator, which = _translator(args.translator)
    test = load_image_set("mnist", "test", limit=20).images
    pad = SketchPad(translator, test)
    pad.canvas.syncing_data_url = False  # as with the page open: diffs only, no data URL
    h, w, _ = translator.shape
    fig = Figure(figsize=(w * 9 / 72, h * 9 / 72), dpi=72)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    plain = ax.imshow(pad.sketch[..., 0], cmap="gray", vmin=-1, vmax=1, interpolation="nearest")
    agg = FigureCanvasAgg(fig)
    two_panels = _two_panels(translator, pad.sketch)
    rng = np.random.default_rng(0)
    redraw_ms: list[float] = []

    def stroke():
        start = rng.uniform(0, 27, 2)
        pad.stroke([start, np.clip(start + rng.uniform(-4, 4, 2), 0, 27)],
                   erase=rng.random() < 0.2)
        redraw_ms.append(pad.last_redraw_ms)

    cases = {
        "pad.stroke (widget)": stroke,
        "translate": lambda: translator.translate(pad.sketch[None]),
        "canvas draw": pad.canvas.draw,
        "reference: Agg imshow": lambda: (plain.set_data(pad.sketch[..., 0]), agg.draw()),
        "two-panel figure": lambda: two_panels(pad.sketch),
    }
    for case in cases.values():  # warm-up: compile, fill the caches
        case(), case()
    times: dict[str, list[float]] = {name: [] for name in cases}
    redraw_ms.clear()
    for i in range(args.strokes):
        if i % 10 == 0:
            pad.show(i // 10 % len(test))  # from time to time a fresh sketch
        for name, case in cases.items():
            start = time.perf_counter()
            case()
            times[name].append(1e3 * (time.perf_counter() - start))
    times["pad.last_redraw_ms"] = redraw_ms

    reference = statistics.median(times["reference: Agg imshow"])
    rows = []
    for name, values in times.items():
        median = statistics.median(values)
        p90 = float(np.percentile(values, 90))
        rows.append([name, f"{median:.2f}", f"{p90:.2f}", f"{median / reference:.2f}",
                     f"{median / BUDGET_MS:.3f}"])
    print(f"sketch pad, translator: {which} (U-Net width {translator.config.width}); "
          f"{args.strokes} strokes; {machine()}")
    print(table(["case", "median ms", "p90 ms", "x Agg imshow", "x 100 ms budget"], rows))
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
