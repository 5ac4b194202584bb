"""Where a ring step's time goes: the compiled scan chunk, with ablations, in one process.

Cases (all ``ganlab.preset("ring")``, timed in alternation over rounds of one 500-step chunk):
``ganlab``: the step as shipped; ``draw noise always``: the step before the instance-noise
skip (noise of std 0 drawn and added, as ``losses.instance_noise`` does); ``r1 = 0``: R1's
``lax.cond`` takes its empty branch, giving the share of the R1 double backward. Ratios use
CPU-time rates (``time.process_time``), steadier than wall time on a shared machine.

    .venv/bin/python bench/bench_step.py [--rounds 6]
"""

from __future__ import annotations

import argparse
import statistics
import time

import jax
from timing import machine, table

import ganlab
from ganlab import losses
from ganlab.core import engine


def compiled_chunk(config: ganlab.GANConfig, always_draw_noise: bool = False):
    gan = ganlab.GAN(config)
    state = gan.init(0)
    skip_noise = engine._instance_noise
    if always_draw_noise:
        engine._instance_noise = losses.instance_noise
    try:
        scan = gan.jit(engine.scan_steps, in_axes=(0, None, None), static_argnums=(2,))
        chunk = scan.lower(state, gan.arrays, gan.chunk).compile()
    finally:
        engine._instance_noise = skip_noise
    return chunk, state, gan.chunk


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    ring = ganlab.preset("ring")
    cases = {"ganlab": compiled_chunk(ring),
             "draw noise always": compiled_chunk(ring, always_draw_noise=True),
             "r1 = 0": compiled_chunk(ring.replace(r1=0.0))}
    states = {name: case[1] for name, case in cases.items()}
    wall = {name: [] for name in cases}
    cpu = {name: [] for name in cases}
    for _ in range(args.rounds):
        for name, (chunk, _, steps) in cases.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            states[name], _ = chunk(states[name], None)
            jax.block_until_ready(states[name])
            wall[name].append(steps / (time.perf_counter() - start))
            cpu[name].append(steps / (time.process_time() - start_cpu))
    print(f"ring step, one compiled 500-step chunk per round; {machine()}")
    rows = [[name, f"{statistics.median(wall[name]):.0f}", f"{statistics.median(cpu[name]):.0f}",
             f"{statistics.median(a / b for a, b in zip(cpu[name], cpu['ganlab'])):.2f}x"]
            for name in cases]
    print(table(["case", "steps/s wall", "steps/s per CPU s", "vs ganlab (CPU)"], rows))


if __name__ == "__main__":
    main()
