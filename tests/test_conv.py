"""ganlab.core.conv: im2col gives XLA's convolution, its gradients and its second derivatives."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from ganlab.core import conv

# (batch, height, width, C_in, C_out, kernel, stride): the nets' shapes, and odd sizes whose
# SAME padding is uneven
SHAPES = [(3, 2, 2, 8, 16, 3, 1), (3, 4, 4, 8, 6, 4, 2), (2, 7, 7, 5, 4, 3, 1),
          (2, 7, 5, 3, 4, 4, 2), (2, 9, 9, 2, 3, 3, 2), (2, 8, 8, 1, 4, 4, 2)]
TOL = dict(rtol=1e-4, atol=1e-5)


def inputs(shape):
    batch, height, width, c_in, c_out, kernel, stride = shape
    kx, kw = jax.random.split(jax.random.key(0))
    return (jax.random.normal(kx, (batch, height, width, c_in)),
            jax.random.normal(kw, (kernel, kernel, c_in, c_out)) / kernel, stride)


def plain(x, w, stride):
    return jax.lax.conv_general_dilated(x, w, (stride, stride), "SAME",
                                        dimension_numbers=("NHWC", "HWIO", "NHWC"))


@pytest.mark.parametrize("shape", SHAPES)
def test_patches_equal_the_plain_convolution_and_its_gradients(shape):
    x, w, stride = inputs(shape)
    ours = conv.conv2d(x, w, stride, method="patches")
    np.testing.assert_allclose(ours, plain(x, w, stride), **TOL)
    dy = jax.random.normal(jax.random.key(1), ours.shape)
    for argnum in (0, 1):  # the input's gradient and the kernel's
        grad_ours = jax.grad(lambda *a: jnp.sum(conv.conv2d(*a, stride, method="patches") * dy),
                             argnum)(x, w)
        grad_plain = jax.grad(lambda *a: jnp.sum(plain(*a, stride) * dy), argnum)(x, w)
        np.testing.assert_allclose(grad_ours, grad_plain, **TOL)


@pytest.mark.parametrize("shape", SHAPES[:3])
def test_patches_second_derivative_matches_for_r1(shape):
    """R1 differentiates ||grad_x f(x)||^2 with respect to the weights: a double backward."""
    x, w, stride = inputs(shape)

    def r1(w, fn):
        grad_x = jax.grad(lambda x: jnp.sum(jax.nn.leaky_relu(fn(x, w, stride), 0.2) ** 2))(x)
        return jnp.sum(grad_x ** 2)

    patched = jax.grad(r1)(w, lambda *a: conv.conv2d(*a, method="patches"))
    np.testing.assert_allclose(patched, jax.grad(r1)(w, plain), rtol=1e-4, atol=1e-4)


def test_same_padding_is_xlas():
    assert conv.same_padding(8, 4, 2) == (1, 1)  # 8 -> 4: (4 - 1) 2 + 4 - 8 = 2 pixels
    assert conv.same_padding(7, 4, 2) == (1, 2)  # 7 -> 4: 3 pixels, the odd one after
    assert conv.same_padding(5, 3, 1) == (1, 1)
    assert conv.patches(jnp.zeros((2, 7, 5, 3)), 4, 2).shape == (2, 4, 3, 48)


def test_rule_uses_patches_only_for_small_outputs_of_one_model():
    on_cpu = jax.default_backend() == "cpu"
    assert conv.use_patches((64, 2, 2, 64), (3, 3, 64, 128), 1) == on_cpu
    assert conv.use_patches((128, 8, 8, 32), (4, 4, 32, 64), 2) == on_cpu  # -> 4x4
    assert not conv.use_patches((128, 14, 14, 32), (4, 4, 32, 64), 2)  # -> 7x7: XLA's
    assert not conv.use_patches((64, 14, 14, 32), (3, 3, 32, 64), 1)  # 196 pixels: XLA's
    assert not conv.use_patches((64, 8, 8, 1), (4, 4, 1, 32), 2)  # one input channel
    with conv.models_axis(8):  # a sweep of 8 GANs
        assert not conv.use_patches((64, 2, 2, 64), (3, 3, 64, 128), 1)
    with conv.models_axis(1):  # a sweep of one
        assert conv.use_patches((64, 2, 2, 64), (3, 3, 64, 128), 1) == on_cpu
    assert conv.use_patches((64, 2, 2, 64), (3, 3, 64, 128), 1) == on_cpu


def test_conv_layer_is_nnx_conv_with_the_same_parameters():
    ours = conv.Conv(4, 6, (3, 3), rngs=nnx.Rngs(0))
    theirs = nnx.Conv(4, 6, (3, 3), rngs=nnx.Rngs(0))
    assert jax.tree.map(jnp.shape, nnx.state(ours)) == jax.tree.map(jnp.shape, nnx.state(theirs))
    x = jax.random.normal(jax.random.key(2), (2, 2, 2, 4))  # 2x2: the im2col path on a CPU
    np.testing.assert_allclose(ours(x), theirs(x), **TOL)


def test_a_bad_method_is_named():
    with pytest.raises(ValueError, match="method must be 'auto', 'xla' or 'patches'"):
        conv.conv2d(jnp.zeros((1, 2, 2, 2)), jnp.zeros((3, 3, 2, 2)), method="fft")
