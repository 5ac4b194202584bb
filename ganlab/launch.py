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
# The start page of each edition, relative to notebooks/ (the Chinese twins: notebooks/zh/).
START_PAGES = {"en": START, "zh": f"zh/{START}"}


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


def lab_command(folder: Path, port: int = 8888, as_root: bool | None = None,
                lang: str = "en") -> list[str]:
    """The JupyterLab command line: 127.0.0.1, a token, the start page of the edition ``lang``
    ("en" or "zh", Simplified Chinese), --allow-root as root."""
    if lang not in START_PAGES:
        raise ValueError(f"--lang must be one of {sorted(START_PAGES)} (got {lang!r}); "
                         "zh opens the Simplified Chinese lessons")
    as_root = (hasattr(os, "geteuid") and os.geteuid() == 0) if as_root is None else as_root
    command = [sys.executable, "-m", "jupyterlab", "--ip=127.0.0.1", f"--port={port}",
               "--ServerApp.port_retries=50", f"--notebook-dir={folder}", START_PAGES[lang]]
    return command + (["--allow-root"] if as_root else [])


def lab(folder: str | None = None, port: int = 8888, lang: str = "en") -> int:
    """Start JupyterLab on the lessons, at the start page of ``lang``; returns its exit code."""
    if shutil.which("jupyter") is None and not _has_jupyterlab():
        raise ValueError('JupyterLab is not installed: pip install -e ".[lab]", then ganlab lab')
    where = Path(folder) if folder else lessons_folder()
    if not (where / START).is_file():
        raise ValueError(f"{where} holds no {START}: pass the lessons' notebooks/ folder")
    command = lab_command(where, port, lang=lang)
    if not (where / START_PAGES[lang]).is_file():
        raise ValueError(f"{where} holds no {START_PAGES[lang]} (the {lang} edition)")
    try:
        return subprocess.call(command, cwd=where)
    except KeyboardInterrupt:
        return 0


def _has_jupyterlab() -> bool:
    import importlib.util

    return importlib.util.find_spec("jupyterlab") is not None
