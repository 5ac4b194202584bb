"""Many GANs at once: model-steps/s of ``ganlab.sweep`` for N = 1, 16, 64, 256 ring GANs.

Each N is compiled once (its compile time reported apart), then all N are timed in alternation,
round after round; the ratio is model-steps/s against N = 1 in the same round.

    .venv/bin/python bench/bench_sweep.py [--rounds 3] [--sizes 1 16 64 256]
"""

from __future__ import annotations

import argparse
import statistics
import time

import jax
from timing import interleave, machine, ratios, table

import ganlab


def measure(sizes: list[int], rounds: int, model_steps: int) -> list[list]:
    """Rows ``[N, steps per call, model-steps/s, vs N = sizes[0], compile s]`` of ring sweeps."""
    config = ganlab.preset("ring")

    sweeps, steps, compile_s = {}, {}, {}
    for n in sizes:
        sweep = ganlab.sweep(config, 0, seeds=range(n), progress=False)  # builds, does not train
        steps[n] = min(1000, max(20, model_steps // n))
        start = time.perf_counter()
        sweep.train(steps[n], progress=False)
        jax.block_until_ready(sweep.state)
        compile_s[n] = time.perf_counter() - start  # compile + one timed call; corrected below
        sweeps[n] = sweep

    def case(n: int):
        def run() -> int:
            sweeps[n].train(steps[n], progress=False)
            jax.block_until_ready(sweeps[n].state)
            return n * steps[n]
        return run

    rates = interleave({n: case(n) for n in sizes}, rounds)
    ratio = ratios(rates, sizes[0])
    rows = []
    for n in sizes:
        rate = statistics.median(rates[n])
        compile_only = max(0.0, compile_s[n] - n * steps[n] / rate)
        rows.append([n, steps[n], f"{rate:.0f}", f"{ratio[n]:.1f}x", f"{compile_only:.1f}"])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 16, 64, 256])
    parser.add_argument("--model-steps", type=int, default=8000,
                        help="model-steps per timed call (steps = this / N, within [20, 1000])")
    args = parser.parse_args()
    rows = measure(args.sizes, args.rounds, args.model_steps)
    print(f"ring GANs trained together with ganlab.sweep (vmap); {machine()}")
    print(table(["N models", "steps per call", "model-steps/s (median)",
                 f"vs N={args.sizes[0]}", "compile s"], rows))


if __name__ == "__main__":
    main()
