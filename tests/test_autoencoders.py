"""Autoencoder and VAE: the ELBO's pieces against hand-computed values, and short training runs."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from ganlab.lessons import autoencoders as ae


def tiny_images(n=64, seed=0):
    """``n`` 4x4 one-channel images in [-1, 1]: two bars, horizontal or vertical, plus noise."""
    rng = np.random.default_rng(seed)
    images = -np.ones((n, 4, 4, 1), np.float32)
    for i in range(n):
        if i % 2:
            images[i, 1, :, 0] = 1.0
        else:
            images[i, :, 2, 0] = 1.0
    return np.clip(images + 0.05 * rng.standard_normal(images.shape), -1, 1).astype(np.float32)


def test_kl_against_the_closed_form_by_hand():
    # KL(N(mu, s^2) || N(0, 1)) = (mu^2 + s^2 - 1 - log s^2) / 2, summed over dimensions.
    # mu = 1, s = 2: (1 + 4 - 1 - log 4) / 2 = 1.306852...;  mu = 0, s = 1: 0.
    mean = jnp.array([[1.0, 0.0]])
    log_var = jnp.log(jnp.array([[4.0, 1.0]]))
    assert math.isclose(float(ae.kl_standard_normal(mean, log_var)[0]),
                        (4 - math.log(4)) / 2, rel_tol=1e-6)
    assert float(ae.kl_standard_normal(jnp.zeros((3, 5)), jnp.zeros((3, 5)))[1]) == 0.0


def test_kl_matches_a_monte_carlo_estimate():
    mean, log_var = jnp.array([[0.5, -1.0]]), jnp.array([[-0.4, 0.6]])
    z = ae.reparameterize(jax.random.key(0), jnp.broadcast_to(mean, (200_000, 2)),
                          jnp.broadcast_to(log_var, (200_000, 2)))
    std = jnp.exp(0.5 * log_var)
    log_q = jnp.sum(-0.5 * ((z - mean) / std) ** 2 - jnp.log(std) - 0.5 * math.log(2 * math.pi),
                    -1)
    log_p = jnp.sum(-0.5 * z**2 - 0.5 * math.log(2 * math.pi), -1)
    estimate = float(jnp.mean(log_q - log_p))
    assert estimate == pytest.approx(float(ae.kl_standard_normal(mean, log_var)[0]), abs=0.01)


def test_reparameterize_has_the_right_moments_and_gradients():
    n = 100_000
    z = ae.reparameterize(jax.random.key(1), jnp.full((n, 1), 2.0), jnp.full((n, 1), math.log(9)))
    assert float(jnp.mean(z)) == pytest.approx(2.0, abs=0.03)
    assert float(jnp.std(z)) == pytest.approx(3.0, abs=0.03)
    # dz/dmean = 1 and dz/dlog_var = eps * exp(log_var / 2) / 2: gradients flow through the noise.
    key = jax.random.key(2)
    eps = jax.random.normal(key, (1, 1))
    g_mean, g_log_var = jax.grad(
        lambda m, lv: jnp.sum(ae.reparameterize(key, m, lv)), argnums=(0, 1)
    )(jnp.zeros((1, 1)), jnp.zeros((1, 1)))
    assert float(g_mean[0, 0]) == 1.0
    assert float(g_log_var[0, 0]) == pytest.approx(float(eps[0, 0]) / 2, rel=1e-5)


def test_gaussian_log_likelihood_by_hand():
    x = jnp.zeros((1, 2, 1, 1))
    mean = jnp.array([[[[0.1]], [[-0.2]]]])
    std = 0.5
    by_hand = -0.5 * ((0.1 / std) ** 2 + (0.2 / std) ** 2) - math.log(2 * math.pi * std**2)
    assert float(ae.gaussian_log_likelihood(x, mean, std)[0]) == pytest.approx(by_hand, rel=1e-6)


def test_elbo_is_likelihood_minus_kl_and_below_it():
    model = ae.VAE((4, 4, 1), latent_dim=3, width=16, rngs=nnx.Rngs(0))
    x, key = jnp.asarray(tiny_images(8)), jax.random.key(3)
    mean, log_var = model.encode(x)
    z = ae.reparameterize(key, mean, log_var)
    expected = ae.gaussian_log_likelihood(x, model.decode(z), 0.3) - ae.kl_standard_normal(
        mean, log_var)
    np.testing.assert_allclose(ae.elbo(model, x, key, 0.3), expected, rtol=1e-6)
    assert (ae.kl_standard_normal(mean, log_var) >= 0).all()


@pytest.mark.parametrize("kind", ae.KINDS)
def test_training_lowers_the_loss_and_is_reproducible(kind):
    images = tiny_images()
    fit = ae.train_autoencoder(images, kind, 300, latent_dim=2, width=32, batch_size=32,
                               lr=3e-3, seed=0)
    assert fit.history.shape == (300,) and np.isfinite(fit.history).all()
    assert fit.history[-20:].mean() < 0.5 * fit.history[:20].mean()
    assert float(ae.reconstruction_error(fit.model, jnp.asarray(images))) < 0.1
    again = ae.train_autoencoder(images, kind, 300, latent_dim=2, width=32, batch_size=32,
                                 lr=3e-3, seed=0)
    np.testing.assert_array_equal(fit.history, again.history)
    samples = ae.sample(fit.model, 10, images=images, seed=1)
    assert samples.shape == (10, 4, 4, 1) and np.abs(samples).max() <= 1.0
    np.testing.assert_array_equal(samples, ae.sample(fit.model, 10, images=images, seed=1))


def test_sampling_needs_the_right_model():
    model = ae.AutoEncoder((4, 4, 1), latent_dim=2, width=16, rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="no prior"):
        ae.sample(model, 4)
    with pytest.raises(ValueError, match="needs a VAE"):
        ae.sample_prior(model, 4)
    vae = ae.VAE((4, 4, 1), latent_dim=2, width=16, rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="plain AutoEncoder"):
        ae.sample_codes(vae, 4, tiny_images())


def test_bad_arguments_name_the_field():
    with pytest.raises(ValueError, match="kind must be one of"):
        ae.train_autoencoder(tiny_images(), "gan", 10)
    with pytest.raises(ValueError, match="lr must be > 0"):
        ae.train_autoencoder(tiny_images(), "ae", 10, lr=0.0)
    with pytest.raises(ValueError, match=r"steps must be a whole number >= 1 \(got 10.0\)"):
        ae.train_autoencoder(tiny_images(), "ae", 10.0)
    with pytest.raises(ValueError, match=r"images must have shape \[N, H, W, C\]"):
        ae.train_autoencoder(np.zeros((4, 16)), "ae", 10)


def test_sharpness_by_hand_and_blur_lowers_it():
    # One 3x3 image with a vertical edge: only the 2x2 top-left corner is measured;
    # dx = [1, 0] per row, dy = 0, so the mean |grad| over 4 pixels is (1 + 0 + 1 + 0) / 4.
    image = np.array([[0, 1, 1], [0, 1, 1], [0, 1, 1]], np.float64)[None, :, :, None]
    assert ae.sharpness(image) == pytest.approx(0.5)
    images = tiny_images()
    blurred = (images + np.roll(images, 1, 1) + np.roll(images, 1, 2)) / 3
    assert ae.sharpness(blurred) < ae.sharpness(images)
    assert ae.sharpness(np.zeros((2, 4, 4, 1))) == 0.0
