import jax
import numpy as np
import pytest

from ganlab import data


def test_ring_has_8_modes_of_radius_2_and_std_002():
    ring = data.toy("ring")
    assert ring.modes.shape == (8, 2)
    np.testing.assert_allclose(np.linalg.norm(ring.modes, axis=1), 2.0)
    assert ring.std == 0.02
    x = data.sample_points(ring, 20000, seed=0)
    distance = np.linalg.norm(x[:, None] - ring.modes[None], axis=-1)
    nearest = distance.argmin(1)
    assert np.bincount(nearest, minlength=8).min() > 2000  # every mode sampled, evenly
    assert abs(distance.min(1).std() - 0.02 * np.sqrt(2 - np.pi / 2)) < 0.003  # Rayleigh radius


def test_grid_has_25_modes():
    grid = data.toy("grid")
    assert grid.modes.shape == (25, 2)
    assert len(np.unique(grid.modes[:, 0])) == 5


@pytest.mark.parametrize("name", ["ring", "grid", "moons", "spiral", "line", "two_gaussians"])
def test_every_toy_samples_near_its_modes_and_is_seeded(name):
    toy = data.toy(name)
    x = data.sample_points(toy, 4000, seed=3)
    assert x.shape == (4000, 2) and np.isfinite(x).all()
    np.testing.assert_array_equal(x, data.sample_points(toy, 4000, seed=3))
    assert not np.array_equal(x, data.sample_points(toy, 4000, seed=4))
    distance = np.linalg.norm(x[:, None] - toy.modes[None], axis=-1).min(1)
    assert (distance < 3 * toy.std).mean() > 0.95  # real data is (almost all) high quality
    x0, x1, y0, y1 = toy.bounds()
    assert (x[:, 0] > x0).all() and (x[:, 0] < x1).all() and (x[:, 1] > y0).all()


def test_sample_is_jittable():
    ring = data.toy("ring")
    x, labels = jax.jit(ring.sample, static_argnums=1)(jax.random.key(0), 16)
    assert x.shape == (16, 2) and labels is None


def test_user_points():
    toy = data.points([[0, 0], [1, 0], [0, 1]], std=0.05)
    assert toy.modes.shape == (3, 2)
    x = data.sample_points(toy, 3000)
    assert np.linalg.norm(x[:, None] - toy.modes[None], axis=-1).min(1).max() < 0.4
    many = data.points(np.random.default_rng(0).normal(size=(200, 2)), max_modes=16)
    assert many.modes.shape == (16, 2) and many.centres.shape == (200, 2)
    with pytest.raises(ValueError, match=r"points must be an array of shape \[n, 2\]"):
        data.points([1, 2, 3])


def test_unknown_toy_and_latent():
    with pytest.raises(ValueError, match="unknown toy 'donut'"):
        data.toy("donut")
    with pytest.raises(ValueError, match="latent must be 'gaussian' or 'uniform'"):
        data.latent_sampler("cauchy", 2)
    z = data.latent_sampler("uniform", 3)(jax.random.key(0), 1000)
    assert z.shape == (1000, 3) and float(abs(z).max()) <= 1.0


def test_latent_with_codes_starts_with_a_uniform_one_hot_code():
    sample = data.latent_sampler("gaussian", 12, codes=4)
    z = np.asarray(sample(jax.random.key(0), 4000))
    assert z.shape == (4000, 12)
    code = z[:, :4]
    assert set(np.unique(code)) == {0.0, 1.0} and (code.sum(1) == 1).all()
    np.testing.assert_allclose(np.bincount(code.argmax(1)) / 4000, 0.25, atol=0.03)
    assert abs(z[:, 4:].std() - 1) < 0.05  # the rest stays N(0, I)
    np.testing.assert_array_equal(sample(jax.random.key(0), 4000), z)
