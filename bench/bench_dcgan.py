"""DCGAN training speed on 28x28 images: ganlab vs the same architecture in eager PyTorch.

The model is ``ganlab.preset("mnist")`` (batch 64, z of size 64, width 32, non-saturating
loss + the preset's R1 gamma, Adam 2e-4 beta1 0.5, the preset's moving average of G's weights).
G: ``g_hidden`` dense units, dense -> 7x7x64, conv3x3 + pixel shuffle twice (ReLU), each
followed by ``conv_extra`` 3x3 convs, conv3x3 -> tanh; with ``g_batchnorm`` every hidden layer
is batch-normalised (no affine) before its ReLU. D: two 4x4 stride-2 convs with leaky ReLU 0.2,
``conv_extra`` 3x3 convs, then a linear logit, and with InfoGAN ``codes`` a linear Q head whose
cross-entropy on the code joins both players' losses. Without the MNIST files, random images
of the same shape stand in (speed does not depend on the pixels).

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
    """``ganlab.core.nets.ConvGenerator`` / ``ConvDiscriminator`` and the preset's step, in
    PyTorch."""

    def __init__(self, config: ganlab.GANConfig, seed: int = 0, device: str = "cpu"):
        torch.manual_seed(seed)
        self.device = device
        nn, w = torch.nn, config.width

        def refine(channels, activation):  # D's conv_extra resolution-keeping 3x3 convs
            return [layer for _ in range(config.conv_extra)
                    for layer in (nn.Conv2d(channels, channels, 3, padding=1), activation)]

        def norm(features, dims=2):  # g_batchnorm: batch statistics, no learned scale/shift
            if not config.g_batchnorm:
                return nn.Identity()
            kind = nn.BatchNorm1d if dims == 1 else nn.BatchNorm2d
            return kind(features, affine=False, track_running_stats=False)

        def g_refine(channels):  # G's conv_extra convs, each normalised before its ReLU
            return [layer for _ in range(config.conv_extra)
                    for layer in (nn.Conv2d(channels, channels, 3, padding=1), norm(channels),
                                  nn.ReLU())]

        self.config, start = config, 7 * 7 * 2 * w
        hidden = ([nn.Linear(config.latent_dim, config.g_hidden), norm(config.g_hidden, 1),
                   nn.ReLU()] if config.g_hidden else [])
        self.g = nn.Sequential(
            *hidden, nn.Linear(config.g_hidden or config.latent_dim, start), norm(start, 1),
            nn.ReLU(), nn.Unflatten(1, (2 * w, 7, 7)),
            nn.Conv2d(2 * w, 4 * w, 3, padding=1), nn.PixelShuffle(2), norm(w), nn.ReLU(),
            *g_refine(w),
            nn.Conv2d(w, 4 * (w // 2), 3, padding=1), nn.PixelShuffle(2), norm(w // 2), nn.ReLU(),
            *g_refine(w // 2),
            nn.Conv2d(w // 2, 1, 3, padding=1), nn.Tanh(),
        )
        self.d = nn.Sequential(
            nn.Conv2d(1, w, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(w, 2 * w, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
            *refine(2 * w, nn.LeakyReLU(0.2)), nn.Flatten(),
        )
        self.d_out = nn.Linear(7 * 7 * 2 * w, 1)
        self.d_code = nn.Linear(7 * 7 * 2 * w, config.codes) if config.codes else None  # Q head
        for module in (self.g, self.d, self.d_out, self.d_code):
            if module is not None:
                module.to(device)
        self.g_average = [p.detach().clone() for p in self.g.parameters()]
        betas = (config.beta1, config.beta2)
        self.opt_g = torch.optim.Adam(self.g.parameters(), lr=config.lr_g, betas=betas)
        d_params = [*self.d.parameters(), *self.d_out.parameters(),
                    *(self.d_code.parameters() if self.d_code else [])]
        self.opt_d = torch.optim.Adam(d_params, lr=config.lr_d, betas=betas)

    def latent(self, batch: int) -> torch.Tensor:
        """z: N(0, I), its first ``codes`` entries replaced by a uniform one-hot code."""
        z, k = torch.randn(batch, self.config.latent_dim, device=self.device), self.config.codes
        if k:
            codes = torch.randint(k, (batch,), device=self.device)
            z[:, :k] = torch.nn.functional.one_hot(codes, k).float()
        return z

    def discriminate(self, x: torch.Tensor, z: torch.Tensor | None = None):
        """D's logits, plus InfoGAN's loss on the codes in ``z`` (0 without codes)."""
        h = self.d(x)
        if self.d_code is None or z is None:
            return self.d_out(h)[:, 0], 0.0
        k = self.config.codes
        info = torch.nn.functional.cross_entropy(self.d_code(h[-len(z):]), z[:, :k].argmax(1))
        return self.d_out(h)[:, 0], self.config.info_weight * info

    def step(self) -> None:
        cfg, batch, f = self.config, self.config.batch_size, torch.nn.functional
        real = (torch.rand(batch, 1, 28, 28, device=self.device) * 2 - 1).requires_grad_(cfg.r1 > 0)
        z = self.latent(batch)
        with torch.no_grad():
            fake = self.g(z)
        logits, info = self.discriminate(torch.cat([real, fake]), z)
        real_logits, fake_logits = logits[:batch], logits[batch:]
        d_loss = f.softplus(-real_logits).mean() + f.softplus(fake_logits).mean() + info
        if cfg.r1 > 0:  # ganlab's lax.cond skips R1 when gamma is 0
            (grad_x,) = torch.autograd.grad(real_logits.sum(), real, create_graph=True)
            d_loss = d_loss + 0.5 * cfg.r1 * grad_x.pow(2).flatten(1).sum(1).mean()
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        self.opt_d.step()
        z = self.latent(batch)
        logits, info = self.discriminate(self.g(z), z)
        g_loss = f.softplus(-logits).mean() + info
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
        if self.device != "cpu":
            torch.cuda.synchronize()
        return steps


def compare(config: ganlab.GANConfig, rounds: int, steps: int, device: str = "cpu"):
    """Steps/s of ganlab (JAX's default device) and of PyTorch eager on ``device``, timed in
    alternation: ``(gan, rates, ratios against PyTorch)``."""
    gan = ganlab_gan(config)
    box = {"state": gan.init(0)}
    box["state"], _ = gan.train(box["state"], 2, progress=False)  # compile

    def ganlab_case() -> int:
        box["state"], _ = gan.train(box["state"], steps, progress=False)
        jax.block_until_ready(box["state"])
        return steps

    reference = TorchDCGAN(config, device=device)
    reference.train(2)
    rates = interleave({"pytorch eager": lambda: reference.train(steps),
                        "ganlab": ganlab_case}, rounds)
    return gan, rates, ratios(rates, "pytorch eager")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=20, help="steps per timed call")
    parser.add_argument("--torch-threads", type=int, default=os.cpu_count() or 1,
                        help="1 is fairer on a busy machine: idle OpenMP threads spin")
    args = parser.parse_args()
    torch.set_num_threads(args.torch_threads)
    config = ganlab.preset("mnist")
    gan, rates, ratio = compare(config, args.rounds, args.steps)
    print(f"DCGAN 28x28, batch {config.batch_size}, conv_extra {config.conv_extra}, "
          f"g_hidden {config.g_hidden}, g_batchnorm {config.g_batchnorm}, codes {config.codes}, "
          f"R1 {config.r1}, EMA {config.ema}, data {gan.data.name}; "
          f"jax backend {jax.default_backend()}; {machine()}; torch threads "
          f"{torch.get_num_threads()}")
    rows = [[name, f"{sorted(r)[len(r) // 2]:.1f}", f"{ratio[name]:.2f}x"]
            for name, r in rates.items()]
    print(table(["implementation", "steps/s (median)", "vs pytorch eager"], rows))


if __name__ == "__main__":
    main()
