"""Pretrained runs shipped with ganlab (``ganlab/weights/<name>.npz``), trained by ganlab itself.

Each file is a saved :class:`ganlab.runs.Run` (config, parameters, history); the command that made
it is ``python -m ganlab train <preset> --steps N --seed S --out ganlab/weights/<name>.npz``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ganlab.checkpoints import load_run, read_npz

WEIGHTS = Path(__file__).parent / "weights"


def available() -> list[str]:
    """Names of the pretrained runs that ship with this copy of ganlab."""
    return sorted(p.stem for p in WEIGHTS.glob("*.npz") if not p.stem.startswith("classifier_"))


def pretrained_path(name: str) -> Path:
    """The file of pretrained run ``name``; a clear error listing the names if there is none."""
    path = WEIGHTS / f"{name}.npz"
    if not path.is_file():
        raise ValueError(f"no pretrained run named {name!r}; available: {available()}")
    return path


def load_pretrained(name: str):
    """The pretrained :class:`ganlab.runs.Run` called ``name`` (e.g. ``"mnist"``, ``"ring"``).

    Works offline: when the run's image set is not on this machine, the run gets a blank
    stand-in with the right image shape and class names (enough to sample, not to train).
    """
    path = pretrained_path(name)
    try:
        return load_run(path)
    except FileNotFoundError:  # images.DataUnavailable: e.g. MNIST not downloaded
        meta = json.loads(str(read_npz(path)["meta"]))
        config = meta["config"]
        return load_run(path, data=offline_image_set(config["data"], config["batch_size"]))


def offline_image_set(name: str, size: int = 1):
    """A stand-in for image set ``name`` when its files are absent: its shape and class names,
    and ``size`` blank (black) images, for sampling a pretrained generator, not for training."""
    from ganlab.images import DIGIT_CLASSES, FASHION_CLASSES, ImageSet

    shapes = {"digits": (8, 8, 1), "mnist": (28, 28, 1), "fashion_mnist": (28, 28, 1)}
    if name not in shapes:
        raise ValueError(f"no offline stand-in for data {name!r}; image sets are {list(shapes)}")
    names = FASHION_CLASSES if name == "fashion_mnist" else DIGIT_CLASSES
    blank = np.full((size, *shapes[name]), -1.0, np.float32)
    return ImageSet(name, blank, np.zeros(size, np.int32), names)


def save_pretrained(run, name: str) -> Path:
    """Ship ``run`` as pretrained run ``name`` (``ganlab/weights/<name>.npz``, without the
    optimizer's moments: a third of the size; training it further restarts Adam)."""
    from ganlab.checkpoints import save_run

    return save_run(run, WEIGHTS / f"{name}.npz", optimizer=False)
