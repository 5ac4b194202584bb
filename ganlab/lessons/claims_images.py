"""The lessons' claims about image GANs (01, 03, 05: the 8x8 digits; 03, 05, 08: MNIST).

Each recipe is the lesson's own setting; the GANs of all seeds train at once (``ganlab.sweep``),
except 05's mnist_live, trained one seed at a time.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

from ganlab.core.config import preset
from ganlab.core.data import load
from ganlab.core.gan import GAN
from ganlab.core.images import load_image_set
from ganlab.core.runs import Run, SweepRun, sweep
from ganlab.lessons import autoencoders, bughunt, upsampling
from ganlab.lessons.claims import Claim
from ganlab.tasks import classifier, translation
from ganlab.tasks.quality import learning_curve

IMAGE_SEEDS = (0, 1, 2)  # convolutional GANs cost more: lessons 01 and 03 assert on three seeds
DCGAN_SEEDS = (0, 1)  # lesson 05 trains 3 recipes x 1000 steps: 2 seeds keep it under 5 min


def classes(run: SweepRun, n: int = 1000) -> dict[str, np.ndarray]:
    """Every model's classifier score (max 10), digits drawn (of 10, each > 0 of ``n``), digits
    holding >= 5% of the samples, pixel spread across samples (std over samples), and the
    checkerboard share of the samples less that of ``n`` real digits
    (``upsampling.checkerboard``, |difference|)."""
    model = classifier.load_classifier("digits")
    samples = run.sample(n, seed=1)
    probs = [model.classify(x) for x in samples]
    hists = np.array([classifier.class_histogram(p) for p in probs])
    real = float(upsampling.checkerboard(load("digits").images[:n]).mean())
    return {"score": np.array([classifier.classifier_score(p) for p in probs]),
            "digits_drawn": (hists > 0).sum(-1),
            "digits_over_5pc": (hists >= 0.05 * n).sum(-1),
            "spread": samples.std(1).mean((1, 2, 3)),
            "checkerboard_gap": np.array([abs(float(upsampling.checkerboard(x).mean()) - real)
                                          for x in samples])}


# -- lesson 01: a GAN's samples are sharper than a VAE's -------------------------------------
BACKGROUND_STEPS = {"vae": 2000, "gan": 800}


def compare_models(seeds: Sequence[int]) -> dict[str, np.ndarray]:
    """Sharpness of 500 samples of a VAE (2000 steps) and of the digits GAN (800 steps), each
    over the sharpness of 500 real digits; one value per seed. (The lesson's AE is shown, not
    claimed: over seeds it is sometimes sharper than the GAN, sometimes not.)"""
    real = load("digits").images
    n = 500
    gans = sweep("digits", BACKGROUND_STEPS["gan"], seeds=seeds, progress=False)
    gan = [autoencoders.sharpness(x) for x in gans.sample(n, seed=1)]
    vae = []
    for seed in seeds:
        fit = autoencoders.train_autoencoder(real, "vae", BACKGROUND_STEPS["vae"], latent_dim=8,
                                             width=128, seed=seed)
        vae.append(autoencoders.sharpness(autoencoders.sample(fit.model, n, seed=1)))
    sharp_real = autoencoders.sharpness(real[:n])
    return {"gan": np.array(gan) / sharp_real, "vae": np.array(vae) / sharp_real}


SHARPNESS = Claim(
    "sharpness", "01",
    "VAE samples are blurrier than real digits (< 0.92x their sharpness) and than the GAN's",
    compare_models, lambda ratios: ratios,
    lambda v: (v["vae"] < 0.92) & (v["gan"] > v["vae"]), seeds=IMAGE_SEEDS,
)

# -- lesson 03: D tells real from fake, but has not won ---------------------------------------
FIRST_STEPS = 300


def _balance(run: SweepRun) -> dict[str, np.ndarray]:
    return {"d_real": run.history["d_real"][:, -50:].mean(-1),
            "d_fake": run.history["d_fake"][:, -50:].mean(-1)}


FIRST_IMAGES = Claim(
    "first_images", "03",
    "after 300 steps on digits, D(x) > D(G(z)) over the last 50 steps, and D(G(z)) > 0.05: D "
    "tells them apart but has not won",
    lambda seeds: sweep("digits", FIRST_STEPS, seeds=seeds, progress=False), _balance,
    lambda v: (v["d_real"] > v["d_fake"]) & (v["d_fake"] > 0.05), seeds=IMAGE_SEEDS,
)

# -- lesson 05: a DCGAN learns digits in 1000 steps ------------------------------------------
LIVE_STEPS, LIVE_FIRST = 1000, 100


def _live_train(seeds):
    run = sweep("digits", LIVE_FIRST, seeds=seeds, progress=False)
    first = classes(run)["score"]
    return run.train(LIVE_STEPS - LIVE_FIRST, progress=False), first


def _live_measure(trained):
    run, first = trained
    return {"first_score": first, **classes(run)}


LIVE_DIGITS = Claim(
    "live_digits", "05",
    "in 1000 steps the digits DCGAN's classifier score rises from its value at step 100 to "
    "above 5, with at least 9 digits drawn, and its checkerboard share is within 0.15 of real "
    "digits' (an untrained generator's upsampled maps: ~0.8)",
    _live_train, _live_measure,
    lambda v: (v["score"] > v["first_score"]) & (v["score"] > 5.0) & (v["digits_drawn"] >= 9)
    & (v["checkerboard_gap"] < 0.15),
    seeds=DCGAN_SEEDS,
)

# -- lesson 05: collapse without R1, and R1 as the remedy -------------------------------------
# The digits preset (Adam 2e-4) without its R1 penalty collapsed on 16/16 seeds (score <= 1.34,
# <= 3 digits with 5% of the samples; perturbed rounding). The earlier provocation, both rates
# raised to 1e-3 without R1, left <= 2 such digits on only 12 of 16 (seed 1 kept 5), at 2e-3 on 8.
DIGIT_RECIPES = {"collapse": dict(r1=0.0), "remedy": dict(r1=1.0)}
DIGIT_STEPS = 1000


def _digits_train(seeds):
    return {name: sweep(preset("digits", **changes), DIGIT_STEPS, seeds=seeds, progress=False)
            for name, changes in DIGIT_RECIPES.items()}


def _digits_measure(runs):
    collapse, remedy = classes(runs["collapse"]), classes(runs["remedy"])
    return {"collapse_score": collapse["score"], "collapse_over_5pc": collapse["digits_over_5pc"],
            "remedy_score": remedy["score"], "remedy_drawn": remedy["digits_drawn"],
            "spread_ratio": collapse["spread"] / remedy["spread"]}


DIGIT_COLLAPSE = Claim(
    "digit_collapse", "05",
    "without its R1 penalty the digits GAN collapses (score < 2, at most 3 digits hold 5% of "
    "the samples, under half the remedy's pixel spread); R1 gamma 1 alone brings >= 9 digits "
    "back and over 3x the score",
    _digits_train, _digits_measure,
    lambda v: (v["collapse_over_5pc"] <= 3) & (v["collapse_score"] < 2.0)
    & (v["remedy_drawn"] >= 9) & (v["remedy_score"] > 3 * v["collapse_score"])
    & (v["spread_ratio"] < 0.5),
    seeds=DCGAN_SEEDS,
)

# -- lesson 03: the bug hunt's fixed GAN learns varied digits ---------------------------------
FIXED_KERAS_GAN = Claim(
    "fixed_keras_gan", "03",
    f"the fixed Keras-style GAN, {bughunt.STEPS} steps on MNIST, draws varied digits: spread "
    f"> {bughunt.SPREAD_MIN} of real images', classifier score > {bughunt.SCORE_MIN}, "
    f">= {bughunt.CLASSES_MIN} digits with 2% of the samples",
    lambda seeds: bughunt.train(seeds, bughunt.STEPS),
    lambda trained: bughunt.measure(*trained),
    bughunt.CLAIM, seeds=(0, 1),
)

# -- lesson 08: skip connections let the sketch's lines through ------------------------------
SKIP_RECIPE = translation.TranslatorConfig(data="mnist", width=16, steps=300,
                                           adversarial_weight=0.0)
SKIP_TEST_IMAGES = 1000


def _skips_train(seeds):
    images = load_image_set("mnist", "train").images
    return {skips: [translation.train_translator(SKIP_RECIPE.replace(skips=skips, seed=seed),
                                                 images, progress=False) for seed in seeds]
            for skips in (True, False)}


def _skips_measure(models):
    test = load_image_set("mnist", "test", limit=SKIP_TEST_IMAGES).images
    error = {skips: np.array([translation.evaluate(m, test)["l1"] for m in ms])
             for skips, ms in models.items()}
    return {"l1_unet": error[True], "l1_plain": error[False],
            "ratio": error[True] / error[False]}


SKIPS = Claim(
    "translation_skips", "08",
    "after 300 L1-only steps on MNIST sketches (width 16), the U-Net's test L1 error is below "
    "0.9x that of the same network without skip connections",
    _skips_train, _skips_measure, lambda v: v["ratio"] < 0.9, seeds=DCGAN_SEEDS,
)

# -- lesson 05: mnist_live learns MNIST's digits from scratch, live ---------------------------
LIVE_MNIST_STEPS, LIVE_MNIST_EVERY = 1500, 250  # the lesson's first part of the preset's 8000
LIVE_MNIST_SCORE = 4.0  # at 1500 steps; 8 seeds, perturbed rounding: 4.59 to 5.13


def live_mnist_run(seed: int):
    """A fresh ``mnist_live`` run (the preset's GAN, compiled once per process)."""
    gan = _live_mnist_gan()
    return Run(gan, gan.init(seed))


@functools.cache
def _live_mnist_gan() -> GAN:
    return GAN(preset("mnist_live"))


def _live_mnist_train(seeds):
    """One run at a time: vmapped over seeds, a convolutional step is slower per model."""
    return [learning_curve(live_mnist_run(s), LIVE_MNIST_STEPS, LIVE_MNIST_EVERY)
            for s in seeds]


def _live_mnist_measure(curves):
    return {"first_score": np.array([c.scores[0] for c in curves]),
            "score": np.array([c.scores[-1] for c in curves]),
            "missing": np.array([c.missing[-1] for c in curves])}


LIVE_MNIST = Claim(
    "live_mnist", "05",
    f"mnist_live, trained from scratch, scores above {LIVE_MNIST_SCORE} with all 10 digits "
    f"drawn after {LIVE_MNIST_STEPS} steps, at least 1.0 more than after {LIVE_MNIST_EVERY}",
    _live_mnist_train, _live_mnist_measure,
    lambda v: (v["score"] > LIVE_MNIST_SCORE) & (v["missing"] == 0)
    & (v["score"] > v["first_score"] + 1.0),
    seeds=(0,),
)

CLAIMS = {c.name: c for c in (SHARPNESS, FIRST_IMAGES, FIXED_KERAS_GAN, LIVE_DIGITS,
                              DIGIT_COLLAPSE, SKIPS, LIVE_MNIST)}
