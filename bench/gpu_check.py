"""The GPU check: one command that shows what ganlab does on this machine's accelerator.

Prints, for JAX's default device (a GPU once ``pip install -e ".[lab,cuda]"`` found one):
1. the devices JAX sees;
2. the ring sweep's model-steps/s for N = 1, 64, 256, 1024 GANs at once (``bench_sweep``);
3. the MNIST DCGAN step against PyTorch eager on the same kind of device (``bench_dcgan``;
   PyTorch with CUDA where it is installed, else on the CPU, and said so; skipped without it);
4. the mnist preset trained from scratch: wall time and the MNIST classifier's score;
5. with ``--lessons``, each lesson's time top to bottom (nbval) and their total.

Under 5 minutes on one GPU. ``--small`` runs the same checks at CPU size (a minute or two):

    .venv/bin/python bench/gpu_check.py [--small] [--lessons]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import jax
from timing import machine, table

import ganlab
from ganlab.tasks import classifier

ROOT = Path(__file__).resolve().parent.parent
FULL = dict(sizes=[1, 64, 256, 1024], model_steps=64_000, dcgan_steps=50, mnist_steps=2000)
SMALL = dict(sizes=[1, 4], model_steps=400, dcgan_steps=2, mnist_steps=20)


def devices() -> str:
    found = jax.devices()
    kind = jax.default_backend()
    note = "" if kind != "cpu" else (' (no GPU: install JAX\'s CUDA build, pip install -e '
                                     '".[lab,cuda]", on a machine with an NVIDIA driver)')
    return f"JAX {jax.__version__} on {kind}: {', '.join(str(d) for d in found)}{note}"


def ring_sweep(sizes: list[int], model_steps: int) -> str:
    from bench_sweep import measure
    rows = measure(sizes, rounds=2, model_steps=model_steps)
    return table(["N ring GANs", "steps per call", "model-steps/s", f"vs N={sizes[0]}",
                  "compile s"], rows)


def dcgan_against_pytorch(steps: int) -> str:
    try:
        import torch
        from bench_dcgan import compare
    except ImportError:
        return "PyTorch is not installed (pip install -e \".[bench]\"): DCGAN comparison skipped"
    device = "cuda" if torch.cuda.is_available() else "cpu"
    _, rates, ratio = compare(ganlab.preset("mnist"), rounds=3, steps=steps, device=device)
    rows = [[name, f"{sorted(r)[len(r) // 2]:.1f}", f"{ratio[name]:.2f}x"]
            for name, r in rates.items()]
    return (f"PyTorch {torch.__version__} on {device}\n"
            + table(["mnist preset step", "steps/s", "vs pytorch eager"], rows))


def mnist_from_scratch(steps: int) -> str:
    try:
        start = time.perf_counter()
        run = ganlab.train("mnist", steps, seed=0, progress=False)
        samples = run.sample(1000, seed=1)
    except (OSError, ValueError) as error:  # no MNIST files here
        return f"mnist preset skipped: {error}"
    seconds = time.perf_counter() - start
    probs = classifier.load_classifier("mnist").classify(samples)
    hist = classifier.class_histogram(probs)
    return (f"mnist preset, {steps} steps from scratch: {seconds:.1f} s (compile included), "
            f"classifier score {classifier.classifier_score(probs):.2f} of 10, "
            f"{int((hist > 0).sum())} digits drawn")


def lessons() -> str:
    rows, total = [], 0.0
    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                               "--nbval-lax", str(notebook)], cwd=ROOT, capture_output=True)
        seconds = time.perf_counter() - start
        total += seconds
        rows.append([notebook.name, f"{seconds:.0f}", "passed" if done.returncode == 0 else
                     "FAILED"])
    rows.append(["total", f"{total:.0f}", ""])
    return table(["lesson", "s", "nbval"], rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="CPU-sized settings")
    parser.add_argument("--lessons", action="store_true", help="also time every lesson")
    args = parser.parse_args()
    size = SMALL if args.small else FULL
    print(f"# ganlab GPU check ({'small' if args.small else 'full'}); {machine()}")
    print(devices(), flush=True)
    checks = [("ring sweep", lambda: ring_sweep(size["sizes"], size["model_steps"])),
              ("DCGAN vs PyTorch", lambda: dcgan_against_pytorch(size["dcgan_steps"])),
              ("MNIST from scratch", lambda: mnist_from_scratch(size["mnist_steps"]))]
    if args.lessons:
        checks.append(("lessons", lessons))
    for title, check in checks:
        start = time.perf_counter()
        print(f"\n## {title}\n{check()}\n({time.perf_counter() - start:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
