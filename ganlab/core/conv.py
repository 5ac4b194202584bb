"""2-D convolution for ganlab's nets: XLA's, or the same sum as one matrix product where that is
faster on a CPU.

A convolution with a ``k x k`` kernel ``W [k, k, C_in, C_out]``, stride ``s`` and SAME padding is

    y[b, i, j, o] = sum_{p, q, c} x_pad[b, s i + p, s j + q, c] W[p, q, c, o],

which is a matrix product once each output pixel's ``k x k x C_in`` patch is laid out as a row
(im2col): ``y = patches(x) @ W.reshape(k k C_in, C_out)``. On XLA:CPU that product (and its
gradients, by autodiff of pad, slice and dot) beats the convolution when the output is tiny:
measured on a 2-core AMD EPYC (``bench/bench_conv.py``), the digits DCGAN's whole step (outputs
of 2x2 and 4x4 pixels) went from 28.6 to 11.2 ms. From 7x7 up XLA's convolution wins the whole
step even where im2col wins the layer alone: the 28x28 MNIST steps were 1.17x (the ``mnist``
preset) and 1.25x (``mnist_live``) faster with XLA's convolution at 7x7 than with im2col there.
Over a models axis of more than one GAN (``jax.vmap``, see ``models_axis``) both are slow and
XLA's is kept; so a sweep of convolutional GANs on one CPU trains one model after another with
the single model's step (``GAN.one_by_one``) and only its one-off calls (init, sampling) are
vmapped.
"""

from __future__ import annotations

import contextlib
import contextvars

import jax
import jax.numpy as jnp
from flax import nnx

PATCHES_MAX_PIXELS = 16  # im2col when the output has at most 4x4 pixels (and C_in > 1)

_MODELS = contextvars.ContextVar("ganlab_models", default=1)


@contextlib.contextmanager
def models_axis(count: int):
    """While tracing inside this context, convolutions are vmapped over ``count`` GANs
    (``GAN(batched=True)``): for more than one, keep XLA's convolution, which im2col (a batched
    matrix product there) does not beat per step."""
    token = _MODELS.set(count)
    try:
        yield
    finally:
        _MODELS.reset(token)


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """XLA's SAME padding of one spatial axis: output ``ceil(size / stride)``, the total padding
    split with the odd pixel after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def patches(x: jax.Array, kernel: int, stride: int = 1) -> jax.Array:
    """``[B, H, W, C] -> [B, H', W', k k C]``: each output pixel's zero-padded ``k x k`` input
    patch, ordered (row, column, channel) as a kernel ``[k, k, C, O]`` reshaped to
    ``[k k C, O]``."""
    _, h, w, _ = x.shape
    (top, bottom), (left, right) = same_padding(h, kernel, stride), same_padding(w, kernel, stride)
    padded = jnp.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    oh, ow = -(-h // stride), -(-w // stride)
    return jnp.concatenate(
        [padded[:, p:p + (oh - 1) * stride + 1:stride, q:q + (ow - 1) * stride + 1:stride]
         for p in range(kernel) for q in range(kernel)], -1)


def use_patches(x_shape: tuple[int, ...], kernel_shape: tuple[int, ...], stride: int) -> bool:
    """The measured rule: im2col on a CPU, for one GAN (not a models axis of several), for
    outputs of at most ``PATCHES_MAX_PIXELS`` pixels from more than one input channel."""
    out_pixels = -(-x_shape[1] // stride) * -(-x_shape[2] // stride)
    return (jax.default_backend() == "cpu" and _MODELS.get() == 1
            and out_pixels <= PATCHES_MAX_PIXELS and kernel_shape[2] > 1)


def conv2d(x: jax.Array, kernel: jax.Array, stride: int = 1, *, method: str = "auto") -> jax.Array:
    """SAME-padded convolution of ``x [B, H, W, C_in]`` with ``kernel [k, k, C_in, C_out]``.

    ``method``: ``"xla"`` (``lax.conv_general_dilated``), ``"patches"`` (im2col and one matrix
    product) or ``"auto"`` (``use_patches``). Both give the same sum, to float32 rounding."""
    if method not in ("auto", "xla", "patches"):
        raise ValueError(f"method must be 'auto', 'xla' or 'patches' (got {method!r})")
    if method == "auto":
        method = "patches" if use_patches(x.shape, kernel.shape, stride) else "xla"
    if method == "patches":
        size, _, c_in, c_out = kernel.shape
        return patches(x, size, stride) @ kernel.reshape(size * size * c_in, c_out)
    return jax.lax.conv_general_dilated(x, kernel, (stride, stride), "SAME",
                                        dimension_numbers=("NHWC", "HWIO", "NHWC"))


class Conv(nnx.Conv):
    """``nnx.Conv`` (square kernel, one stride, SAME padding) computed by ``conv2d``; the same
    parameters, so checkpoints of either load into the other."""

    def weight(self) -> jax.Array:
        """The kernel the layer applies (a subclass may normalise it)."""
        return self.kernel[...]

    def __call__(self, x: jax.Array) -> jax.Array:
        stride = self.strides if isinstance(self.strides, int) else self.strides[0]
        y = conv2d(x, self.weight(), stride)
        return y if self.bias is None else y + self.bias[...].reshape(1, 1, 1, -1)
