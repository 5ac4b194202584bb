"""2-D GAN training speed: ganlab (``GAN.train``, lax.scan chunks) vs the same GAN in PyTorch.

The model is ``ganlab.preset("ring")``: 3x64 ReLU MLPs for G and D, z of size 2, batch 256,
ring of 8 Gaussians, non-saturating loss + R1 (gamma 0.1), Adam(1e-4, beta1 0.5). The PyTorch
loop does the same maths per step: one D step (one pass over real and fake concatenated, R1
through ``torch.autograd.grad(create_graph=True)``), then one G step.

    .venv/bin/python bench/bench_2d.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import math
import os
import time

import jax
import torch
from timing import interleave, machine, ratios, table

import ganlab


def torch_mlp(in_dim: int, out_dim: int, width: int, depth: int) -> torch.nn.Sequential:
    layers, size = [], in_dim
    for _ in range(depth):
        layers += [torch.nn.Linear(size, width), torch.nn.ReLU()]
        size = width
    return torch.nn.Sequential(*layers, torch.nn.Linear(size, out_dim))


class TorchRingGAN:
    """The ring preset, step for step, in eager PyTorch."""

    def __init__(self, config: ganlab.GANConfig, seed: int = 0):
        torch.manual_seed(seed)
        self.config = config
        self.g = torch_mlp(config.latent_dim, 2, config.width, config.depth)
        self.d = torch_mlp(2, 1, config.width, config.depth)
        betas = (config.beta1, config.beta2)
        self.opt_g = torch.optim.Adam(self.g.parameters(), lr=config.lr_g, betas=betas)
        self.opt_d = torch.optim.Adam(self.d.parameters(), lr=config.lr_d, betas=betas)
        angle = 2 * math.pi * torch.arange(8) / 8
        self.modes = 2.0 * torch.stack([torch.cos(angle), torch.sin(angle)], 1)

    def real(self, n: int) -> torch.Tensor:
        index = torch.randint(0, len(self.modes), (n,))
        return self.modes[index] + 0.02 * torch.randn(n, 2)

    def step(self) -> tuple[float, float]:
        cfg, batch = self.config, self.config.batch_size
        f = torch.nn.functional
        # Discriminator: -E log D(x) - E log(1 - D(G(z))) + gamma/2 E ||grad_x D(x)||^2.
        real = self.real(batch).requires_grad_(cfg.r1 > 0)
        with torch.no_grad():
            fake = self.g(torch.randn(batch, cfg.latent_dim))
        logits = self.d(torch.cat([real, fake]))[:, 0]
        real_logits, fake_logits = logits[:batch], logits[batch:]
        d_loss = f.softplus(-real_logits).mean() + f.softplus(fake_logits).mean()
        if cfg.r1 > 0:  # ganlab's lax.cond skips R1 when gamma is 0
            (grad_x,) = torch.autograd.grad(real_logits.sum(), real, create_graph=True)
            d_loss = d_loss + 0.5 * cfg.r1 * grad_x.pow(2).sum(1).mean()
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        self.opt_d.step()
        # Generator (non-saturating): -E log D(G(z)); gradients for G's parameters only.
        g_loss = f.softplus(-self.d(self.g(torch.randn(batch, cfg.latent_dim)))[:, 0]).mean()
        grads = torch.autograd.grad(g_loss, list(self.g.parameters()))
        for p, g in zip(self.g.parameters(), grads):
            p.grad = g
        self.opt_g.step()
        return d_loss.detach(), g_loss.detach()

    def train(self, steps: int) -> int:
        for _ in range(steps):
            d_loss, g_loss = self.step()
        if not (math.isfinite(float(d_loss)) and math.isfinite(float(g_loss))):
            raise FloatingPointError("PyTorch reference diverged")
        return steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--jax-steps", type=int, default=1000, help="ganlab steps per round")
    parser.add_argument("--torch-steps", type=int, default=100, help="PyTorch steps per round")
    parser.add_argument("--torch-threads", type=int, default=os.cpu_count() or 1,
                        help="1 is fairer on a busy machine: idle OpenMP threads spin")
    args = parser.parse_args()
    torch.set_num_threads(args.torch_threads)
    config = ganlab.preset("ring")

    gan = ganlab.GAN(config)
    box = {"state": gan.init(0)}
    start = time.perf_counter()
    box["state"], _ = gan.train(box["state"], gan.chunk, progress=False)  # compile + warm up
    compile_s = time.perf_counter() - start

    def ganlab_case() -> int:
        box["state"], _ = gan.train(box["state"], args.jax_steps, progress=False)
        jax.block_until_ready(box["state"])
        return args.jax_steps

    reference = TorchRingGAN(config)
    reference.train(20)  # warm up
    rates = interleave({"pytorch": lambda: reference.train(args.torch_steps),
                        "ganlab": ganlab_case}, args.rounds)
    ratio = ratios(rates, "pytorch")
    print(f"2-D ring GAN, batch {config.batch_size}, R1 {config.r1}; {machine()}; torch threads "
          f"{torch.get_num_threads()}; ganlab compile + first chunk {compile_s:.1f} s")
    rows = [[name, f"{sorted(r)[len(r) // 2]:.0f}", f"{ratio[name]:.2f}x"]
            for name, r in rates.items()]
    print(table(["implementation", "steps/s (median)", "vs pytorch (median of rounds)"], rows))


if __name__ == "__main__":
    main()
