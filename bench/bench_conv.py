"""Convolution on CPU: XLA's against im2col (``ganlab.core.conv``), per layer and per whole step.

Part 1 times each layer shape of the digits and MNIST DCGANs (forward, then the gradients of
the input and the kernel) both ways. Part 2 times the whole training step of a preset with
``conv2d``'s rule (``auto``: im2col where ``use_patches`` says) against XLA's convolution
everywhere, the two GANs compiled in the same process and timed in alternation.

    .venv/bin/python bench/bench_conv.py [--rounds 5] [--presets digits mnist]
"""

from __future__ import annotations

import argparse
import contextlib
from unittest import mock

import jax
from stand_in import RandomImages
from timing import interleave, machine, ratios, table

import ganlab
from ganlab.core import conv

# (batch, size, C_in, C_out, kernel, stride): G's convs see 64 images, D's 128 (real and fake)
LAYERS = {
    "digits G up1 (2x2)": (64, 2, 64, 128, 3, 1),
    "digits G up2 (4x4)": (64, 4, 32, 64, 3, 1),
    "digits D conv2 (4x4 -> 2x2)": (128, 4, 32, 64, 4, 2),
    "mnist G up1 (7x7)": (64, 7, 64, 128, 3, 1),
    "mnist G up2 (14x14)": (64, 14, 32, 64, 3, 1),
    "mnist D conv2 (14x14 -> 7x7)": (128, 14, 32, 64, 4, 2),
}


def layer_case(shape: tuple[int, ...], method: str, repeats: int = 20):
    """A timed call: ``repeats`` x (forward + both gradients) of one conv shape by ``method``."""
    batch, size, c_in, c_out, kernel, stride = shape
    keys = jax.random.split(jax.random.key(0), 2)
    x = jax.random.normal(keys[0], (batch, size, size, c_in))
    w = 0.1 * jax.random.normal(keys[1], (kernel, kernel, c_in, c_out))

    @jax.jit
    def forward_backward(x, w):
        y, pull = jax.vjp(lambda x, w: conv.conv2d(x, w, stride, method=method), x, w)
        return y, pull(y)

    jax.block_until_ready(forward_backward(x, w))

    def case() -> int:
        for _ in range(repeats):
            out = forward_backward(x, w)
        jax.block_until_ready(out)
        return repeats
    return case


def step_case(name: str, rule: str, steps: int):
    """A timed call: ``steps`` training steps of preset ``name``; ``rule`` "xla" compiles the
    GAN with XLA's convolution everywhere, "auto" with ``conv2d``'s rule."""
    config = ganlab.preset(name)
    try:
        gan = ganlab.GAN(config)
    except (ImportError, OSError, ValueError):
        gan = ganlab.GAN(config, data=RandomImages())
    box = {"state": gan.init(0)}
    xla_only = mock.patch.object(conv, "use_patches", lambda *shapes: False)
    with xla_only if rule == "xla" else contextlib.nullcontext():
        box["state"], _ = gan.train(box["state"], 2, progress=False)  # traced and compiled here

    def case() -> int:
        box["state"], _ = gan.train(box["state"], steps, progress=False)
        jax.block_until_ready(box["state"])
        return steps
    return case


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--presets", nargs="+", default=["digits", "mnist"])
    args = parser.parse_args()
    print(f"jax {jax.__version__}, backend {jax.default_backend()}; {machine()}")
    rows = []
    for label, shape in LAYERS.items():
        rates = interleave({m: layer_case(shape, m) for m in ("xla", "patches")}, args.rounds)
        batch, size, c_in, c_out, kernel, stride = shape
        auto = conv.use_patches((batch, size, size, c_in), (kernel, kernel, c_in, c_out), stride)
        xla_ms = 1e3 / sorted(rates["xla"])[args.rounds // 2]
        rows.append([label, f"{xla_ms:.2f}", f"{ratios(rates, 'xla')['patches']:.2f}x",
                     "im2col" if auto else "xla"])
    print(table(["layer (forward + both gradients)", "xla ms", "im2col vs xla", "auto uses"],
                rows))
    rows = []
    for name in args.presets:
        steps = 100 if name == "digits" else 10
        rates = interleave({r: step_case(name, r, steps) for r in ("xla", "auto")}, args.rounds)
        rows.append([name, f"{1e3 / sorted(rates['xla'])[args.rounds // 2]:.1f}",
                     f"{1e3 / sorted(rates['auto'])[args.rounds // 2]:.1f}",
                     f"{ratios(rates, 'xla')['auto']:.2f}x"])
    print(table(["preset (GAN.train, one model)", "xla ms/step", "auto ms/step", "auto vs xla"],
                rows))


if __name__ == "__main__":
    main()
