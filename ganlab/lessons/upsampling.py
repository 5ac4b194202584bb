"""Upsampling by two in a generator: sub-pixel convolution, transposed convolution and ICNR.

**Sub-pixel convolution** (Shi et al. 2016), as ganlab's ``ConvGenerator`` does it: a k x k
convolution from ``C_in`` to ``4 C`` channels, then depth-to-space (``ganlab.core.nets``), which
moves channel group ``p = 2 i + j`` to the sub-pixel ``(i, j)`` of every 2x2 output block::

    y[2h + i, 2w + j, c] = sum_{a, b} sum_d x[h + a, w + b, d] K[a + r, b + r, d, (2i + j) C + c]

with ``a, b`` in ``-r..r`` (``r = k // 2``) and ``x = 0`` outside the image ("SAME" padding).

**Transposed convolution** with stride 2 (``nnx.ConvTranspose``, DCGAN's upsampling layer): every
input pixel adds a copy of a kernel ``S [2k, 2k, C_in, C]``, scaled by its value, to the output at
twice its position; neighbouring copies overlap and add::

    y[u, v, c] = sum_{h, w, d} x[h, w, d] S[u - 2h + 2r, v - 2w + 2r, d, c].

The two are the same linear map when ``S[i - 2a + 2r, j - 2b + 2r, d, c] = K[a + r, b + r, d,
(2i + j) C + c]``: each output phase ``(i, j)`` sees the same ``k x k`` input neighbourhood through
its own slice of ``S`` (:func:`transposed_kernel`; the padding is ``2r + 1`` on each side).

**Checkerboard artefacts.** The four phases have independent weights, so at a random
initialisation they respond differently even to a smooth input, and every 2x2 block repeats the
same pattern (Odena et al. 2016 for transposed convolutions; Aitken et al. 2017 for sub-pixel
ones). **ICNR** (Aitken et al. 2017, "Checkerboard artifact free sub-pixel convolution") draws one
kernel ``K0 [k, k, C_in, C]`` and copies it to all four phases: the layer is then ``conv(x, K0)``
followed by nearest-neighbour upsampling, with no checkerboard at all at initialisation; training
can untie the phases later. :func:`checkerboard` measures the share of an image's variation that
lies between its four sub-pixel phases.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
from flax import nnx

from ganlab.core.nets import ConvGenerator, depth_to_space

Initializer = Callable[..., jax.Array]
_NHWC = ("NHWC", "HWIO", "NHWC")
DEFAULT_INIT = nnx.initializers.lecun_normal()  # nnx.Conv's kernel initialiser


def icnr(init: Initializer = DEFAULT_INIT, factor: int = 2) -> Initializer:
    """An ICNR initialiser for the kernel ``[k, k, C_in, factor^2 C]`` of a sub-pixel conv.

    It draws ``K0 = init(key, [k, k, C_in, C])`` and repeats it for every sub-pixel phase
    (``K[..., p C + c] = K0[..., c]``, the channel order of ``depth_to_space``), so conv then
    depth-to-space equals ``conv(x, K0)`` upsampled by nearest neighbour. ``init`` defaults to
    ``nnx.Conv``'s own (LeCun normal: the fan-in, hence each weight's variance, is unchanged).
    Use it as ``nnx.Conv(..., kernel_init=icnr())``.

    References: Aitken et al. 2017, "Checkerboard artifact free sub-pixel convolution".
    """

    def initializer(key: jax.Array, shape, dtype=jnp.float32) -> jax.Array:
        *window, outputs = shape
        if outputs % factor**2:
            raise ValueError(f"a sub-pixel kernel needs a multiple of factor^2 = {factor**2} "
                             f"output channels (got shape {tuple(shape)})")
        phase = init(key, (*window, outputs // factor**2), dtype)
        return jnp.tile(phase, (1,) * len(window) + (factor**2,))

    return initializer


def subpixel_conv(x: jax.Array, kernel: jax.Array) -> jax.Array:
    """Sub-pixel upsampling by two: ``x [B, H, W, C_in]`` -> conv ("SAME", stride 1) with
    ``kernel [k, k, C_in, 4C]`` -> depth-to-space -> ``[B, 2H, 2W, C]`` (no bias)."""
    y = jax.lax.conv_general_dilated(x, kernel, (1, 1), "SAME", dimension_numbers=_NHWC)
    return depth_to_space(y, 2)


def transposed_kernel(kernel: jax.Array) -> jax.Array:
    """The stride-2 transposed-convolution kernel ``[2k, 2k, C_in, C]`` that computes the same
    map as the sub-pixel ``kernel [k, k, C_in, 4C]`` (``k`` odd).

    Builds the scatter kernel ``S[i - 2a + 2r, j - 2b + 2r] = K[a + r, b + r, :, phase (i, j)]``
    (module docstring) and returns it flipped in both spatial axes, the form that
    ``jax.lax.conv_transpose`` and ``nnx.ConvTranspose`` take (they correlate the input, dilated
    with zeros between its pixels, with their kernel).
    """
    k, k2, c_in, outputs = kernel.shape
    if k != k2 or k % 2 == 0 or outputs % 4:
        raise ValueError(f"expected a square, odd k x k kernel with 4C outputs "
                         f"(got {kernel.shape})")
    c = outputs // 4
    scatter = jnp.zeros((2 * k, 2 * k, c_in, c), kernel.dtype)
    for i in range(2):
        for j in range(2):
            phase = kernel[..., (2 * i + j) * c:(2 * i + j + 1) * c]  # [k, k, C_in, C]
            # tap a + r lands at row i - 2a + 2r: taps 2r, ..., 0 fill rows i, i + 2, ..., i + 4r
            scatter = scatter.at[i::2, j::2].set(phase[::-1, ::-1])
    return scatter[::-1, ::-1]


def transposed_padding(kernel_size: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """The explicit padding of the transposed conv that matches a "SAME" sub-pixel conv with a
    ``kernel_size`` (odd) kernel: ``2r + 1`` on every side, ``r = kernel_size // 2``."""
    pad = 2 * (kernel_size // 2) + 1
    return (pad, pad), (pad, pad)


def transposed_conv(x: jax.Array, kernel: jax.Array) -> jax.Array:
    """Stride-2 transposed conv of ``x [B, H, W, C_in]`` with a :func:`transposed_kernel`
    ``[2k, 2k, C_in, C]``, padded by :func:`transposed_padding`: ``[B, 2H, 2W, C]``."""
    padding = transposed_padding(kernel.shape[0] // 2)
    return jax.lax.conv_transpose(x, kernel, (2, 2), padding, dimension_numbers=_NHWC)


def nearest_upsample(x: jax.Array, factor: int = 2) -> jax.Array:
    """``[B, H, W, C] -> [B, fH, fW, C]``, each pixel repeated in an ``f x f`` block."""
    return jnp.repeat(jnp.repeat(x, factor, axis=1), factor, axis=2)


def checkerboard(images: jax.Array) -> jax.Array:
    """The share of each image's variation that lies between its four sub-pixel phases, ``[B]``.

    With ``P_ij = y[i::2, j::2]`` (``i, j`` in ``{0, 1}``) and ``M`` their mean (2x2 average
    pooling)::

        checkerboard(y) = sum_ij ||P_ij - M||^2 / ||y - mean(y)||^2,

    the mean taken per channel over the image. 0 for an image made of constant 2x2 blocks (a
    nearest-neighbour upsampling), 1 for a pure period-2 pattern such as ``(-1)^(row + col)``;
    for ``y = m + b (-1)^(row + col)`` with ``m`` constant on 2x2 blocks it is
    ``b^2 / (b^2 + var(m))``. An image with no variation at all scores 0. The numerator is
    computed from pairwise differences, ``sum_ij (P_ij - M)^2 = 1/4 sum_{pairs} (P - P')^2``,
    so four equal phases give exactly 0.
    """
    y = jnp.asarray(images, jnp.float32)
    if y.ndim != 4 or y.shape[1] % 2 or y.shape[2] % 2:
        raise ValueError(f"images must be [B, H, W, C] with even H and W (got {y.shape})")
    phases = [y[:, i::2, j::2] for i in range(2) for j in range(2)]
    between = sum(jnp.sum((phases[p] - phases[q]) ** 2, (1, 2, 3))
                  for p in range(4) for q in range(p + 1, 4)) / 4
    total = jnp.sum((y - y.mean((1, 2), keepdims=True)) ** 2, (1, 2, 3))
    return jnp.where(total > 0, between / jnp.where(total > 0, total, 1.0), 0.0)


def smooth_images(key: jax.Array, n: int, size: int, channels: int) -> jax.Array:
    """``[n, size, size, channels]`` smooth random inputs: N(0, 1) noise on a 3x3 grid, resized
    bilinearly (nothing in them repeats at period 2)."""
    coarse = jax.random.normal(key, (n, 3, 3, channels))
    return jax.image.resize(coarse, (n, size, size, channels), "bilinear")


def layer_checkerboard(seed: int, *, use_icnr: bool, c_in: int = 32, c_out: int = 16,
                       size: int = 8, n: int = 16) -> float:
    """The mean :func:`checkerboard` of one freshly initialised sub-pixel layer (a 3x3
    ``nnx.Conv`` to ``4 c_out`` channels, then depth-to-space) applied to smooth inputs: its
    default initialisation, or ICNR. ``seed`` sets both the weights and the inputs."""
    init_key, input_key = jax.random.split(jax.random.key(seed))
    kernel_init = icnr() if use_icnr else DEFAULT_INIT
    conv = nnx.Conv(c_in, 4 * c_out, (3, 3), kernel_init=kernel_init,
                    rngs=nnx.Rngs(params=init_key))
    y = depth_to_space(conv(smooth_images(input_key, n, size, c_in)), 2)
    return float(checkerboard(y).mean())


def with_icnr(generator: ConvGenerator, key: jax.Array) -> ConvGenerator:
    """A copy of a DCGAN ``generator`` whose two sub-pixel convs (``up1``, ``up2``) have fresh
    ICNR kernels and zero biases; everything else is kept."""
    generator = nnx.clone(generator)
    for layer, layer_key in zip((generator.up1, generator.up2), jax.random.split(key), strict=True):
        shape = layer.kernel[...].shape
        layer.kernel[...] = icnr()(layer_key, shape)
        layer.bias[...] = jnp.zeros_like(layer.bias[...])
    return generator


def generator_checkerboard(generator: ConvGenerator, z: jax.Array) -> tuple[float, float]:
    """The mean :func:`checkerboard` of ``generator``'s last upsampled feature map (after the
    second depth-to-space and its ReLU) and of its images, for latents ``z [B, latent_dim]``."""
    upsampled, images = _stage_checkerboards(generator, z)
    return float(upsampled), float(images)


@nnx.jit
def _stage_checkerboards(generator: ConvGenerator, z: jax.Array) -> tuple[jax.Array, jax.Array]:
    upsampled = None
    for name, x in generator.stages(z):
        if "depth-to-space" in name:  # the last one is the upsampling to full size
            upsampled = x
    if upsampled is None:
        raise ValueError("generator.stages shows no depth-to-space: not a sub-pixel generator")
    return checkerboard(upsampled).mean(), checkerboard(x).mean()
