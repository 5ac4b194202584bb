"""Figures for the lessons: sample grids of images, 2-D samples, training curves."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np


def image_grid(images, ncols: int | None = None, pad: int = 1) -> np.ndarray:
    """Tile images ``[n, H, W, C]`` in [-1, 1] into one picture ``[rows*H, cols*W, C]`` in [0, 1]."""
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
