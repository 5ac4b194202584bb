"""ganlab: a hands-on kit for learning generative adversarial networks in JupyterLab.

    run = ganlab.train("ring", steps=5000, seed=0)      # one GAN
    x = run.sample(1000)                                 # its samples, [1000, 2]
    print(ganlab.metrics.mode_report(x, run.gan.data))   # "8/8 modes covered, ..."
    many = ganlab.sweep("ring", 3000, lr_d=[1e-4, 1e-3], seeds=range(8))  # 16 GANs at once

The package in layers (each may import only the ones above it):

- ``ganlab.core``: config, data sets, networks, losses, the engine's pure functions
  (``engine``), their compiled cache (``gan.GAN``), the one training loop (``loop``), runs and
  sweeps (``hosts``: one sweep over several processes), the training doctor (``doctor``:
  names D winning, mode collapse, oscillation, divergence), checkpoints and files. NumPy, JAX,
  Flax and Optax only: no widgets, no plots.
- ``ganlab.tasks``: what a trained generator is used for: classifiers and quality scores,
  latent sampling, image completion, super-resolution.
- ``ganlab.lessons``: the lessons' own maths (theory curves, the Dirac-GAN, autoencoders) and
  their training claims (``claims``: recipe, measure, test; shared with tests/test_claims.py).
- ``ganlab.ui``: plots, widgets and the playground (matplotlib, ipywidgets).
- ``ganlab.cli``: the command line, ``python -m ganlab``.
"""

from ganlab.core import compile_cache, data, doctor, hosts, losses, metrics
from ganlab.core.checkpoints import CheckpointError
from ganlab.core.config import PRESETS, GANConfig, preset
from ganlab.core.engine import GANState, Knobs
from ganlab.core.gan import GAN
from ganlab.core.loop import History, TrainingDiverged
from ganlab.core.runs import Run, SweepRun, load_run, sweep, train

compile_cache.enable()

__all__ = [
    "GAN", "CheckpointError", "GANConfig", "GANState", "History", "Knobs", "PRESETS", "Run",
    "SweepRun", "TrainingDiverged", "data", "doctor", "hosts", "load_run", "losses", "metrics",
    "preset", "sweep", "train",
]
