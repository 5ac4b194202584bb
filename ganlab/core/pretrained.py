"""Pretrained runs shipped with ganlab (``ganlab/weights/<name>.npz``), trained by ganlab itself.

Each file is a saved :class:`ganlab.core.runs.Run` (config, parameters, history); the command
that made it is ``python -m ganlab train <preset> --steps N --seed S --out
ganlab/weights/<name>.npz``.
"""

from __future__ import annotations

from pathlib import Path

from ganlab.core.checkpoints import CheckpointError, save_run
from ganlab.core.files import WEIGHTS
from ganlab.core.runs import Run, load_run


def available() -> list[str]:
    """Names of the pretrained GAN runs that ship with this copy of ganlab (what ``sample`` and
    ``load_pretrained`` take; the classifiers and super-resolution models are other files)."""
    return sorted(p.stem for p in WEIGHTS.glob("*.npz")
                  if not p.stem.startswith(("classifier_", "superres_")))


def pretrained_path(name: str) -> Path:
    """The file of pretrained run ``name``; a clear error listing the names if there is none."""
    path = WEIGHTS / f"{name}.npz"
    if not path.is_file():
        raise ValueError(f"no pretrained run named {name!r}; available: {available()}")
    return path


def load_pretrained(name: str) -> Run:
    """The pretrained :class:`ganlab.core.runs.Run` called ``name`` (e.g. ``"mnist"``, ``"ring"``).

    Works offline: without the image set's files the run knows the images' shape only
    (:class:`ganlab.core.data.ImageSpec`): enough to sample, not to train further.
    """
    return load_run(pretrained_path(name))


def open_run(name_or_path: str | Path) -> Run:
    """The one door to a trained GAN: a run directory, a run ``.npz`` file, or the name of a
    shipped pretrained run. A path that does not exist, or a name that is neither, is a
    ``ValueError`` that says which was tried."""
    path = Path(name_or_path)
    if path.exists():
        return load_run(path)
    if str(name_or_path) in available():
        return load_pretrained(str(name_or_path))
    looks_like_path = path.suffix == ".npz" or len(path.parts) > 1
    if looks_like_path:
        raise CheckpointError(f"no run at {path} (no such file or folder)")
    raise ValueError(f"{name_or_path!r} is neither a saved run (no such file or folder) nor a "
                     f"pretrained run; pretrained runs are {available()}")


def save_pretrained(run, name: str) -> Path:
    """Ship ``run`` as pretrained run ``name`` (``ganlab/weights/<name>.npz``), compact: no
    optimizer moments, float16 weights, the generator's moving average only (when kept)."""
    return save_run(run, WEIGHTS / f"{name}.npz", compact=True)
