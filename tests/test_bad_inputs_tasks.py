"""Bad inputs to the image applications are refused at the door, each with one line that names
the argument, what was wrong and the fix (never a JAX broadcasting error or NaN images); good
inputs still work. Each case asserts the whole message."""

import re
from types import SimpleNamespace

import numpy as np
import pytest

import ganlab
from ganlab.core.runs import Run
from ganlab.tasks import completion, superres
from ganlab.tasks.superres_training import train_superres

GREY = np.zeros((2, 8, 8, 1), np.float32)  # two 8x8 grey images for the digits generator
MASK = completion.make_mask("centre", (8, 8), size=0.5)  # [8, 8, 1]


def _with(array, index, value):
    array = np.array(array, np.float32)
    array[index] = value
    return array


@pytest.fixture(scope="module")
def kit():
    """Untrained 8x8 digits generators (plain, conditional, 2-D points), the shipped MNIST x4
    super-resolution model and a one-step 8x8 x2 one."""
    def run(name, **overrides):
        gan = ganlab.GAN(ganlab.preset(name, **overrides))
        return Run(gan, gan.init(0))

    images = np.random.default_rng(0).uniform(-1, 1, (16, 8, 8, 1)).astype(np.float32)
    config = superres.SRConfig(data="digits", factor=2, width=4, steps=1, batch_size=4)
    return SimpleNamespace(
        run=run("digits", width=8, latent_dim=8),
        conditional=run("digits", width=8, latent_dim=8, n_classes=10),
        points=run("ring"),
        sr=superres.load_pretrained_superres("mnist", 4),
        tiny_sr=train_superres(config, images, progress=False),
        config=config, images=images)


def _complete(kit, images=GREY, mask=MASK, **kw):
    return completion.complete(kit.run, images, mask, restarts=2, steps=1, **kw)


COMPLETION = [
    ("images with a NaN",
     lambda k: _complete(k, _with(GREY, (1, 2, 3, 0), np.nan)),
     "images has 1 NaN or infinite values (at (1, 2, 3, 0)=nan); remove or replace them"),
    ("images with an inf",
     lambda k: _complete(k, _with(GREY, (0, 0, 0, 0), np.inf)),
     "images has 1 NaN or infinite values (at (0, 0, 0, 0)=inf); remove or replace them"),
    ("RGB images into a grey generator",
     lambda k: _complete(k, np.zeros((2, 8, 8, 3))),
     "images must have shape [B, 8, 8, 1] in [-1, 1] for this generator (got (2, 8, 8, 3)); "
     "expected 1 channel (grey-scale): convert with images.mean(-1, keepdims=True)"),
    ("one image without the batch axis",
     lambda k: _complete(k, np.zeros((8, 8, 1))),
     "images must have shape [B, 8, 8, 1] in [-1, 1] for this generator (got (8, 8, 1)); "
     "add the batch axis with images[None]"),
    ("one [H, W] image",
     lambda k: _complete(k, np.zeros((8, 8))),
     "images must have shape [B, 8, 8, 1] in [-1, 1] for this generator (got (8, 8)); "
     "add the batch and channel axes with images[None, ..., None]"),
    ("images without the channel axis",
     lambda k: _complete(k, np.zeros((2, 8, 8))),
     "images must have shape [B, 8, 8, 1] in [-1, 1] for this generator (got (2, 8, 8)); "
     "add the channel axis with images[..., None]"),
    ("28x28 images into an 8x8 generator",
     lambda k: _complete(k, np.zeros((2, 28, 28, 1))),
     "images must have shape [B, 8, 8, 1] in [-1, 1] for this generator (got (2, 28, 28, 1))"),
    ("an empty batch",
     lambda k: _complete(k, np.zeros((0, 8, 8, 1))),
     "images is an empty batch (shape (0, 8, 8, 1)); pass at least one image "
     "(check the slice or filter that made it)"),
    ("0..255 pixels",
     lambda k: _complete(k, np.full((2, 8, 8, 1), 255.0)),
     "images must be in [-1, 1] (got values from 255 to 255); scale 0..255 pixels with "
     "images / 127.5 - 1"),
    ("a 28x28 mask for 8x8 images",
     lambda k: _complete(k, mask=completion.make_mask("centre", (28, 28))),
     "mask must have shape [8, 8, 1] (one for every image) or [2, 8, 8, 1] (one per image) to "
     "match images (2, 8, 8, 1) (got (28, 28, 1))"),
    ("a mask without the channel axis",
     lambda k: _complete(k, mask=MASK[..., 0]),
     "mask must have shape [8, 8, 1] (one for every image) or [2, 8, 8, 1] (one per image) to "
     "match images (2, 8, 8, 1) (got (8, 8)); add the channel axis with mask[..., None]"),
    ("a mask per image for 3 images, 2 given",
     lambda k: _complete(k, mask=np.ones((3, 8, 8, 1))),
     "mask must have shape [8, 8, 1] (one for every image) or [2, 8, 8, 1] (one per image) to "
     "match images (2, 8, 8, 1) (got (3, 8, 8, 1))"),
    ("a soft mask",
     lambda k: _complete(k, mask=_with(MASK, (0, 1, 0), 0.5)),
     "mask must be 1 (visible) or 0 (hidden) everywhere (got 1 other value, at (0, 1, 0)=0.5); "
     "threshold a soft mask with (mask > 0.5).astype(np.float32)"),
    ("a 0/255 mask",
     lambda k: _complete(k, mask=MASK * 255),
     "mask must be 1 (visible) or 0 (hidden) everywhere (got 48 other values, at (0, 0, 0)=255.0"
     ", (0, 1, 0)=255.0, (0, 2, 0)=255.0); threshold a soft mask with "
     "(mask > 0.5).astype(np.float32)"),
    ("a mask with a NaN",
     lambda k: _complete(k, mask=_with(MASK, (7, 7, 0), np.nan)),
     "mask must be 1 (visible) or 0 (hidden) everywhere (got 1 other value, at (7, 7, 0)=nan); "
     "threshold a soft mask with (mask > 0.5).astype(np.float32)"),
    ("a label out of range",
     lambda k: completion.complete(k.conditional, GREY, MASK, labels=[3, 10], steps=1),
     "labels must be in [0, 10) for this generator's 10 classes (got 10 at index 1)"),
    ("a negative label",
     lambda k: completion.complete(k.conditional, GREY, MASK, labels=[-1, 0], steps=1),
     "labels must be in [0, 10) for this generator's 10 classes (got -1 at index 0)"),
    ("fractional labels",
     lambda k: completion.complete(k.conditional, GREY, MASK, labels=[1.5, 2.0], steps=1),
     "labels must be whole class numbers in [0, 10) (got dtype float64)"),
    ("one label for two images",
     lambda k: completion.complete(k.conditional, GREY, MASK, labels=[3], steps=1),
     "labels must have shape [2], one class per image (got (1,))"),
    ("no labels for a conditional generator",
     lambda k: completion.complete(k.conditional, GREY, MASK, steps=1),
     "this generator is conditional: pass labels [B] = [2] (one class in [0, 10) per image)"),
    ("labels for an unconditional generator",
     lambda k: _complete(k, labels=[1, 2]),
     "labels must be None: this generator is unconditional (n_classes=0) (got labels of shape "
     "(2,))"),
    ("a 2-D points generator",
     lambda k: completion.complete(k.points, GREY, MASK),
     "complete needs an image generator (this one makes data of shape (2,))"),
    ("mean_fill: images with a NaN",
     lambda k: completion.mean_fill(_with(GREY, (0, 4, 4, 0), np.nan), MASK, GREY[0]),
     "images has 1 NaN or infinite values (at (0, 4, 4, 0)=nan); remove or replace them"),
    ("mean_fill: a 28x28 mask",
     lambda k: completion.mean_fill(GREY, np.ones((28, 28, 1)), GREY[0]),
     "mask must have shape [8, 8, 1] (one for every image) or [2, 8, 8, 1] (one per image) to "
     "match images (2, 8, 8, 1) (got (28, 28, 1))"),
    ("mean_fill: the whole set as mean_image",
     lambda k: completion.mean_fill(GREY, MASK, k.images),
     "mean_image must have one image's shape [8, 8, 1] (got (16, 8, 8, 1)), e.g. "
     "train_set.images.mean(0)"),
    ("mean_fill: mean_image with a NaN",
     lambda k: completion.mean_fill(GREY, MASK, _with(GREY[0], (1, 1, 0), np.nan)),
     "mean_image has 1 NaN or infinite values (at (1, 1, 0)=nan); remove or replace them"),
    ("nearest_fill: an empty batch",
     lambda k: completion.nearest_fill(GREY[:0], MASK, k.images),
     "images is an empty batch (shape (0, 8, 8, 1)); pass at least one image "
     "(check the slice or filter that made it)"),
    ("nearest_fill: RGB references",
     lambda k: completion.nearest_fill(GREY, MASK, np.zeros((4, 8, 8, 3))),
     "references must have shape [B, 8, 8, 1] (the images' shape) (got (4, 8, 8, 3)); "
     "expected 1 channel (grey-scale): convert with references.mean(-1, keepdims=True)"),
    ("nearest_fill: no references",
     lambda k: completion.nearest_fill(GREY, MASK, k.images[:0]),
     "references is an empty batch (shape (0, 8, 8, 1)); pass at least one image "
     "(check the slice or filter that made it)"),
    ("nearest_fill: references with an inf",
     lambda k: completion.nearest_fill(GREY, MASK, _with(k.images, (5, 0, 1, 0), -np.inf)),
     "references has 1 NaN or infinite values (at (5, 0, 1, 0)=-inf); remove or replace them"),
    ("nearest_fill: chunk 0",
     lambda k: completion.nearest_fill(GREY, MASK, k.images, chunk=0),
     "chunk must be >= 1 (got 0)"),
    ("fill_report: a NaN completion",
     lambda k: completion.fill_report(GREY, MASK, gan=_with(GREY, (1, 3, 3, 0), np.nan)),
     "completion 'gan' has 1 NaN or infinite values (at (1, 3, 3, 0)=nan); remove or replace "
     "them"),
    ("fill_report: a completion of another shape",
     lambda k: completion.fill_report(GREY, MASK, gan=GREY[:1]),
     "completion 'gan' must have the shape of truth (2, 8, 8, 1) (got (1, 8, 8, 1))"),
    ("fill_report: no completion",
     lambda k: completion.fill_report(GREY, MASK),
     "fill_report needs at least one completion to measure, e.g. fill_report(truth, mask, "
     "gan=result.completed)"),
    ("fill_report: 0..255 truth",
     lambda k: completion.fill_report(GREY + 128, MASK, gan=GREY),
     "truth must be in [-1, 1] (got values from 128 to 128); scale 0..255 pixels with "
     "truth / 127.5 - 1"),
    ("fill_report: a soft mask",
     lambda k: completion.fill_report(GREY, MASK * 0.5, gan=GREY),
     "mask must be 1 (visible) or 0 (hidden) everywhere (got 48 other values, at (0, 0, 0)=0.5, "
     "(0, 1, 0)=0.5, (0, 2, 0)=0.5); threshold a soft mask with (mask > 0.5).astype(np.float32)"),
]

LR = np.zeros((2, 7, 7, 1), np.float32)  # two low-resolution images for the MNIST x4 model
HR = np.zeros((2, 28, 28, 1), np.float32)

SUPERRES = [
    ("upscale: RGB",
     lambda k: k.sr.upscale(np.zeros((2, 7, 7, 3))),
     "lr must have shape [B, 7, 7, 1] in [-1, 1] for this mnist x4 model (7 * 4 = 28) (got "
     "(2, 7, 7, 3)); expected 1 channel (grey-scale): convert with lr.mean(-1, keepdims=True)"),
    ("upscale: high-resolution images",
     lambda k: k.sr.upscale(HR),
     "lr must have shape [B, 7, 7, 1] in [-1, 1] for this mnist x4 model (7 * 4 = 28) (got "
     "(2, 28, 28, 1)); these look like high-resolution images: pass "
     "superres.downsample(images, 4)"),
    ("upscale: 14x14, a x2 model's input",
     lambda k: k.sr.upscale(np.zeros((2, 14, 14, 1))),
     "lr must have shape [B, 7, 7, 1] in [-1, 1] for this mnist x4 model (7 * 4 = 28) (got "
     "(2, 14, 14, 1))"),
    ("upscale: one image without the batch axis",
     lambda k: k.sr.upscale(LR[0]),
     "lr must have shape [B, 7, 7, 1] in [-1, 1] for this mnist x4 model (7 * 4 = 28) (got "
     "(7, 7, 1)); add the batch axis with lr[None]"),
    ("upscale: an empty batch",
     lambda k: k.sr.upscale(LR[:0]),
     "lr is an empty batch (shape (0, 7, 7, 1)); pass at least one image "
     "(check the slice or filter that made it)"),
    ("upscale: a NaN",
     lambda k: k.sr.upscale(_with(LR, (1, 6, 0, 0), np.nan)),
     "lr has 1 NaN or infinite values (at (1, 6, 0, 0)=nan); remove or replace them"),
    ("upscale: 0..255 pixels",
     lambda k: k.sr.upscale(LR + 200),
     "lr must be in [-1, 1] (got values from 200 to 200); scale 0..255 pixels with "
     "lr / 127.5 - 1"),
    ("upscale: batch 0",
     lambda k: k.sr.upscale(LR, batch=0),
     "batch must be >= 1 (got 0)"),
    ("evaluate: low-resolution images",
     lambda k: superres.evaluate(k.sr, LR),
     "hr must have shape [B, 28, 28, 1] in [-1, 1] for this mnist x4 model (got (2, 7, 7, 1)); "
     "these look like low-resolution images: evaluate takes the high-resolution truth and "
     "downsamples it itself"),
    ("evaluate: RGB",
     lambda k: superres.evaluate(k.sr, np.zeros((2, 28, 28, 3))),
     "hr must have shape [B, 28, 28, 1] in [-1, 1] for this mnist x4 model (got (2, 28, 28, 3))"
     "; expected 1 channel (grey-scale): convert with hr.mean(-1, keepdims=True)"),
    ("evaluate: 32x32, not the model's 28x28",
     lambda k: superres.evaluate(k.sr, np.zeros((2, 32, 32, 1))),
     "hr must have shape [B, 28, 28, 1] in [-1, 1] for this mnist x4 model (got (2, 32, 32, 1))"),
    ("evaluate: an empty batch",
     lambda k: superres.evaluate(k.sr, HR[:0]),
     "hr is an empty batch (shape (0, 28, 28, 1)); pass at least one image "
     "(check the slice or filter that made it)"),
    ("evaluate: an inf",
     lambda k: superres.evaluate(k.sr, _with(HR, (0, 27, 27, 0), np.inf)),
     "hr has 1 NaN or infinite values (at (0, 27, 27, 0)=inf); remove or replace them"),
    ("evaluate: labels of another length",
     lambda k: superres.evaluate(k.sr, HR, labels=[1, 2, 3]),
     "labels must have shape [2], one per image of hr (got (3,))"),
    ("downsample: no channel axis",
     lambda k: superres.downsample(np.zeros((2, 28, 28)), 4),
     "images must have shape [B, H, W, C] (got (2, 28, 28)); add the batch axis (images[None]) "
     "or the channel axis (images[..., None])"),
    ("downsample: an empty batch",
     lambda k: superres.downsample(HR[:0], 4),
     "images is an empty batch (shape (0, 28, 28, 1)); pass at least one image "
     "(check the slice or filter that made it)"),
    ("downsample: a NaN",
     lambda k: superres.downsample(_with(HR, (0, 1, 2, 0), np.nan), 4),
     "images has 1 NaN or infinite values (at (0, 1, 2, 0)=nan); remove or replace them"),
    ("downsample: 28 not divisible by 3",
     lambda k: superres.downsample(HR, 3),
     "image size 28x28 must be divisible by factor 3; crop it to 27x27 or pick another factor"),
    ("downsample: factor 0",
     lambda k: superres.downsample(HR, 0),
     "factor must be >= 1 (got 0); the models here use 2 or 4"),
    ("bicubic: a fractional factor",
     lambda k: superres.bicubic(LR, 2.5),
     "factor must be a whole number >= 1 (got 2.5); the models here use 2 or 4"),
    ("bicubic: an empty batch",
     lambda k: superres.bicubic(LR[:0], 4),
     "images is an empty batch (shape (0, 7, 7, 1)); pass at least one image "
     "(check the slice or filter that made it)"),
    ("bicubic: a NaN",
     lambda k: superres.bicubic(_with(LR, (1, 0, 0, 0), np.nan), 4),
     "images has 1 NaN or infinite values (at (1, 0, 0, 0)=nan); remove or replace them"),
    ("bicubic: 0..255 pixels",
     lambda k: superres.bicubic(LR + 255, 4),
     "images must be in [-1, 1] (got values from 255 to 255); scale 0..255 pixels with "
     "images / 127.5 - 1"),
    ("train_superres: RGB",
     lambda k: train_superres(k.config, np.zeros((16, 8, 8, 3)), progress=False),
     "images must have shape [B, 8, 8, 1] in [-1, 1] for data='digits' (got (16, 8, 8, 3)); "
     "expected 1 channel (grey-scale): convert with images.mean(-1, keepdims=True)"),
    ("train_superres: 28x28 images for digits (8x8)",
     lambda k: train_superres(k.config, np.zeros((16, 28, 28, 1)), progress=False),
     "images must have shape [B, 8, 8, 1] in [-1, 1] for data='digits' (got (16, 28, 28, 1))"),
    ("train_superres: an empty set",
     lambda k: train_superres(k.config, k.images[:0], progress=False),
     "images is an empty batch (shape (0, 8, 8, 1)); pass at least one image "
     "(check the slice or filter that made it)"),
    ("train_superres: a NaN",
     lambda k: train_superres(k.config, _with(k.images, (3, 1, 2, 0), np.nan),
                                       progress=False),
     "images has 1 NaN or infinite values (at (3, 1, 2, 0)=nan); remove or replace them"),
    ("train_superres: 0..255 pixels",
     lambda k: train_superres(k.config, np.full((16, 8, 8, 1), 255.0), progress=False),
     "images must be in [-1, 1] (got values from 255 to 255); scale 0..255 pixels with "
     "images / 127.5 - 1"),
]


@pytest.mark.parametrize("call, message", [(c, m) for _, c, m in COMPLETION + SUPERRES],
                         ids=[name for name, _, _ in COMPLETION + SUPERRES])
def test_bad_input_is_refused_with_one_line_that_names_it(kit, call, message):
    assert "\n" not in message
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        call(kit)


# -- good inputs still work ------------------------------------------------------------------------
def test_complete_accepts_good_input(kit):
    per_image = np.stack([MASK, completion.make_mask("left", (8, 8))]).astype(bool)
    result = _complete(kit, GREY - 0.5, per_image)
    assert result.completed.shape == (2, 8, 8, 1) and np.isfinite(result.completed).all()
    result = completion.complete(kit.conditional, GREY, MASK, labels=np.array([0, 9]),
                                 restarts=2, steps=1)
    assert np.isfinite(result.z).all()


def test_baselines_accept_good_input(kit):
    filled = completion.mean_fill(GREY, MASK, kit.images.mean(0))
    nearest = completion.nearest_fill(GREY, MASK, kit.images, chunk=5)
    assert filled.shape == nearest.shape == (2, 8, 8, 1)
    report = completion.fill_report(GREY, MASK, mean=filled, nearest=nearest)
    assert set(report) == {"mean", "nearest"} and np.isfinite(report["mean"]["psnr"])


def test_superres_accepts_good_input(kit):
    lr = superres.downsample(HR - 1, 4)
    assert lr.shape == (2, 7, 7, 1)
    assert superres.bicubic(lr, 4).shape == (2, 28, 28, 1)
    out = kit.sr.upscale(lr, batch=1)
    assert out.shape == (2, 28, 28, 1) and np.isfinite(out).all()
    report = superres.evaluate(kit.sr, HR - 1, labels=[0, 1])
    assert set(report) == {"bicubic", "model", "hr"} and np.isfinite(report["model"]["psnr"])
    assert kit.tiny_sr.info["steps"] == 1  # train_superres took good images
    assert kit.tiny_sr.upscale(superres.downsample(kit.images[:2], 2)).shape == (2, 8, 8, 1)
