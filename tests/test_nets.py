"""Generators and discriminators: shapes, conditioning, spectral norm, no ConvTranspose."""


from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import ganlab
from ganlab.core import nets
from ganlab.core.images import ImageSet


def tiny_images(n=64, size=8, classes=10):
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (n, size, size, 1)).astype(np.float32)
    return ImageSet("tiny", images, (np.arange(n) % classes).astype(np.int32),
                    tuple(str(i) for i in range(classes)))


@pytest.mark.parametrize("size, n_classes", [(8, 0), (28, 0), (28, 10)])
def test_dcgan_shapes_and_range(size, n_classes):
    config = ganlab.GANConfig(data="mnist", model="dcgan", latent_dim=16, width=8,
                              n_classes=n_classes, batch_size=4)
    rngs = nnx.Rngs(0)
    g = nets.make_generator(config, (size, size, 1), rngs=rngs)
    d = nets.make_discriminator(config, (size, size, 1), rngs=rngs)
    labels = jnp.arange(4) if n_classes else None
    x = g(jax.random.normal(jax.random.key(0), (4, 16)), labels)
    assert x.shape == (4, size, size, 1) and float(jnp.abs(x).max()) <= 1
    assert d(x, labels).shape == (4,)


def test_conditional_generator_and_projection_discriminator_use_the_label():
    config = ganlab.GANConfig(data="mnist", model="dcgan", latent_dim=16, width=8, n_classes=10)
    g = nets.ConvGenerator(config, (28, 28, 1), rngs=nnx.Rngs(0))
    d = nets.ConvDiscriminator(config, (28, 28, 1), rngs=nnx.Rngs(1))
    z = jnp.repeat(jax.random.normal(jax.random.key(0), (1, 16)), 2, 0)
    x = g(z, jnp.array([3, 7]))
    assert not np.allclose(x[0], x[1])  # same z, different label, different image
    logits = d(jnp.repeat(x[:1], 2, 0), jnp.array([3, 7]))
    assert not np.isclose(logits[0], logits[1])


def test_mlp_width_depth_activation():
    config = ganlab.preset("ring", width=16, depth=4, activation="tanh")
    g = nets.MLPGenerator(config, rngs=nnx.Rngs(0))
    assert len(g.net.hidden) == 4 and g.net.hidden[0].kernel.shape == (2, 16)
    assert g(jnp.zeros((5, 2))).shape == (5, 2)
    d = nets.MLPDiscriminator(config, rngs=nnx.Rngs(0))
    assert d(jnp.zeros((5, 2))).shape == (5,)


def test_d_width_widens_the_discriminator_only():
    config = ganlab.GANConfig(data="mnist", model="dcgan", latent_dim=16, width=8, d_width=24)
    g = nets.make_generator(config, (28, 28, 1), rngs=nnx.Rngs(0))
    d = nets.make_discriminator(config, (28, 28, 1), rngs=nnx.Rngs(0))
    assert d.conv1.kernel.shape == (4, 4, 1, 24) and d.conv2.kernel.shape == (4, 4, 24, 48)
    assert g.up1.kernel.shape == (3, 3, 16, 32)  # the generator keeps width 8
    same = nets.make_discriminator(config.replace(d_width=0), (28, 28, 1), rngs=nnx.Rngs(0))
    assert same.conv1.kernel.shape == (4, 4, 1, 8)  # 0: as wide as the generator
    mlp = nets.make_discriminator(ganlab.GANConfig(width=16, d_width=32), (2,), rngs=nnx.Rngs(0))
    assert mlp.net.out.kernel.shape == (32, 1)


def test_conv_extra_adds_resolution_keeping_layers_to_both_players():
    config = ganlab.GANConfig(data="mnist", model="dcgan", latent_dim=16, width=8, conv_extra=2,
                              spectral_norm=True)
    g = nets.make_generator(config, (28, 28, 1), rngs=nnx.Rngs(0))
    d = nets.make_discriminator(config, (28, 28, 1), rngs=nnx.Rngs(0))
    assert [layer.kernel.shape for layer in g.refine1] == [(3, 3, 8, 8)] * 2  # at 14x14
    assert [layer.kernel.shape for layer in g.refine2] == [(3, 3, 4, 4)] * 2  # at 28x28
    assert [layer.kernel.shape for layer in d.refine] == [(3, 3, 16, 16)] * 2  # at 7x7
    assert all(isinstance(layer, nets.SpectralConv) for layer in d.refine)
    x = g(jax.random.normal(jax.random.key(0), (3, 16)))
    assert x.shape == (3, 28, 28, 1) and d(x).shape == (3,)
    plain = ganlab.GANConfig(data="mnist", model="dcgan", latent_dim=16, width=8)
    g0 = nets.make_generator(plain, (28, 28, 1), rngs=nnx.Rngs(0))
    def count(module):
        return sum(p.size for p in jax.tree.leaves(nnx.state(module, nnx.Param)))

    assert count(g) == count(g0) + 2 * (9 * 8 * 8 + 8) + 2 * (9 * 4 * 4 + 4)


def test_spectral_normalize_gives_unit_top_singular_value():
    kernel = jax.random.normal(jax.random.key(0), (3, 3, 8, 16)) * 3.0
    normalized = nets.spectral_normalize(kernel, iterations=30)
    sigma = np.linalg.svd(np.asarray(normalized).reshape(-1, 16), compute_uv=False)[0]
    assert sigma == pytest.approx(1.0, rel=1e-3)


def test_spectral_norm_discriminator_is_1_lipschitz_per_layer():
    config = ganlab.preset("ring", spectral_norm=True, width=32)
    d = nets.MLPDiscriminator(config, rngs=nnx.Rngs(0))
    assert isinstance(d.net.out, nets.SpectralLinear)
    x = jax.random.normal(jax.random.key(1), (256, 2))
    grads = jax.vmap(jax.grad(lambda x: d(x[None])[0]))(x)
    # ReLU layers of norm <= 1 (power iteration: within a few %) compose to a slope <= ~1.
    assert float(jnp.linalg.norm(grads, axis=1).max()) <= 1.05


def test_depth_to_space_is_the_pixel_shuffle():
    x = jnp.arange(2 * 1 * 1 * 8).reshape(2, 1, 1, 8)
    y = nets.depth_to_space(x)
    assert y.shape == (2, 2, 2, 2)
    np.testing.assert_array_equal(y[0, :, :, 0], [[0, 2], [4, 6]])


def test_no_conv_transpose_anywhere():
    # ConvTranspose is 2-5x slower on XLA:CPU (jax #23783): the package upsamples by sub-pixel.
    package = Path(ganlab.__file__).parent
    for module in package.glob("*.py"):
        assert "ConvTranspose(" not in module.read_text(), module.name
        assert "conv_transpose(" not in module.read_text(), module.name


def test_dcgan_and_conditional_train_on_images():
    data = tiny_images()
    for n_classes in (0, 10):
        config = ganlab.GANConfig(data="digits", model="dcgan", latent_dim=8, width=8,
                                  batch_size=16, n_classes=n_classes)
        run = ganlab.Run(ganlab.GAN(config, data), ganlab.GAN(config, data).init(0))
        run.train(6, progress=False)
        assert np.isfinite(run.history["d_loss"]).all() and run.step == 6
        samples = run.sample(5, labels=[1, 2, 3, 4, 5] if n_classes else None)
        assert samples.shape == (5, 8, 8, 1)


def test_wrong_shapes_and_batch_are_clear_errors():
    with pytest.raises(ValueError, match=r"batch_size must be <= the number of examples \(64\)"):
        ganlab.GAN(ganlab.GANConfig(data="digits", model="dcgan", batch_size=65), tiny_images())
    with pytest.raises(ValueError, match="H and W multiples of 4"):
        ganlab.GAN(ganlab.GANConfig(data="digits", model="dcgan", batch_size=8),
                   tiny_images(size=10))
    with pytest.raises(ValueError, match="the MLP GAN needs 2-D points"):
        ganlab.GAN(ganlab.preset("ring"), tiny_images())


def test_batch_norm_uses_batch_statistics_in_training_and_recorded_ones_for_sampling():
    x = jax.random.normal(jax.random.key(0), (64, 5, 5, 3)) * jnp.array([[[[1.0, 2, 5]]]]) + 3
    norm = nets.use_batch_stats(nets.BatchNorm(3), True)
    y = norm(x)  # training: each channel over batch and positions -> mean 0, variance 1
    np.testing.assert_allclose(y.mean((0, 1, 2)), 0, atol=1e-5)
    np.testing.assert_allclose(y.var((0, 1, 2)), 1, atol=1e-3)
    np.testing.assert_allclose(norm.mean[...], x.mean((0, 1, 2)), rtol=1e-5)  # recorded
    np.testing.assert_allclose(norm.var[...], x.var((0, 1, 2)), rtol=1e-5)
    nets.use_batch_stats(norm, False)  # sampling: (x - recorded mean) / recorded std, per item
    one = norm(x[:1])
    np.testing.assert_allclose(one, y[:1], atol=1e-5)
    np.testing.assert_allclose(
        one, (x[:1] - x.mean((0, 1, 2), keepdims=True)) / x.std((0, 1, 2), keepdims=True),
        atol=1e-3)


def test_g_hidden_and_g_batchnorm_build_tf_gans_mnist_generator_shape():
    config = ganlab.GANConfig(data="mnist", model="dcgan", latent_dim=16, width=8, conv_extra=1,
                              g_hidden=32, g_batchnorm=True)
    g = nets.make_generator(config, (28, 28, 1), rngs=nnx.Rngs(0))
    assert g.hidden.kernel.shape == (16, 32) and g.dense.kernel.shape == (32, 7 * 7 * 16)
    # one normalisation per hidden layer: hidden, dense, up1, refine1, up2, refine2
    assert [n.mean.shape[0] for n in g.norms] == [32, 7 * 7 * 16, 8, 8, 4, 4]
    assert not jax.tree.leaves(nnx.state(g.norms, nnx.Param))  # statistics, not weights
    z = jax.random.normal(jax.random.key(1), (3, 16))
    stages = list(g.stages(z))
    assert [x.shape for _, x in stages][:2] == [(3, 32), (3, 7, 7, 16)]
    np.testing.assert_array_equal(stages[-1][1], g(z))  # the stages are the forward pass
    assert all("batch norm" in name for name, _ in stages[:-1])
    plain = nets.make_generator(config.replace(g_hidden=0, g_batchnorm=False), (28, 28, 1),
                                rngs=nnx.Rngs(0))
    assert plain.hidden is None and plain.norms is None
    with pytest.raises(ValueError, match="g_hidden must be"):
        config.replace(g_hidden=-1)


def test_infogan_discriminator_has_a_code_head_beside_its_logit():
    config = ganlab.GANConfig(data="mnist", model="dcgan", latent_dim=16, width=8, codes=10)
    d = nets.make_discriminator(config, (28, 28, 1), rngs=nnx.Rngs(0))
    x = jax.random.normal(jax.random.key(0), (3, 28, 28, 1))
    logit, code_logits = d.logits_and_codes(x)
    assert code_logits.shape == (3, 10)
    np.testing.assert_array_equal(logit, d(x))
    plain = nets.make_discriminator(config.replace(codes=0), (28, 28, 1), rngs=nnx.Rngs(0))
    assert plain.logits_and_codes(x)[1] is None
