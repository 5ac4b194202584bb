"""Where ganlab's files live, and the one way it writes them: atomically, never half-written.

``WEIGHTS`` is the folder of the shipped weights (``ganlab/weights``). ``atomic_write`` writes
to a hidden temporary file beside the target, syncs it to disk and renames it over the target,
so a crash, Ctrl-C or a full disk leaves the old file (or none), never a truncated one; the
temporary file is removed whatever happens, and one left by a process that was killed outright
(SIGKILL, power loss) is removed by the next write to the same file.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import numpy as np

WEIGHTS = Path(__file__).resolve().parent.parent / "weights"
"""The shipped weights: pretrained runs, classifiers and super-resolution models."""

STALE_S = 600  # a temporary file this old belongs to no write still in progress


def atomic_write(path: str | Path, write: Callable[[BinaryIO], None], *,
                 mode: int | None = None) -> Path:
    """Call ``write(file)`` on a temporary file beside ``path``, then rename it to ``path``.

    ``mode``: the file's permission bits (default: what ``open`` would give, i.e. 0o666 less
    the umask; ``mkstemp`` alone would make 0o600).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        if mode is None:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def remove_stale(path: Path, older_than: float = STALE_S) -> list[Path]:
    """Remove the temporary files of earlier writes to ``path`` that were killed before they
    could clean up (older than ``older_than`` seconds); returns what was removed."""
    removed = []
    for tmp in path.parent.glob(f".{path.name}.*.tmp"):
        try:
            if time.time() - tmp.stat().st_mtime > older_than:
                tmp.unlink()
                removed.append(tmp)
        except OSError:
            pass  # another process removed it, or it cannot be: not ours to insist
    return removed


def atomic_savez(path: str | Path, arrays: dict[str, np.ndarray], *,
                 compressed: bool = False, mode: int | None = None) -> Path:
    """``np.savez`` (or ``savez_compressed``) of ``arrays`` to ``path``, atomically; no pickle
    is ever needed to read it back (``np.load(..., allow_pickle=False)``)."""
    save = np.savez_compressed if compressed else np.savez
    return atomic_write(path, lambda f: save(f, **arrays), mode=mode)


def atomic_write_bytes(path: str | Path, data: bytes, *, mode: int | None = None) -> Path:
    """``data`` to ``path``, atomically."""
    return atomic_write(path, lambda f: f.write(data), mode=mode)
