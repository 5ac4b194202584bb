"""Pretrained starts for the playground: one small run per toy data set, shipped in the package.

Make (or remake) them, a few minutes on a laptop CPU:

    python -m ganlab.playground_pretrain --steps 5000 ring moons spiral line two_gaussians
    python -m ganlab.playground_pretrain --steps 15000 grid   # 25 modes take longer

Each is the preset recipe trained ``steps`` steps from seed 0, saved as
``ganlab/weights/playground_<data>.npz`` (a ``ganlab.Run``: config, state, history). To keep the
files small the optimizer state is reset (a fresh Adam continues from trained parameters), only
the last ``keep`` steps of history are kept, and the arrays are zip-compressed.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np

from ganlab.checkpoints import read_npz
from ganlab.pretrained import WEIGHTS, save_pretrained
from ganlab.runs import Run, train

DATASETS = ("ring", "grid", "moons", "spiral", "line", "two_gaussians")


def make_pretrained(data: str, steps: int, *, seed: int = 0, keep: int = 1000) -> Path:
    """Train the preset for ``data`` ``steps`` steps and ship it as ``playground_<data>``."""
    if data not in DATASETS:
        raise ValueError(f"data must be one of {list(DATASETS)} (got {data!r})")
    if steps < 1:
        raise ValueError(f"steps must be >= 1 (got {steps})")
    run = train(data, steps, seed=seed, progress=False)
    gan, state = run.gan, run.state
    state = state._replace(
        generator=state.generator._replace(opt_state=gan.tx.init(state.generator.params)),
        discriminator=state.discriminator._replace(
            opt_state=gan.tx.init(state.discriminator.params)))
    history = {k: v[-keep:] for k, v in run.history.items()}
    path = save_pretrained(Run(gan, state, history), f"playground_{data}")
    return _compress(path)


def _compress(path: Path) -> Path:
    """Rewrite an ``.npz`` zip-compressed (np.load reads both), atomically."""
    arrays = read_npz(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez_compressed(f, **arrays)
        os.chmod(tmp, 0o644)  # shipped with the package: readable by everyone
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data", nargs="*", choices=[*DATASETS, []], default=[])
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    for data in args.data or DATASETS:
        path = make_pretrained(data, args.steps, seed=args.seed)
        print(f"{data}: {path.relative_to(WEIGHTS.parent.parent)} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
