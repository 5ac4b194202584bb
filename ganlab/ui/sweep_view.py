"""The sweep view: a grid of small GANs trained at once (the engine's vmap sweep), animated.

    view = SweepView("ring", lr_d=[1e-4, 3e-4, 1e-3], lr_g=[1e-4, 3e-4, 1e-3])
    view.play_frames(10)      # or display(view) and press Play

The first swept knob runs across the columns, the second down the rows (or seeds, when only
seeds vary); beside the panels a map of modes covered per cell.
"""

from __future__ import annotations

import asyncio

import ipywidgets as w
import numpy as np

from ganlab.core.config import GANConfig
from ganlab.core.data import sample_points
from ganlab.core.metrics import mode_report
from ganlab.core.runs import SweepRun, sweep
from ganlab.ui.play_loop import PlayLoop
from ganlab.ui.plots import SweepFigure


class SweepView(PlayLoop, w.VBox):
    """Many GANs of one recipe side by side, trained together and redrawn every frame.

    Args:
        config: a ``GANConfig`` or a preset name (a 2-D toy).
        steps_per_frame: training steps of every GAN between two pictures.
        seeds: seeds of the sweep (one panel per seed when no knob varies).
        n_samples: generated points drawn per panel (same noise every frame).
        **knob_values: at most two swept knobs, e.g. ``lr_d=[...], lr_g=[...]``.
    """

    def __init__(self, config: GANConfig | str = "ring", *, steps_per_frame: int = 20,
                 seeds=(0,), n_samples: int = 256, **knob_values):
        self.sweep: SweepRun = sweep(config, 0, seeds=seeds, progress=False, **knob_values)
        varying = [k for k, v in self.sweep.axes.items() if len(v) > 1]
        if len(varying) > 2:
            raise ValueError(f"a sweep view shows at most two varying axes (got {varying}); "
                             "fix the others to one value")
        if not varying:
            raise ValueError("nothing varies: give a knob several values, or several seeds")
        self.col_axis = varying[0]
        self.row_axis = varying[1] if len(varying) > 1 else None
        gan = self.sweep.gan
        self.n_samples = n_samples
        self.real = sample_points(gan.data, n_samples)
        cols = len(self.sweep.axes[self.col_axis])
        rows = len(self.sweep.axes[self.row_axis]) if self.row_axis else 1
        self.grid_shape = (rows, cols)
        row_values = self.sweep.axes[self.row_axis] if self.row_axis else [0]
        self.figure = SweepFigure(rows, cols, gan.data.bounds(), self.row_axis or "",
                                  row_values, self.col_axis, self.sweep.axes[self.col_axis],
                                  len(gan.data.modes))
        self.covered = np.zeros(self.grid_shape, int)
        self.image = w.Image(format="png")
        self.steps_per_frame = w.IntSlider(steps_per_frame, 1, 200, description="steps/frame")
        self.play_button = w.ToggleButton(False, description="Play", icon="play")
        self.play_button.observe(lambda c: self.play() if c.new else self.pause(), "value")
        self.status = w.HTML()
        self.task: asyncio.Task | None = None
        super().__init__([w.HBox([self.play_button, self.steps_per_frame]), self.status,
                          self.image])
        self.redraw()

    @property
    def step(self) -> int:
        return int(np.max(self.sweep.state.step))

    def train(self, steps: int) -> SweepView:
        """Every GAN of the sweep ``steps`` more steps (the one loop, vmapped); a model that
        diverges stays where it was last finite and is counted as diverged."""
        self.sweep.train(steps, progress=False)
        return self

    def _cells(self, values: np.ndarray) -> np.ndarray:
        """Per-model values ``[N]`` (sweep order) as ``[rows, cols]`` of the first seed etc."""
        names = list(self.sweep.axes)
        grid = values.reshape(self.sweep.shape)
        keep = [self.col_axis] + ([self.row_axis] if self.row_axis else [])
        index = tuple(slice(None) if n in keep else 0 for n in names)
        grid = grid[index]  # axes in sweep order among `keep`
        if self.row_axis and names.index(self.row_axis) > names.index(self.col_axis):
            grid = grid.T
        return grid.reshape(self.grid_shape)

    def redraw(self) -> None:
        fakes = self.sweep.sample(self.n_samples, seed=1)  # [N, n, 2]
        covered = np.asarray([mode_report(np.nan_to_num(f, nan=1e3), self.sweep.gan.data)
                              .modes_covered for f in fakes])
        self.covered = self._cells(covered)
        order = self._cells(np.arange(len(fakes))).ravel()
        self.figure.update(fakes[order], self.covered,
                           title=f"{self.sweep.gan.data.name}: step {self.step}")
        self.image.value = self.figure.png()
        self.status.value = (f"step {self.step}: {self.sweep.size} GANs, "
                             f"{int(self.sweep.diverged.sum())} diverged")

    def render(self) -> bytes:
        return self.image.value

    def play_frames(self, n: int) -> None:
        for _ in range(n):
            self.train(self.steps_per_frame.value)
            self.redraw()

    def stopped(self, message: str) -> None:
        """Why playing stopped (every model diverged), after the status line."""
        self.redraw()
        self.status.value += f" | {message}"
