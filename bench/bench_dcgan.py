"""DCGAN training speed on 28x28 images: ganlab vs the same architecture in eager PyTorch.

The model is ``ganlab.preset("mnist")`` (batch 64, z of size 64, width 32, non-saturating
loss + the preset's R1 gamma, Adam 2e-4 beta1 0.5, the preset's moving average of G's weights).
G: dense -> 7x7x64, conv3x3 + pixel shuffle twice (ReLU), each followed by ``conv_extra``
3x3 convs, conv3x3 -> tanh. D: two 4x4 stride-2 convs with leaky ReLU 0.2, ``conv_extra`` 3x3
convs, then a linear logit. Without the MNIST files, random images of the same shape stand in
(speed does not depend on the pixels).

    .venv/bin/python bench/bench_dcgan.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import os

import jax
import torch
from stand_in import RandomImages
from timing import interleave, machine, ratios, table

import ganlab


def ganlab_gan(config: ganlab.GANConfig) -> ganlab.GAN:
    try:
        return ganlab.GAN(config)
    except (ImportError, OSError, ValueError) as error:
        print(f"MNIST not available ({type(error).__name__}: {error}); using random images")
        return ganlab.GAN(config, data=RandomImages())


class TorchDCGAN:
    """``ganlab.nets.ConvGenerator`` / ``ConvDiscriminator`` and the preset's step, in PyTorch."""

    def __init__(self, config: ganlab.GANConfig, seed: int = 0):
        torch.manual_seed(seed)
        nn, w = torch.nn, config.width

        def refine(channels, activation):  # conv_extra resolution-keeping 3x3 convs
            return [layer for _ in range(config.conv_extra)
                    for layer in (nn.Conv2d(channels, channels, 3, padding=1), activation)]

        self.config = config
        self.g = nn.Sequential(
            nn.Linear(config.latent_dim, 7 * 7 * 2 * w), nn.ReLU(), nn.Unflatten(1, (2 * w, 7, 7)),
            nn.Conv2d(2 * w, 4 * w, 3, padding=1), nn.PixelShuffle(2), nn.ReLU(),
            *refine(w, nn.ReLU()),
            nn.Conv2d(w, 4 * (w // 2), 3, padding=1), nn.PixelShuffle(2), nn.ReLU(),
            *refine(w // 2, nn.ReLU()),
            nn.Conv2d(w // 2, 1, 3, padding=1), nn.Tanh(),
        )
        self.d = nn.Sequential(
            nn.Conv2d(1, w, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(w, 2 * w, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
            *refine(2 * w, nn.LeakyReLU(0.2)),
            nn.Flatten(), nn.Linear(7 * 7 * 2 * w, 1),
        )
        self.g_average = [p.detach().clone() for p in self.g.parameters()]
        betas = (config.beta1, config.beta2)
        self.opt_g = torch.optim.Adam(self.g.parameters(), lr=config.lr_g, betas=betas)
        self.opt_d = torch.optim.Adam(self.d.parameters(), lr=config.lr_d, betas=betas)

    def step(self) -> None:
        cfg, batch, f = self.config, self.config.batch_size, torch.nn.functional
        real = (torch.rand(batch, 1, 28, 28) * 2 - 1).requires_grad_(cfg.r1 > 0)
        with torch.no_grad():
            fake = self.g(torch.randn(batch, cfg.latent_dim))
        logits = self.d(torch.cat([real, fake]))[:, 0]
        real_logits, fake_logits = logits[:batch], logits[batch:]
        d_loss = f.softplus(-real_logits).mean() + f.softplus(fake_logits).mean()
        if cfg.r1 > 0:  # ganlab's lax.cond skips R1 when gamma is 0
            (grad_x,) = torch.autograd.grad(real_logits.sum(), real, create_graph=True)
            d_loss = d_loss + 0.5 * cfg.r1 * grad_x.pow(2).flatten(1).sum(1).mean()
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        self.opt_d.step()
        g_loss = f.softplus(-self.d(self.g(torch.randn(batch, cfg.latent_dim)))[:, 0]).mean()
        grads = torch.autograd.grad(g_loss, list(self.g.parameters()))
        for p, g in zip(self.g.parameters(), grads):
            p.grad = g
        self.opt_g.step()
        if cfg.ema > 0:  # the moving average of G's weights that samples come from
            with torch.no_grad():
                torch._foreach_lerp_(self.g_average, list(self.g.parameters()), 1 - cfg.ema)

    def train(self, steps: int) -> int:
        for _ in range(steps):
            self.step()
        return steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=20, help="steps per timed call")
    parser.add_argument("--torch-threads", type=int, default=os.cpu_count() or 1,
                        help="1 is fairer on a busy machine: idle OpenMP threads spin")
    args = parser.parse_args()
    torch.set_num_threads(args.torch_threads)
    config = ganlab.preset("mnist")
    gan = ganlab_gan(config)
    box = {"state": gan.init(0)}
    box["state"], _ = gan.train(box["state"], 2, progress=False)  # compile

    def ganlab_case() -> int:
        box["state"], _ = gan.train(box["state"], args.steps, progress=False)
        jax.block_until_ready(box["state"])
        return args.steps

    reference = TorchDCGAN(config)
    reference.train(2)
    rates = interleave({"pytorch eager": lambda: reference.train(args.steps),
                        "ganlab": ganlab_case}, args.rounds)
    ratio = ratios(rates, "pytorch eager")
    print(f"DCGAN 28x28, batch {config.batch_size}, conv_extra {config.conv_extra}, "
          f"R1 {config.r1}, EMA {config.ema}, data {gan.data.name}; "
          f"jax backend {jax.default_backend()}; {machine()}; torch threads "
          f"{torch.get_num_threads()}")
    rows = [[name, f"{sorted(r)[len(r) // 2]:.1f}", f"{ratio[name]:.2f}x"]
            for name, r in rates.items()]
    print(table(["implementation", "steps/s (median)", "vs pytorch eager"], rows))


if __name__ == "__main__":
    main()
