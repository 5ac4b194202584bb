"""Figures for the lessons: sample grids of images, 2-D samples, training curves."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

# One palette for every figure, lesson and widget: green real, purple fake (GAN Lab's colours).
REAL, FAKE = "#1b9e77", "#7b3294"


def image_grid(images, ncols: int | None = None, pad: int = 1) -> np.ndarray:
    """Tile images ``[n, H, W, C]`` in [-1, 1] into one picture ``[rows*H, cols*W, C]`` in [0,1]."""
    images = np.asarray(images, np.float32)
    if images.ndim != 4:
        raise ValueError(f"images must have shape [n, H, W, C] (got {images.shape})")
    n, h, w, c = images.shape
    ncols = ncols or int(np.ceil(np.sqrt(n)))
    nrows = int(np.ceil(n / ncols))
    grid = np.ones((nrows * (h + pad) + pad, ncols * (w + pad) + pad, c), np.float32)
    for i, image in enumerate((np.clip(images, -1, 1) + 1) / 2):
        r, col = divmod(i, ncols)
        grid[pad + r * (h + pad):pad + r * (h + pad) + h,
             pad + col * (w + pad):pad + col * (w + pad) + w] = image
    return grid


def show_images(images, ncols: int | None = None, title: str | None = None, ax=None):
    """Show images ``[n, H, W, C]`` in [-1, 1] as one grid; returns the axes."""
    grid = image_grid(images, ncols)
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    ax.imshow(grid[..., 0] if grid.shape[-1] == 1 else grid, cmap="gray", vmin=0, vmax=1)
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


def save_image_grid(images, path, ncols: int | None = None, scale: int = 4) -> None:
    """Write a grid of images ``[n, H, W, C]`` in [-1, 1] to a PNG file."""
    from PIL import Image

    grid = (image_grid(images, ncols) * 255).round().astype(np.uint8)
    picture = Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid)
    picture.resize((picture.width * scale, picture.height * scale), Image.NEAREST).save(path)


def save_points(points, dataset, path, size: float = 4.0) -> None:
    """Write a scatter plot of 2-D samples over the real data's modes to a PNG file."""
    points = np.asarray(points)
    fig, ax = plt.subplots(figsize=(size, size))
    modes = np.asarray(dataset.modes)
    ax.scatter(modes[:, 0], modes[:, 1], s=60, c=REAL, marker="x", label="modes")
    ax.scatter(points[:, 0], points[:, 1], s=3, c=FAKE, alpha=0.5, label="generated")
    x0, x1, y0, y1 = dataset.bounds()
    ax.set(xlim=(x0, x1), ylim=(y0, y1), aspect="equal", title=f"{len(points)} samples")
    ax.legend(loc="upper right", fontsize=8)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)


# -- 2-D playground: figures that update their artists' data in place (fast redraws) ---------

LAYERS = ("real", "fake", "heatmap", "manifold", "gradients")


def png_bytes(fig, compress_level: int = 1) -> bytes:
    """Render a figure with Agg and encode it as PNG (fast zlib level: redraw speed matters)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    canvas.draw()
    return _encode(canvas, compress_level)


def _encode(canvas, compress_level: int = 1) -> bytes:
    import io

    from PIL import Image

    image = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba(), "raw",
                             "RGBA", 0, 1)
    out = io.BytesIO()
    image.convert("RGB").save(out, format="png", compress_level=compress_level)
    return out.getvalue()


def _arrow_uv(arrows: np.ndarray, length: float) -> np.ndarray:
    """Arrows scaled so the longest is ``length`` data units (direction and relative size kept)."""
    norm = np.linalg.norm(arrows, axis=1).max() if len(arrows) else 0.0
    return arrows * (length / norm) if norm > 0 else np.zeros_like(arrows)


def _thin(x: np.ndarray, y: np.ndarray, most: int = 400) -> tuple[np.ndarray, np.ndarray]:
    stride = max(1, len(x) // most)
    return x[::stride], y[::stride]


class PlaygroundFigure:
    """The playground's picture: the plane with its layers, and four charts against step.

    Built once; ``update`` only sets data on existing artists (``set_data``, ``set_offsets``,
    ``set_UVC``, ``set_segments``), and ``png()`` renders it (Agg, no pyplot, no display).
    Layers: real and generated samples, sigmoid(D) over the plane (green "real" to purple
    "fake"), G's manifold (a latent grid carried through G), and arrows ``-dL_G/dx``.
    """

    def __init__(self, bounds, size: tuple[float, float] = (9.6, 4.8), dpi: int = 72,
                 arrows: int = 128):
        from matplotlib.collections import LineCollection
        from matplotlib.figure import Figure

        self.fig = Figure(figsize=size, dpi=dpi)
        grid = self.fig.add_gridspec(2, 3, width_ratios=(2, 1, 1), left=0.04, right=0.98,
                                     bottom=0.08, top=0.9, wspace=0.35, hspace=0.45)
        ax = self.plane = self.fig.add_subplot(grid[:, 0])
        self.n_arrows = arrows
        x0, x1, y0, y1 = bounds
        self.heat = ax.imshow(np.full((2, 2), 0.5), extent=bounds, origin="lower", cmap="PRGn",
                              vmin=0, vmax=1, alpha=0.6, interpolation="bilinear", zorder=0)
        self.manifold = ax.add_collection(LineCollection([], colors="0.35", linewidths=0.6,
                                                         zorder=1))
        self.real = ax.scatter([], [], s=4, c=REAL, zorder=2, label="real")
        self.fake = ax.scatter([], [], s=4, c=FAKE, zorder=3, label="generated")
        self.quiver = ax.quiver(np.zeros(arrows), np.zeros(arrows), np.zeros(arrows),
                                np.zeros(arrows), angles="xy", scale_units="xy", scale=1,
                                color="0.15", width=0.004, zorder=4)
        self.stage_real = ax.scatter([], [], s=30, facecolors="none", edgecolors=REAL,
                                     linewidths=1.2, zorder=5)
        self.stage_fake = ax.scatter([], [], s=30, facecolors="none", edgecolors=FAKE,
                                     linewidths=1.2, zorder=5)
        ax.set(xlim=(x0, x1), ylim=(y0, y1), aspect="equal", xticks=[], yticks=[])
        ax.legend(loc="upper right", fontsize=7, markerscale=2)
        self.title = self.fig.suptitle("", fontsize=9, x=0.02, ha="left")
        self.charts, self.lines = {}, {}
        specs = {
            "losses": (grid[0, 1], ("d_loss", "g_loss"), None),
            "D outputs": (grid[0, 2], ("d_real", "d_fake"), (0, 1)),
            "grid divergence": (grid[1, 1], ("kl", "js"), None),
            "modes / quality": (grid[1, 2], ("modes", "high_quality"), (0, 1.05)),
        }
        names = {"d_real": "D(x)", "d_fake": "D(G(z))", "modes": "modes covered (frac)",
                 "high_quality": "high quality"}
        for title, (cell, series, ylim) in specs.items():
            chart = self.charts[title] = self.fig.add_subplot(cell)
            chart.set_title(title, fontsize=8)
            chart.tick_params(labelsize=6)
            for name in series:
                (self.lines[name],) = chart.plot([], [], lw=0.8, label=names.get(name, name))
            chart.legend(fontsize=6, loc="upper right")
            if ylim:
                chart.set_ylim(*ylim)
        self.charts["D outputs"].axhline(0.5, color="0.5", lw=0.6, ls="--")
        # Blitting: axes, ticks, legends and titles (the slow text) are drawn once into a
        # background; each frame restores it and draws only these animated artists.
        self.animated = [self.heat, self.manifold, self.real, self.fake, self.quiver,
                         self.stage_real, self.stage_fake, *self.lines.values(), self.title]
        for artist in self.animated:
            artist.set_animated(True)
        self.limits: dict[str, tuple[float, float]] = {}
        self.background = None

    def _set_limits(self, steps: np.ndarray, values: dict[str, np.ndarray]) -> None:
        """Chart limits that only grow by whole steps, so the background rarely goes stale."""
        new = {}
        if len(steps):
            low, high = float(steps.min()), float(steps.max())
            old = self.limits.get("x", (low, low + 100.0))
            new["x"] = old if old[0] <= low and high <= old[1] else (
                low, low + max(100.0, 1.5 * (high - low)))
        for chart, names in (("losses", ("d_loss", "g_loss")), ("grid divergence", ("kl", "js"))):
            data = np.concatenate([np.asarray(values[n], float).ravel() for n in names])
            data = data[np.isfinite(data)]
            if not len(data):
                continue
            low, high = float(data.min()), float(data.max())
            old = self.limits.get(chart)
            if old is None or low < old[0] or high > old[1]:
                pad = 0.15 * max(high - low, 1e-3)
                new[chart] = (low - pad, high + pad)
            else:
                new[chart] = old
        if new != {k: self.limits.get(k) for k in new}:
            self.limits.update(new)
            for title, chart in self.charts.items():
                if "x" in self.limits:
                    chart.set_xlim(*self.limits["x"])
                if title in self.limits:
                    chart.set_ylim(*self.limits[title])
            self.background = None

    def update(self, frame, history: dict, log: dict, *, layers=LAYERS, stage=None,
               n_modes: int = 1, title: str = "") -> None:
        """Show ``frame`` (a ``session.Frame``), per-step ``history``, per-frame ``log``."""
        self.heat.set_data(frame.heat)
        self.heat.set_visible("heatmap" in layers)
        self.real.set_offsets(frame.real)
        self.real.set_visible("real" in layers)
        self.fake.set_offsets(frame.fake)
        self.fake.set_visible("fake" in layers)
        m = frame.manifold  # [rows, cols, 2]: lines along rows, and along columns if 2-D
        segments = list(m) + (list(m.transpose(1, 0, 2)) if m.shape[0] > 1 else [])
        self.manifold.set_segments(segments)
        self.manifold.set_visible("manifold" in layers)
        x0, x1 = frame.bounds[:2]
        staged = stage is not None and stage.arrows is not None
        arrows, base = (stage.arrows, stage.fake) if staged else (frame.arrows, frame.fake)
        n = min(self.n_arrows, len(arrows), len(base))
        uv = np.zeros((self.n_arrows, 2))
        uv[:n] = _arrow_uv(arrows[:n], 0.08 * (x1 - x0))
        xy = np.zeros((self.n_arrows, 2))
        xy[:n] = base[:n]
        self.quiver.set_offsets(xy)
        self.quiver.set_UVC(uv[:, 0], uv[:, 1])
        self.quiver.set_visible("gradients" in layers or staged)
        for artist, points in ((self.stage_real, None if stage is None else stage.real),
                               (self.stage_fake, None if stage is None else stage.fake)):
            artist.set_offsets(np.zeros((0, 2)) if points is None else points)
        self.title.set_text(title)
        steps = np.arange(len(history.get("d_loss", []))) + frame.step - len(
            history.get("d_loss", []))
        series = {name: _thin(steps, np.asarray(history.get(name, []), float))
                  for name in ("d_loss", "g_loss", "d_real", "d_fake")}
        logged = np.asarray(log.get("step", []), float)
        per_frame = {"kl": log.get("kl", []), "js": log.get("js", []),
                     "modes": np.asarray(log.get("modes_covered", [])) / max(n_modes, 1),
                     "high_quality": log.get("high_quality", [])}
        series.update({k: _thin(logged, np.asarray(v, float)) for k, v in per_frame.items()})
        for name, xy in series.items():
            self.lines[name].set_data(*xy)
        self._set_limits(np.concatenate([steps, logged]), {k: v[1] for k, v in series.items()})

    def png(self) -> bytes:
        """The figure as PNG bytes: background redrawn only when chart limits changed."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        if not isinstance(self.fig.canvas, FigureCanvasAgg):
            FigureCanvasAgg(self.fig)
        canvas = self.fig.canvas
        if self.background is None:
            canvas.draw()
            self.background = canvas.copy_from_bbox(self.fig.bbox)
        canvas.restore_region(self.background)
        for artist in self.animated:
            if artist.axes is None:
                self.fig.draw_artist(artist)
            else:
                artist.axes.draw_artist(artist)
        return _encode(canvas)

    def full_png(self) -> bytes:
        """PNG of a redraw from scratch (axes, ticks and text included)."""
        self.background = None
        return self.png()


class SweepFigure:
    """A grid of small sample panels (one GAN each) and a map of modes covered per cell."""

    def __init__(self, rows: int, cols: int, bounds, row_label: str, row_values,
                 col_label: str, col_values, n_modes: int, panel: float = 1.3, dpi: int = 72):
        from matplotlib.figure import Figure

        self.fig = Figure(figsize=(panel * (cols + max(cols, 2) * 0.9) + 0.6,
                                   panel * rows + 0.7), dpi=dpi)
        grid = self.fig.add_gridspec(rows, 2 * cols + 1,
                                     width_ratios=(*[1] * cols, 0.15, *[0.9] * cols))
        self.panels, self.fakes = [], []
        for i in range(rows):
            for j in range(cols):
                ax = self.fig.add_subplot(grid[i, j])
                ax.set(xlim=bounds[:2], ylim=bounds[2:], xticks=[], yticks=[], aspect="equal")
                if i == 0:
                    ax.set_title(f"{col_label}={col_values[j]:g}", fontsize=6)
                if j == 0:
                    ax.set_ylabel(f"{row_label}={row_values[i]:g}", fontsize=6)
                self.fakes.append(ax.scatter([], [], s=1, c=FAKE))
                self.panels.append(ax)
        self.map_ax = self.fig.add_subplot(grid[:, cols + 1:])
        self.map = self.map_ax.imshow(np.zeros((rows, cols)), cmap="viridis", vmin=0,
                                      vmax=n_modes)
        self.map_ax.set(xticks=range(cols), yticks=range(rows),
                        xticklabels=[f"{v:g}" for v in col_values],
                        yticklabels=[f"{v:g}" for v in row_values],
                        xlabel=col_label, ylabel=row_label, title="modes covered")
        self.map_ax.tick_params(labelsize=6)
        self.numbers = [[self.map_ax.text(j, i, "", ha="center", va="center", color="w",
                                          fontsize=8) for j in range(cols)] for i in range(rows)]
        self.title = self.fig.suptitle("", fontsize=9)

    def update(self, fakes: np.ndarray, covered: np.ndarray, title: str = "") -> None:
        """``fakes`` ``[rows*cols, n, 2]`` samples per GAN, ``covered`` ``[rows, cols]`` modes."""
        for artist, points in zip(self.fakes, fakes, strict=True):
            artist.set_offsets(points)
        self.map.set_data(covered)
        for i, row in enumerate(self.numbers):
            for j, text in enumerate(row):
                text.set_text(f"{int(covered[i, j])}")
        self.title.set_text(title)

    def png(self) -> bytes:
        return png_bytes(self.fig)
