"""Sub-pixel convolution, its transposed-convolution twin, ICNR and the checkerboard measure."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import ganlab
from ganlab.core import nets
from ganlab.lessons import upsampling


def _conv(x, kernel):
    return jax.lax.conv_general_dilated(x, kernel, (1, 1), "SAME",
                                        dimension_numbers=("NHWC", "HWIO", "NHWC"))


def test_checkerboard_of_hand_made_images():
    rows, cols = np.indices((4, 6))
    pattern = (-1.0) ** (rows + cols)  # a pure period-2 pattern
    blocks = np.kron(np.array([[1.0, -1.0, 1.0], [-1.0, 1.0, -1.0]]), np.ones((2, 2)))
    images = np.stack([pattern, blocks, blocks + 0.5 * pattern, 3 + 0 * pattern])[..., None]
    # pattern: all of its variation is between phases -> 1. Blocks: none -> 0.
    # blocks + b pattern (mean 0, var(m) = 1, b = 0.5): b^2 / (b^2 + 1) = 0.25 / 1.25 = 0.2.
    # A constant image has no variation: 0.
    np.testing.assert_allclose(upsampling.checkerboard(images), [1.0, 0.0, 0.2, 0.0], atol=1e-6)


def test_checkerboard_by_hand_on_one_block():
    # Blocks [[1, 2], [3, 6]] and [[5, 5], [5, 5]]. Between phases: the first block's mean is 3,
    # deviations -2, -1, 0, 3 -> 4 + 1 + 0 + 9 = 14; the second adds 0. Total: the image mean is
    # 32 / 8 = 4 -> 9 + 4 + 1 + 4 + 4 * 1 = 22. Share 14 / 22.
    image = np.array([[1.0, 2.0, 5.0, 5.0], [3.0, 6.0, 5.0, 5.0]])[None, :, :, None]
    np.testing.assert_allclose(upsampling.checkerboard(image), [14 / 22], rtol=1e-6)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_icnr_has_exactly_zero_checkerboard_at_init(seed):
    assert upsampling.layer_checkerboard(seed, use_icnr=True) == 0.0
    # ...because the layer is conv with one phase's kernel, then nearest-neighbour upsampling.
    kernel = upsampling.icnr()(jax.random.key(seed), (3, 3, 5, 4 * 3))
    x = jax.random.normal(jax.random.key(seed + 10), (2, 6, 7, 5))
    y = upsampling.subpixel_conv(x, kernel)
    np.testing.assert_allclose(y, upsampling.nearest_upsample(_conv(x, kernel[..., :3])),
                               rtol=1e-5, atol=1e-6)
    assert float(upsampling.checkerboard(y).max()) == 0.0


def test_default_init_has_a_checkerboard():
    # Four independent phases: most of the output's variation is between them (about 0.78).
    values = [upsampling.layer_checkerboard(seed, use_icnr=False) for seed in range(3)]
    assert min(values) > 0.6


@pytest.mark.parametrize("k", [3, 5])
def test_subpixel_conv_equals_transposed_conv(k):
    x = jax.random.normal(jax.random.key(0), (2, 5, 6, 3))
    kernel = jax.random.normal(jax.random.key(1), (k, k, 3, 4 * 2))
    subpixel = upsampling.subpixel_conv(x, kernel)
    transposed = upsampling.transposed_conv(x, upsampling.transposed_kernel(kernel))
    assert subpixel.shape == transposed.shape == (2, 10, 12, 2)
    np.testing.assert_allclose(subpixel, transposed, rtol=1e-5, atol=1e-5)


def test_nnx_conv_transpose_with_the_rearranged_kernel_is_the_same_layer():
    x = jax.random.normal(jax.random.key(2), (1, 4, 4, 3))
    kernel = jax.random.normal(jax.random.key(3), (3, 3, 3, 8))
    layer = nnx.ConvTranspose(3, 2, (6, 6), strides=(2, 2),
                              padding=upsampling.transposed_padding(3), use_bias=False,
                              rngs=nnx.Rngs(0))
    layer.kernel[...] = upsampling.transposed_kernel(kernel)
    np.testing.assert_allclose(layer(x), upsampling.subpixel_conv(x, kernel), rtol=1e-5,
                               atol=1e-5)


def test_transposed_kernel_by_hand():
    # One input and output channel, k = 3: phase (0, 0)'s tap (a, b) = (0, 0), the centre,
    # lands at scatter position (2r, 2r) = (2, 2), i.e. (3, 3) once flipped in a 6x6 kernel.
    kernel = np.zeros((3, 3, 1, 4), np.float32)
    kernel[1, 1, 0, 0] = 7.0
    flipped = np.asarray(upsampling.transposed_kernel(jnp.asarray(kernel)))
    assert flipped.shape == (6, 6, 1, 1)
    assert flipped[3, 3, 0, 0] == 7.0 and np.count_nonzero(flipped) == 1


def test_with_icnr_removes_the_generator_checkerboard_after_upsampling():
    config = ganlab.preset("digits")
    generator = nets.ConvGenerator(config, (8, 8, 1), rngs=nnx.Rngs(0))
    z = jax.random.normal(jax.random.key(1), (8, config.latent_dim))
    tied = upsampling.with_icnr(generator, jax.random.key(2))
    upsampled, _ = upsampling.generator_checkerboard(tied, z)
    assert upsampled == 0.0
    assert upsampling.generator_checkerboard(generator, z)[0] > 0.5
    np.testing.assert_array_equal(generator.dense.kernel[...], tied.dense.kernel[...])


def test_bad_shapes_are_explained():
    with pytest.raises(ValueError, match="multiple of factor"):
        upsampling.icnr()(jax.random.key(0), (3, 3, 2, 6))
    with pytest.raises(ValueError, match="even H and W"):
        upsampling.checkerboard(np.zeros((1, 3, 4, 1)))
    with pytest.raises(ValueError, match="odd"):
        upsampling.transposed_kernel(jnp.zeros((4, 4, 1, 4)))
