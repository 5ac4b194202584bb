"""Cold and warm start: seconds from a ``GANConfig`` to the first finished training step.

Each measurement runs in a fresh Python process. Cold: an empty compilation cache folder (a
first run); warm: a second process on the same folder, which finds the first one's compiled
code in ganlab's persistent compilation cache (``ganlab.core.compile_cache``). ``import jax``
and ``import ganlab`` are timed apart and excluded; the reference in the same process is the
import time, so the ratio "first step / import" survives a busy machine better than seconds do.
CPU seconds (``time.process_time``) are shown too: on a loaded machine they are the closer guide
to what an idle one would take.

    .venv/bin/python bench/bench_compile.py [--repeats 3] [--presets ring mnist]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

from timing import machine, table

CHILD = r"""
import json, sys, time
t0, c0 = time.perf_counter(), time.process_time()
import jax
import ganlab
from stand_in import RandomImages
t1, c1 = time.perf_counter(), time.process_time()
config = ganlab.preset(sys.argv[1])
data = None
if config.model == "dcgan":
    try:
        ganlab.data.load(config.data)
    except (ImportError, OSError, ValueError):
        data = RandomImages()
gan = ganlab.GAN(config, data)
state = gan.init(0)
state, history = gan.train(state, 1, progress=False)
jax.block_until_ready(state)
t2, c2 = time.perf_counter(), time.process_time()
print(json.dumps(dict(import_s=t1 - t0, first_step_s=t2 - t1, first_step_cpu_s=c2 - c1)))
"""


def measure(preset: str, cache: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("GANLAB_JAX_CACHE",
                                                            "JAX_COMPILATION_CACHE_DIR")}
    env["XDG_CACHE_HOME"] = cache
    out = subprocess.run([sys.executable, "-c", CHILD, preset], capture_output=True, text=True,
                         check=True, cwd=sys.path[0], env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def cold_and_warm(preset: str) -> tuple[dict, dict]:
    with tempfile.TemporaryDirectory() as cache:
        return measure(preset, cache), measure(preset, cache)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--presets", nargs="+", default=["ring", "mnist"])
    args = parser.parse_args()
    rows = []
    for preset in args.presets:
        pairs = [cold_and_warm(preset) for _ in range(args.repeats)]
        for name, runs in (("cold", [p[0] for p in pairs]), ("warm", [p[1] for p in pairs])):
            med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            ratio = statistics.median(r["first_step_s"] / r["import_s"] for r in runs)
            rows.append([preset, name, f"{med['import_s']:.1f}", f"{med['first_step_s']:.1f}",
                         f"{med['first_step_cpu_s']:.1f}", f"{ratio:.1f}x"])
    print(f"start in a fresh process (cold: empty compilation cache; warm: a second process), "
          f"median of {args.repeats}; {machine()}")
    print(table(["preset", "start", "import s", "config -> first step s", "  (CPU s)",
                 "first step / import"], rows))


if __name__ == "__main__":
    main()
