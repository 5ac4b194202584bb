"""Watch an image GAN learn, in a notebook: one figure redrawn in place after every chunk.

``watch(run, steps, every)`` trains through ``ganlab.tasks.quality.learning_curve`` and shows
the fixed-noise grid beside the classifier score so far and the latest class histogram. Lesson
05 trains ``mnist_live`` this way.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from IPython.display import display

from ganlab.tasks.quality import LearningCurve, learning_curve
from ganlab.ui.plots import FAKE, image_grid


class LiveFigure:
    """Fixed-noise grid | score curve | class histogram; ``draw(curve)`` redraws it in place."""

    def __init__(self, class_names, n: int, title: str = ""):
        self.names, self.n, self.title = list(class_names), n, title
        self.fig, (self.grid, self.curve, self.bars) = plt.subplots(
            1, 3, figsize=(12, 3.6), width_ratios=[1, 1.2, 1.2])
        self.handle = display(self.fig, display_id=True)

    def draw(self, curve: LearningCurve) -> None:
        grid = image_grid(curve.frames[-1])
        self.grid.clear()
        self.grid.imshow(grid[..., 0] if grid.shape[-1] == 1 else grid, cmap="gray",
                         vmin=0, vmax=1)
        self.grid.set_axis_off()
        self.grid.set_title(f"{self.title} fixed noise, step {curve.steps[-1]}".strip())
        self.curve.clear()
        self.curve.plot(curve.steps, curve.scores, "o-", color=FAKE)
        self.curve.set(xlabel="training step", ylabel="classifier score", ylim=(0, 10),
                       title=f"score {curve.scores[-1]:.2f} after {curve.seconds[-1]:.0f} s")
        self.bars.clear()
        self.bars.bar(range(len(self.names)), curve.histograms[-1], color=FAKE)
        self.bars.set_xticks(range(len(self.names)), self.names)
        self.bars.set(xlabel="predicted class", ylabel=f"samples of {self.n}",
                      title=f"class histogram: {curve.missing[-1]} classes missing")
        self.fig.tight_layout()
        self.handle.update(self.fig)

    def close(self) -> None:
        plt.close(self.fig)


def watch(run, steps: int, every: int = 500, *, n: int = 1000, seed: int = 1,
          title: str = "") -> LearningCurve:
    """Train ``run`` ``steps`` more steps, ``every`` at a time, redrawing the live figure after
    each chunk; returns the ``LearningCurve`` (scores of ``n`` samples from ``seed``)."""
    figure = LiveFigure(run.gan.data.class_names, n, title)
    try:
        return learning_curve(run, steps, every, n=n, seed=seed, after_chunk=figure.draw)
    finally:
        figure.close()
