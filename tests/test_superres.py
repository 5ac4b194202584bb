"""Super-resolution: down/upsampling at known values, the networks, a tiny training run through
the one loop, divergence, files."""

import jax
import numpy as np
import pytest

from ganlab.core.checkpoints import CheckpointError
from ganlab.core.loop import TrainingDiverged, advance
from ganlab.tasks import superres, superres_training
from ganlab.tasks.image_metrics import psnr


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
    with pytest.raises(ValueError, match=r"steps must be a whole number >= 0 \(got 2.5\)"):
        superres.SRConfig(steps=2.5)
    with pytest.raises(ValueError, match=r"width must be >= 1 \(got 0\); at most 1024"):
        superres.SRConfig(width=0)
    with pytest.raises(ValueError, match=r"width must be in \[1, 1024\] \(got 2000\)"):
        superres.SRConfig(width=2000)


@pytest.fixture(scope="module")
def tiny_images():
    rng = np.random.default_rng(0)
    return rng.uniform(-1, 1, (32, 8, 8, 1)).astype(np.float32)


@pytest.fixture(scope="module")
def tiny_model(tiny_images):
    config = superres.SRConfig(data="digits", factor=2, width=4, steps=4, batch_size=4, seed=0)
    return superres_training.train_superres(config, tiny_images, progress=False)


def test_tiny_training_run(tiny_model, tiny_images):
    assert set(tiny_model.history) == set(superres_training.HISTORY) == {"pixel", "g_adv", "d_loss"}
    for values in tiny_model.history.values():
        assert values.shape == (4,) and np.all(np.isfinite(values))
    assert np.all(tiny_model.history["d_loss"] > 0)  # the GAN term was on
    assert tiny_model.info["steps"] == 4
    out = tiny_model.upscale(superres.downsample(tiny_images[:5], 2))
    assert out.shape == (5, 8, 8, 1) and out.min() >= -1 and out.max() <= 1


def test_pixel_only_training_skips_the_discriminator(tiny_images):
    config = superres.SRConfig(data="digits", factor=2, width=4, steps=2, batch_size=4,
                               adversarial_weight=0.0)
    model = superres_training.train_superres(config, tiny_images, progress=False)
    np.testing.assert_array_equal(model.history["d_loss"], 0.0)
    np.testing.assert_array_equal(model.history["g_adv"], 0.0)


def test_training_goes_through_the_one_loop(tiny_images):
    config = superres.SRConfig(data="digits", factor=2, width=4, steps=7, batch_size=4)
    trainer = superres_training.SRTrainer(config, tiny_images)
    assert trainer.chunks(120) == [50, 50, 20]
    seen = []
    state, history = advance(trainer, trainer.init(), 7,
                             callbacks=[lambda state, part, done: seen.append(done)])
    assert seen == [7] and int(state.step) == 7 and history.steps == 7
    assert set(history) == set(superres_training.METRICS)
    # L_G is its two terms, weighted
    np.testing.assert_allclose(history["g_loss"], history["pixel"] + 0.02 * history["g_adv"],
                               rtol=1e-5)


@pytest.mark.parametrize("adversarial_weight", [0.02, 0.0])
def test_a_non_finite_step_is_not_taken_and_the_loop_names_it(tiny_images, adversarial_weight):
    config = superres.SRConfig(data="digits", factor=2, width=4, steps=3, batch_size=4,
                               adversarial_weight=adversarial_weight)
    trainer = superres_training.SRTrainer(config, np.full_like(tiny_images, np.nan))
    start = trainer.init()
    with pytest.raises(TrainingDiverged, match=r"diverged at step 0.*lr_d=0.0005, lr_g=0.0005"
                       ) as error:
        advance(trainer, start, 3)
    assert int(error.value.state.step) == 0 and error.value.history.steps == 1
    kept = error.value.state
    for a, b in zip(jax.tree.leaves((kept.generator, kept.discriminator)),
                    jax.tree.leaves((start.generator, start.discriminator))):
        np.testing.assert_array_equal(a, b)  # the last finite weights and Adam states


def test_train_superres_refuses_non_finite_images(tiny_images):
    images = tiny_images.copy()
    images[3, 1, 2, 0] = np.nan
    config = superres.SRConfig(data="digits", factor=2, width=4, steps=1, batch_size=4)
    with pytest.raises(ValueError, match=r"images has 1 NaN or infinite values \(at \(3, 1, 2"):
        superres_training.train_superres(config, images, progress=False)


def test_same_seed_same_model(tiny_model, tiny_images):
    again = superres_training.train_superres(tiny_model.config, tiny_images, progress=False)
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
    report = superres.evaluate(tiny_model, tiny_images)
    bicubic = np.asarray(superres.bicubic(superres.downsample(tiny_images, 2), 2))
    assert report["bicubic"]["psnr"] == pytest.approx(float(psnr(bicubic, tiny_images).mean()))
    assert set(report) == {"bicubic", "model", "hr"}


def test_missing_shipped_model_names_the_command():
    command = "python -m ganlab.tasks.superres_training train fashion_mnist"
    with pytest.raises(ValueError, match=command):
        superres.load_pretrained_superres("fashion_mnist", 2)


@pytest.mark.data
@pytest.mark.skipif(not superres.weights_path("mnist", 4).is_file(), reason="no shipped model")
def test_shipped_mnist_model_beats_bicubic_on_test_images():
    from ganlab.core.images import load_image_set

    model = superres.load_pretrained_superres("mnist", 4)
    test = load_image_set("mnist", "test", limit=500)
    report = superres.evaluate(model, test.images)
    assert report["model"]["psnr"] > report["bicubic"]["psnr"]
