"""``ganlab lab``: JupyterLab on the lessons, with the safe defaults of ``make lab``.

It listens on 127.0.0.1 only, with JupyterLab's random token (printed in the URL to open), and
adds ``--allow-root`` when run as root (every Docker container and many cloud notebooks), which
JupyterLab otherwise refuses. It works where ``make`` does not (Windows).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

START = "00_start.ipynb"


def lessons_folder(start: Path | None = None) -> Path:
    """The ``notebooks/`` folder: beside the package in a clone (``pip install -e .``), else
    in the current folder or one above it."""
    here, start = Path(__file__).resolve().parent.parent, (start or Path.cwd()).resolve()
    for folder in (here, start, *start.parents):
        if (folder / "notebooks" / START).is_file():
            return folder / "notebooks"
        if (folder / START).is_file():
            return folder
    raise ValueError("the lessons (notebooks/00_start.ipynb) are not here: run `ganlab lab` in "
                     "a clone of ganlab, or pass --notebooks FOLDER")


def lab_command(folder: Path, port: int = 8888, as_root: bool | None = None) -> list[str]:
    """The JupyterLab command line: 127.0.0.1, a token, the start page, --allow-root as root."""
    as_root = (hasattr(os, "geteuid") and os.geteuid() == 0) if as_root is None else as_root
    command = [sys.executable, "-m", "jupyterlab", "--ip=127.0.0.1", f"--port={port}",
               "--ServerApp.port_retries=50", f"--notebook-dir={folder}", START]
    return command + (["--allow-root"] if as_root else [])


def lab(folder: str | None = None, port: int = 8888) -> int:
    """Start JupyterLab on the lessons; returns its exit code."""
    if shutil.which("jupyter") is None and not _has_jupyterlab():
        raise ValueError('JupyterLab is not installed: pip install -e ".[lab]", then ganlab lab')
    where = Path(folder) if folder else lessons_folder()
    if not (where / START).is_file():
        raise ValueError(f"{where} holds no {START}: pass the lessons' notebooks/ folder")
    try:
        return subprocess.call(lab_command(where, port), cwd=where)
    except KeyboardInterrupt:
        return 0


def _has_jupyterlab() -> bool:
    import importlib.util

    return importlib.util.find_spec("jupyterlab") is not None
