"""The quality numbers of the shipped generators, measured with the kit's own classifier.

Each pretrained generator ``ganlab/weights/<name>.npz`` carries ``<name>.json`` beside it: how it
was trained (command, seed, steps, config) and what was measured on it (classifier score, Frechet
classifier distance next to the real-vs-real value, class histogram; for a conditional generator
the fraction of samples classified as the requested label). Written and re-measured by::

    export GANLAB_DATA_DIR=<folder with mnist/ and fashion-mnist/>
    python -m ganlab.tasks.quality mnist --seed 0

``python -m ganlab.tasks.quality run.npz`` measures any saved run the same way and only prints.

Metrics (see :mod:`ganlab.tasks.classifier`): ``score = exp(E_x KL(p(y|x) || p(y)))`` (max 10),
``fid`` the Frechet distance of classifier features to the real test set, ``histogram_tv =
1/2 sum_k |h_k / n - 1/K|`` the total-variation distance of the class histogram from uniform.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import jax
import numpy as np

from ganlab.core.files import WEIGHTS
from ganlab.core.pretrained import load_pretrained

N_SAMPLES = 5000  # generated images per measurement


def histogram_tv(histogram) -> float:
    """``1/2 sum_k |h_k / n - 1/K|``: 0 for a uniform histogram, ``1 - 1/K`` for one class."""
    h = np.asarray(histogram, np.float64)
    if h.ndim != 1 or h.sum() <= 0:
        raise ValueError(f"histogram must be a 1-D array of counts with a positive sum (got {h})")
    return float(0.5 * np.abs(h / h.sum() - 1 / len(h)).sum())


def generated(run, n: int = N_SAMPLES, seed: int = 0, labels=None, batch: int = 1000) -> np.ndarray:
    """``n`` samples of ``run`` drawn in batches (latents from ``seed``), ``[n, H, W, C]``."""
    key = jax.random.key(seed)
    params = run.gan.sampling_params(run.state)
    out = []
    for start in range(0, n, batch):
        key, key_z = jax.random.split(key)
        size = min(batch, n - start)
        y = None if labels is None else np.asarray(labels[start:start + size], np.int32)
        out.append(np.asarray(run.gan.generate(params, run.gan.latent(key_z, size), y)))
    return np.concatenate(out)


def measure(run, n: int = N_SAMPLES, seed: int = 0) -> dict:
    """Every quality number of a run's generator (a dict of plain floats, ints and lists).

    Unconditional: ``score``, ``fid``, ``real_fid`` (``n`` real training images against the
    same test reference: the floor a perfect generator reaches), ``real_score``, ``histogram``,
    ``missing_classes``, ``histogram_tv``. Conditional: samples asked for label ``i % K``; adds
    ``label_accuracy`` (fraction classified as the requested label) and ``per_class_accuracy``.
    """
    from ganlab.core.images import load_image_set
    from ganlab.tasks.classifier import classify, image_report, load_classifier

    name = run.config.data
    k = run.config.n_classes
    labels = None if not k else np.arange(n) % k
    images = generated(run, n, seed, labels)
    report = image_report(images, name)
    real = load_image_set(name, "train").images[:n]
    real_report = image_report(real, name)
    result = {
        "score": float(report["score"]),
        "fid": float(report["fid"]),
        "real_fid": float(real_report["fid"]),
        "real_score": float(report["real_score"]),
        "real_train_score": float(real_report["score"]),
        "histogram": [int(c) for c in report["histogram"]],
        "missing_classes": int(report["missing_classes"]),
        "histogram_tv": histogram_tv(report["histogram"]),
        "n": int(n),
        "sample_seed": int(seed),
    }
    if k:
        predicted = classify(images, load_classifier(name)).argmax(-1)
        hits = predicted == labels
        result["label_accuracy"] = float(hits.mean())
        result["per_class_accuracy"] = [float(hits[labels == c].mean()) for c in range(k)]
    return result


FIXED_NOISE_SEED = 42  # the latents of learning_curve's frames


@dataclass
class LearningCurve:
    """What ``learning_curve`` measured after each chunk: ``steps`` done, training ``seconds``
    so far (compiling included, scoring excluded), ``scores``, ``missing`` classes (never
    predicted), ``histograms`` (class counts of the scored samples) and the fixed-noise
    ``frames`` ``[64, H, W, C]``."""

    steps: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    missing: list[int] = field(default_factory=list)
    histograms: list[np.ndarray] = field(default_factory=list)
    frames: list[np.ndarray] = field(default_factory=list)


def learning_curve(run, steps: int, every: int = 500, *, n: int = 1000, seed: int = 1,
                   after_chunk: Callable[[LearningCurve], None] | None = None) -> LearningCurve:
    """Train ``run`` (an unconditional image GAN's ``Run``) ``steps`` more steps, ``every`` at a
    time (the last chunk is the rest when ``every`` does not divide ``steps``). After each
    chunk classify ``n`` samples (latents from ``seed``) with the kit's classifier for its data:
    ``score = exp(E_x KL(p(y|x) || p(y)))`` (max 10) and the class histogram; and draw the same
    64 latents (fixed noise: the frames show the generator changing, not the noise).
    ``after_chunk(curve)`` is called after each (a live figure). ``run`` ends trained."""
    from ganlab.tasks.classifier import class_histogram, classifier_score, load_classifier

    if run.config.n_classes:
        raise ValueError("learning_curve scores unconditional generators (got n_classes="
                         f"{run.config.n_classes}); measure a conditional one with measure()")
    if not 1 <= every <= steps:
        raise ValueError(f"every must be in [1, steps] (got every={every}, steps={steps})")
    model, curve, trained_s = load_classifier(run.config.data), LearningCurve(), 0.0
    for chunk in [every] * (steps // every) + ([steps % every] if steps % every else []):
        start = time.perf_counter()
        run.train(chunk, progress=False, doctor=False)
        trained_s += time.perf_counter() - start
        probs = model.classify(generated(run, n, seed=seed))
        histogram = class_histogram(probs, n_classes=probs.shape[1])
        curve.steps.append(run.step)
        curve.seconds.append(trained_s)
        curve.scores.append(classifier_score(probs))
        curve.missing.append(int((histogram == 0).sum()))
        curve.histograms.append(histogram)
        curve.frames.append(run.sample(64, seed=FIXED_NOISE_SEED))
        if after_chunk is not None:
            after_chunk(curve)
    return curve


def report_path(name: str) -> Path:
    return WEIGHTS / f"{name}.json"


def read_report(name: str) -> dict:
    """The stored report of pretrained generator ``name`` (training command and metrics)."""
    path = report_path(name)
    if not path.is_file():
        raise ValueError(f"no quality report {path}; make it with "
                         f"`python -m ganlab.tasks.quality {name}`")
    return json.loads(path.read_text())


def write_report(name: str, seed: int, n: int = N_SAMPLES, preset: str | None = None,
                 measured: bool = True) -> dict:
    """Measure pretrained generator ``name`` and write ``ganlab/weights/<name>.json``.

    ``seed`` is the training seed (recorded with the command that reproduces the weights).
    ``measured=False`` records the training only (``"metrics": null``), for when the classifier
    or the real images are not available yet.
    """
    run = load_pretrained(name)
    preset = preset or name
    report = {
        "name": name,
        "command": (f"python -m ganlab train {preset} --steps {run.step} --seed {seed} "
                    f"--out ganlab/weights/{name}.npz"),
        "measure_command": f"python -m ganlab.tasks.quality {name} --seed {seed} --n {n}",
        "seed": seed,
        "steps": run.step,
        "config": run.config.to_dict(),
        "metrics": measure(run, n) if measured else None,
    }
    report_path(name).write_text(json.dumps(report, indent=1) + "\n")
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m ganlab.tasks.quality",
        description="Measure a shipped generator and write ganlab/weights/<name>.json.")
    parser.add_argument("name", help="a pretrained generator (digits, mnist, ...), or a saved "
                        "run (folder or .npz), which is measured and printed but not recorded")
    parser.add_argument("--seed", type=int, default=0, help="the seed it was trained with")
    parser.add_argument("--n", type=int, default=N_SAMPLES, help="samples to measure on")
    parser.add_argument("--preset", default=None, help="preset it was trained from (default: name)")
    parser.add_argument("--no-measure", action="store_true", help="record the training only")
    args = parser.parse_args(argv)
    if Path(args.name).exists():
        from ganlab.core.pretrained import open_run

        print(json.dumps(measure(open_run(args.name), args.n)))
        return
    report = write_report(args.name, args.seed, args.n, args.preset, not args.no_measure)
    print(json.dumps(report["metrics"]))


if __name__ == "__main__":
    main()
