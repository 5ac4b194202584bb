"""Pretrained starts for the playground: one small run per toy data set, shipped in the package.

Make (or remake) them, a few minutes on a laptop CPU:

    python -m ganlab.ui.playground_pretrain --steps 5000 ring moons spiral line two_gaussians
    python -m ganlab.ui.playground_pretrain --steps 20000 grid   # 25 modes take longer

Each is the preset recipe trained ``steps`` steps from seed 0, saved as
``ganlab/weights/playground_<data>.npz`` (a ``ganlab.Run``: config, state, history). To keep the
files small the optimizer state is reset (a fresh Adam continues from trained parameters), only
the last ``keep`` steps of history are kept, and the arrays are zip-compressed.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ganlab.core.checkpoints import read_npz
from ganlab.core.files import WEIGHTS, atomic_savez
from ganlab.core.pretrained import save_pretrained
from ganlab.core.runs import Run, train

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
    return atomic_savez(path, read_npz(path), compressed=True, mode=0o644)


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
