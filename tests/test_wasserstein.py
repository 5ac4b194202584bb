"""Wasserstein GANs: W1 against hand values, weight clipping, RMSProp, the WGAN Dirac-GAN."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import ganlab
from ganlab.core import engine
from ganlab.lessons import dirac, theory, wasserstein

X = theory.grid(-12.0, 12.0, 8001)


def test_w1_of_1d_densities_is_the_distance_moved():
    assert np.isclose(theory.wasserstein_1d(theory.gaussian(X, 0, 1), theory.gaussian(X, 3, 1), X),
                      3.0, atol=1e-9)
    # Disjoint uniforms on [0, 1] and [2, 3]: every grain of mass moves 2.
    assert np.isclose(theory.wasserstein_1d(theory.uniform(X, 0, 1), theory.uniform(X, 2, 3), X),
                      2.0, atol=1e-3)
    # A point mass split in two: half stays, half moves 4 -> 2. Symmetric, zero on itself.
    p, q = theory.mixture(X, [0, 0], [0.1, 0.1]), theory.mixture(X, [0, 4], [0.1, 0.1])
    assert np.isclose(theory.wasserstein_1d(p, q, X), 2.0, atol=1e-6)
    assert np.isclose(theory.wasserstein_1d(q, p, X), theory.wasserstein_1d(p, q, X))
    assert theory.wasserstein_1d(p, p, X) == 0.0


def test_sample_w1_is_the_optimal_matching():
    x = np.array([[0.0, 0.0], [1.0, 0.0]])
    y = np.array([[1.0, 1.0], [0.0, 1.0]])  # best: (0,0)-(0,1), (1,0)-(1,1), each 1 away
    assert wasserstein.sample_w1(x, y) == pytest.approx(1.0)
    rng = np.random.default_rng(0)
    points = rng.normal(size=(50, 2))
    assert wasserstein.sample_w1(points, points[rng.permutation(50)]) == pytest.approx(0.0)
    assert wasserstein.sample_w1(points, points + [3.0, 4.0]) == pytest.approx(5.0)
    with pytest.raises(ValueError, match="one shape"):
        wasserstein.sample_w1(points, points[:10])


def test_weight_clipping_keeps_every_critic_parameter_in_range():
    gan = ganlab.GAN(ganlab.preset("ring", loss="wasserstein", clip_d=0.01, r1=0.0,
                                   optimizer="rmsprop", batch_size=64))
    state = gan.init(0)
    before = jax.tree.leaves(state.discriminator.params)
    assert max(float(jnp.abs(w).max()) for w in before) > 0.01
    new, _ = engine.d_update(gan.spec, state, jax.random.key(1), gan.spec.data.device_arrays)
    after = jax.tree.leaves(new.discriminator.params)
    assert max(float(jnp.abs(w).max()) for w in after) <= 0.01
    flat = np.concatenate([np.abs(np.ravel(w)) for w in after])
    assert (flat == np.float32(0.01)).mean() > 0.5  # one step pushes most weights to the bound
    unclipped = jax.tree.leaves(state.generator.params)
    assert max(float(jnp.abs(w).max()) for w in unclipped) > 0.01  # G is not clipped


def test_rmsprop_is_pytorchs_first_step():
    # nu = 0.01 g^2 after one step from 0, so the update g / sqrt(nu) is 10 sign(g).
    spec = ganlab.GAN(ganlab.preset("ring", optimizer="rmsprop")).spec
    g = {"w": jnp.array([0.5, -2.0, 1e-3])}
    updates, _ = spec.tx.update(g, spec.tx.init(g), g)
    assert np.allclose(updates["w"], 10 * np.sign(g["w"]), rtol=1e-4)


def test_clip_d_must_be_non_negative_and_not_with_spectral_norm():
    with pytest.raises(ValueError, match="clip_d must be >= 0"):
        ganlab.preset("ring", clip_d=-0.01)
    with pytest.raises(ValueError, match="choose one"):
        ganlab.preset("ring", clip_d=0.01, spectral_norm=True)


def test_wgan_dirac_gan_circles_and_clipping_only_shrinks_the_circle():
    assert np.allclose(dirac.eigenvalues(loss="wasserstein"), [1j, -1j], atol=1e-6)
    free = dirac.simulate((1.0, 1.0), 3000, 0.1, mode="alternating", loss="wasserstein")
    clipped = dirac.simulate((1.0, 1.0), 3000, 0.1, mode="alternating", loss="wasserstein",
                             clip=0.3)
    assert np.abs(clipped[1:, 1]).max() <= 0.3 + 1e-6  # psi stays in [-c, c]
    assert dirac.distance_to_equilibrium(free)[-500:].min() > 1.3
    tail = dirac.distance_to_equilibrium(clipped)[-500:]
    assert 0.25 < tail.min() and tail.max() < 0.4  # a circle of radius about c, not 0
    with pytest.raises(ValueError, match="clip must be >= 0"):
        dirac.simulate(clip=-1.0)


def test_critic_measurements_on_a_tiny_sweep():
    run = ganlab.sweep(wasserstein.CRITICS_ALONE["gradient penalty"], 5, seeds=(0, 1),
                       progress=False)
    real, fake = wasserstein.real_and_fake(run, (0, 1), n=64)
    assert real.shape == fake.shape == (2, 64, 2)
    values = wasserstein.critic_values(run, real)
    norms = wasserstein.critic_gradient_norms(run, real)
    assert values.shape == norms.shape == (2, 64) and np.isfinite(norms).all()
    one = run.run(1)  # model 1 alone: the same critic, the same gradients
    alone = jax.vmap(jax.grad(lambda x: one.gan.discriminate(
        one.state.discriminator.params, x[None])[0]))(jnp.asarray(real[1]))
    assert np.allclose(norms[1], np.linalg.norm(np.asarray(alone), axis=-1), rtol=1e-4)
    assert np.allclose(values[1], one.gan.discriminate(one.state.discriminator.params,
                                                       jnp.asarray(real[1])), rtol=1e-4)
