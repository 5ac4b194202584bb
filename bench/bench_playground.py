"""Benchmark of the 2-D playground: frames per second while training the default ring GAN, and
milliseconds per redraw (all layers on).

    .venv/bin/python bench/bench_playground.py [--frames 30] [--steps-per-frame 20]

Goals from the issue: >= 10 frames/s with training, < 50 ms per redraw, on a 2-core CPU.
The machine may be shared, so besides wall-clock numbers this prints process CPU time (what
the playground itself costs) and a reference measured in the same run: the bare engine
training the same steps with no drawing, so ``frame / bare engine`` is the drawing overhead.
"""

from __future__ import annotations

import argparse
import time

import jax

from ganlab.ui.playground import Playground


def timed(fn, n: int) -> tuple[float, float]:
    """Mean wall and CPU seconds of ``fn()`` over ``n`` calls."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        fn()
    return (time.perf_counter() - wall) / n, (time.process_time() - cpu) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--steps-per-frame", type=int, default=20)
    args = parser.parse_args()
    pg = Playground("ring", steps_per_frame=args.steps_per_frame, draw_canvas=False)
    session = pg.session
    pg.play_frames(2)  # compile
    session.train(args.steps_per_frame % 10 or 10)

    def bare():
        session.train(args.steps_per_frame)
        jax.block_until_ready(session.state)

    bare_wall, bare_cpu = timed(bare, args.frames)
    frame_wall, frame_cpu = timed(lambda: pg.play_frames(1), args.frames)
    redraw_wall, redraw_cpu = timed(pg.redraw, args.frames)
    full_wall, full_cpu = timed(lambda: pg.figure.full_png(), max(3, args.frames // 5))

    fps, fps_cpu = 1 / frame_wall, 1 / frame_cpu
    print(f"playground benchmark: ring GAN, {args.steps_per_frame} steps/frame, "
          f"{args.frames} frames, {jax.device_count()} {jax.default_backend()} device(s)")
    print(f"frames per second (train + measure + redraw): {fps:6.1f} wall, {fps_cpu:6.1f} per "
          f"CPU-second   -> {fps / 10:.2f}x / {fps_cpu / 10:.2f}x the 10 fps goal")
    print(f"ms per redraw (all layers, blitted):           {1e3 * redraw_wall:6.1f} wall, "
          f"{1e3 * redraw_cpu:6.1f} CPU   -> {redraw_wall / 0.05:.2f}x / {redraw_cpu / 0.05:.2f}x "
          "the 50 ms budget")
    print(f"ms per full redraw (axes, ticks, text too):    {1e3 * full_wall:6.1f} wall, "
          f"{1e3 * full_cpu:6.1f} CPU   (only when chart limits grow)")
    print(f"reference, bare engine {args.steps_per_frame} steps: {1e3 * bare_wall:6.1f} ms wall;"
          f"  frame / bare engine = {frame_wall / bare_wall:.2f}x wall, "
          f"{frame_cpu / max(bare_cpu, 1e-9):.2f}x CPU")


if __name__ == "__main__":
    main()
