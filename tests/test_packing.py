"""PacGAN packing and the minibatch-std feature: shapes, hand-computed values, penalties on
packed inputs, per-point verdicts for plots, and pac = 1 leaving training exactly as it was."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import ganlab
from ganlab.core import engine, losses
from ganlab.core.nets import MLPDiscriminator, make_discriminator, minibatch_std, pack


def test_pack_puts_pac_consecutive_samples_side_by_side():
    x = jnp.arange(16.0).reshape(8, 2)
    packed = pack(x, 4)
    assert packed.shape == (2, 8)
    np.testing.assert_array_equal(packed[0], [0, 1, 2, 3, 4, 5, 6, 7])
    np.testing.assert_array_equal(packed[1], x[4:].reshape(-1))
    assert pack(x, 1) is x
    with pytest.raises(ValueError, match="cannot be packed 3 at a time"):
        pack(x, 3)


def test_minibatch_std_against_a_hand_computed_value():
    h = jnp.array([[0.0, 0.0], [2.0, 4.0], [1.0, 1.0], [1.0, 1.0]])
    # group 1: Var(0, 2) = 1, Var(0, 4) = 4 -> stds 1, 2 -> mean 1.5; group 2 collapsed -> ~0
    got = minibatch_std(h, 2)
    assert got.shape == (4, 1)
    np.testing.assert_allclose(got[:, 0], [1.5, 1.5, 1e-4, 1e-4], rtol=1e-5)
    # one group of 4: Var(0, 2, 1, 1) = 0.5, Var(0, 4, 1, 1) = 2.25 -> (sqrt(0.5) + 1.5) / 2
    np.testing.assert_allclose(minibatch_std(h, 4)[:, 0], (np.sqrt(0.5) + 1.5) / 2, rtol=1e-5)


def test_packed_discriminator_gives_one_logit_per_pack_and_per_point_when_alone():
    config = ganlab.preset("grid", pac=4, mbstd=2, batch_size=32)
    d = MLPDiscriminator(config, rngs=nnx.Rngs(0))
    x = jax.random.normal(jax.random.key(1), (16, 2))
    assert d(x).shape == (4,)
    assert d(x, alone=True).shape == (16,)
    # alone: the verdict on a batch of copies of the point (one pack of 4 copies, std ~0)
    copies = jnp.repeat(x[:1], 8, axis=0)
    np.testing.assert_allclose(d(copies), d(x[:1], alone=True)[0], atol=1e-3)


def test_pac_1_without_mbstd_is_the_plain_mlp_bit_for_bit():
    config = ganlab.preset("grid")
    d = MLPDiscriminator(config, rngs=nnx.Rngs(0))
    x = jax.random.normal(jax.random.key(1), (16, 2))
    np.testing.assert_array_equal(d(x), d.net(x)[:, 0])
    np.testing.assert_array_equal(d(x, alone=True), d.net(x)[:, 0])


def test_pac_1_training_is_the_same_as_before_packing():
    # Made with the engine before pac and mbstd existed (git ddac7f9), the same three steps, on
    # a CPU without AVX-512. Bit-identical there; a CPU with AVX-512 differs in the last bit
    # (7 of 8 numbers, by at most 6e-8), so the check is to float32 rounding, not to the bit.
    gan = ganlab.GAN(ganlab.preset("ring", batch_size=64, r1=0.5, gp=1.0))
    state = gan.init(0)
    for _ in range(3):
        state, metrics = gan.step(state)
    before = [[-0.044158145785331726, 0.1792670488357544],
              [-0.06232737749814987, 0.2697630226612091],
              [0.3476148843765259, 0.05018546059727669],
              [-0.03990144282579422, 0.10343494266271591]]
    np.testing.assert_allclose(np.asarray(gan.sample(state, 4, 1)), np.asarray(before, np.float32),
                               rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(float(metrics["d_loss"]), 2.0171220302581787, rtol=1e-6)


def test_penalties_take_the_gradient_with_respect_to_the_whole_pack():
    w = jnp.array([1.0, 2.0, 0.0, 2.0])  # a linear D on packs of two points: f = <w, pack>

    def disc(x, labels=None):
        return pack(x, 2) @ w

    real, fake = jnp.ones((6, 2)), jnp.zeros((6, 2))
    assert float(losses.r1_penalty(disc, real)) == pytest.approx(9.0)  # ||w||^2, per pack
    gp = losses.gradient_penalty(disc, real, fake, jax.random.key(0))
    assert float(gp) == pytest.approx((3.0 - 1.0) ** 2, rel=1e-5)


def test_bad_pac_and_mbstd_are_one_line_errors():
    with pytest.raises(ValueError, match=r"batch_size must be divisible by pac \(got "
                                         r"batch_size=250, pac=4\)") as info:
        ganlab.preset("grid", batch_size=250, pac=4)
    assert "\n" not in str(info.value)
    with pytest.raises(ValueError, match="pac must be an integer in"):
        ganlab.preset("grid", pac=0)
    with pytest.raises(ValueError, match="mbstd must be 0 or a group size"):
        ganlab.preset("grid", mbstd=1)
    with pytest.raises(ValueError, match="mbstd must be 0 or a group size"):
        ganlab.preset("grid", batch_size=64, pac=4, mbstd=32)
    with pytest.raises(ValueError, match="pac > 1 is for the MLP"):
        ganlab.preset("digits", pac=2)


def test_packed_training_steps_sweeps_and_plots():
    config = ganlab.preset("grid", batch_size=32, pac=2, mbstd=4, r1=1.0, gp=1.0)
    run = ganlab.sweep(config, 3, seeds=range(2), progress=False)
    assert run.sample(5).shape == (2, 5, 2) and np.isfinite(run.sample(5)).all()
    gan = ganlab.GAN(config)
    state, metrics = gan.step(gan.init(0))
    assert all(np.isfinite(float(v)) for v in metrics.values())
    plane = jnp.zeros((7, 2))
    assert gan.discriminate(state.discriminator.params, plane).shape == (7,)
    batch = engine.discriminate_batch(gan.spec, state.discriminator.params, jnp.zeros((8, 2)))
    assert batch.shape == (4,)


def test_dcgan_discriminator_with_minibatch_std():
    config = ganlab.preset("digits", mbstd=4)
    d = make_discriminator(config, (8, 8, 1), rngs=nnx.Rngs(0))
    x = jax.random.normal(jax.random.key(0), (8, 8, 8, 1))
    assert d(x).shape == (8,) and d(x, alone=True).shape == (8,)
    assert not np.allclose(d(x), d(x, alone=True))
