"""An image recipe from scratch against the clock: classifier score after each wall-time slice.

The search tool for a live MNIST recipe (issue 18: score >= 8.0 in <= 3 minutes on a 2-core
CPU). It trains ``PRESET`` with the ``--set`` changes for ``--budget`` seconds of training time
(compile included, scoring excluded) and, every ``--every`` steps, scores ``--n`` samples of the
sampling generator (EMA weights when ``ema > 0``) with the kit's classifier:
``score = exp(E_x KL(p(y|x) || p(y)))``, at most 10, with the classes never drawn beside it::

    GANLAB_DATA_DIR=/work/shared/data .venv/bin/python bench/live_recipe.py fashion_mnist \\
        --set data=mnist --set ema=0.99 --budget 180 --seed 0

Measure one change at a time, on a quiet machine (the load average is printed); the last line
is a Markdown row for bench/README.md.
"""

from __future__ import annotations

import argparse
import time

from timing import machine, table

from ganlab.core.config import parse_field, preset
from ganlab.core.gan import GAN
from ganlab.core.runs import Run
from ganlab.tasks.quality import learning_curve


def measure(config, budget_s: float, seed: int, every: int, n: int) -> list[list]:
    """Rows ``[step, training seconds, score, missing classes]`` until ``budget_s`` is spent
    (``learning_curve``, one chunk of ``every`` steps at a time; making the GAN counts)."""
    start = time.perf_counter()
    gan = GAN(config)
    run = Run(gan, gan.init(seed))
    setup_s, rows = time.perf_counter() - start, []
    while not rows or float(rows[-1][1]) < budget_s:
        curve = learning_curve(run, every, every, n=n, seed=seed + 1)
        spent = setup_s + curve.seconds[-1] + (float(rows[-1][1]) if rows else 0.0)
        rows.append([curve.steps[-1], f"{spent:.1f}", f"{curve.scores[-1]:.2f}",
                     curve.missing[-1]])
        print(" ".join(map(str, rows[-1])), flush=True)
        setup_s = 0.0
    return rows


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("preset", help="a preset name, e.g. mnist or fashion_mnist")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="override a config field (repeatable)")
    p.add_argument("--budget", type=float, default=180.0, help="training seconds (default 180)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--every", type=int, default=500, help="steps between scores (default 500)")
    p.add_argument("--n", type=int, default=2000, help="samples scored (default 2000)")
    args = p.parse_args(argv)
    changes = {}
    for item in args.set:
        field, _, text = item.partition("=")
        changes[field] = parse_field(field, text)
    config = preset(args.preset).replace(**changes)
    print(machine())
    rows = measure(config, args.budget, args.seed, args.every, args.n)
    print(table(["step", "train s", "score", "missing"], rows))
    best = max(rows, key=lambda r: float(r[2]))
    print(f"| {args.preset} {' '.join(args.set)} | {args.seed} | {rows[-1][1]} s, "
          f"{rows[-1][0]} steps | {rows[-1][2]} | {best[2]} at step {best[0]} | {machine()} |")


if __name__ == "__main__":
    main()
