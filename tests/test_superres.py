"""Super-resolution: down/upsampling at known values, the networks, a tiny training run, files."""

import numpy as np
import pytest

from ganlab.core.checkpoints import CheckpointError
from ganlab.tasks import superres


def test_downsample_is_the_block_mean():
    x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    lr = np.asarray(superres.downsample(x, 2))
    np.testing.assert_allclose(lr[0, ..., 0], [[2.5, 4.5], [10.5, 12.5]])
    with pytest.raises(ValueError, match="divisible by factor 3"):
        superres.downsample(x, 3)


def test_bicubic_shape_and_constant_images():
    x = np.full((2, 7, 7, 1), 0.3, np.float32)
    up = np.asarray(superres.bicubic(x, 4))
    assert up.shape == (2, 28, 28, 1)
    np.testing.assert_allclose(up, 0.3, atol=1e-5)


def test_config_validation_names_the_field():
    with pytest.raises(ValueError, match=r"factor must be 2 or 4 \(got 3\)"):
        superres.SRConfig(factor=3)
    with pytest.raises(ValueError, match="adversarial_weight must be >= 0"):
        superres.SRConfig(adversarial_weight=-1.0)
    with pytest.raises(ValueError, match="data must be one of"):
        superres.SRConfig(data="cifar")


@pytest.fixture(scope="module")
def tiny_images():
    rng = np.random.default_rng(0)
    return rng.uniform(-1, 1, (32, 8, 8, 1)).astype(np.float32)


@pytest.fixture(scope="module")
def tiny_model(tiny_images):
    config = superres.SRConfig(data="digits", factor=2, width=4, steps=4, batch_size=4, seed=0)
    return superres.train_superres(config, tiny_images, progress=False)


def test_tiny_training_run(tiny_model, tiny_images):
    assert set(tiny_model.history) == {"pixel", "g_adv", "d_loss"}
    for values in tiny_model.history.values():
        assert values.shape == (4,) and np.all(np.isfinite(values))
    assert np.all(tiny_model.history["d_loss"] > 0)  # the GAN term was on
    out = tiny_model.upscale(superres.downsample(tiny_images[:5], 2))
    assert out.shape == (5, 8, 8, 1) and out.min() >= -1 and out.max() <= 1


def test_pixel_only_training_skips_the_discriminator(tiny_images):
    config = superres.SRConfig(data="digits", factor=2, width=4, steps=2, batch_size=4,
                               adversarial_weight=0.0)
    model = superres.train_superres(config, tiny_images, progress=False)
    np.testing.assert_array_equal(model.history["d_loss"], 0.0)
    np.testing.assert_array_equal(model.history["g_adv"], 0.0)


def test_same_seed_same_model(tiny_model, tiny_images):
    again = superres.train_superres(tiny_model.config, tiny_images, progress=False)
    lr = superres.downsample(tiny_images[:3], 2)
    np.testing.assert_array_equal(tiny_model.upscale(lr), again.upscale(lr))


def test_save_load_round_trip_and_corrupt_file(tiny_model, tiny_images, tmp_path):
    path = tiny_model.save(tmp_path / "sr.npz")
    loaded = superres.load_superres(path)
    lr = superres.downsample(tiny_images[:3], 2)
    np.testing.assert_array_equal(loaded.upscale(lr), tiny_model.upscale(lr))
    assert loaded.config == tiny_model.config
    np.testing.assert_array_equal(loaded.history["pixel"], tiny_model.history["pixel"])
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(CheckpointError):
        superres.load_superres(path)


def test_evaluate_reports_psnr_against_hand_computed_bicubic(tiny_model, tiny_images):
    from ganlab.tasks.completion import psnr

    report = superres.evaluate(tiny_model, tiny_images)
    bicubic = np.asarray(superres.bicubic(superres.downsample(tiny_images, 2), 2))
    assert report["bicubic"]["psnr"] == pytest.approx(float(psnr(bicubic, tiny_images).mean()))
    assert set(report) == {"bicubic", "model", "hr"}


def test_missing_shipped_model_names_the_command():
    with pytest.raises(ValueError, match="python -m ganlab.tasks.superres train fashion_mnist"):
        superres.load_pretrained_superres("fashion_mnist", 2)


@pytest.mark.data
@pytest.mark.skipif(not superres.weights_path("mnist", 4).is_file(), reason="no shipped model")
def test_shipped_mnist_model_beats_bicubic_on_test_images():
    from ganlab.core.images import load_image_set

    model = superres.load_pretrained_superres("mnist", 4)
    test = load_image_set("mnist", "test", limit=500)
    report = superres.evaluate(model, test.images)
    assert report["model"]["psnr"] > report["bicubic"]["psnr"]
