"""Pretrained runs shipped with ganlab (``ganlab/weights/<name>.npz``), trained by ganlab itself.

Each file is a saved :class:`ganlab.runs.Run` (config, parameters, history); the command that made
it is ``python -m ganlab train <preset> --steps N --seed S --out ganlab/weights/<name>.npz``.
"""

from __future__ import annotations

from pathlib import Path

from ganlab.checkpoints import load_run

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

    Works offline: without the image set's files the run knows the images' shape only
    (:class:`ganlab.data.ImageSpec`): enough to sample, not to train further.
    """
    return load_run(pretrained_path(name))


def save_pretrained(run, name: str) -> Path:
    """Ship ``run`` as pretrained run ``name`` (``ganlab/weights/<name>.npz``), compact: no
    optimizer moments, float16 weights, the generator's moving average only (when kept)."""
    from ganlab.checkpoints import save_run

    return save_run(run, WEIGHTS / f"{name}.npz", compact=True)
