"""ganlab: a hands-on kit for learning generative adversarial networks in JupyterLab.

    run = ganlab.train("ring", steps=5000, seed=0)      # one GAN
    x = run.sample(1000)                                 # its samples, [1000, 2]
    print(ganlab.metrics.mode_report(x, run.gan.data))   # "8/8 modes covered, ..."
    many = ganlab.sweep("ring", 3000, lr_d=[1e-4, 1e-3], seeds=range(8))  # 16 GANs at once
"""

from ganlab import data, losses, metrics
from ganlab.checkpoints import CheckpointError, load_run
from ganlab.config import PRESETS, GANConfig, preset
from ganlab.runs import Run, SweepRun, sweep, train
from ganlab.training import GAN, GANState, Knobs, TrainingDiverged

__all__ = [
    "GAN", "CheckpointError", "GANConfig", "GANState", "Knobs", "PRESETS", "Run", "SweepRun",
    "TrainingDiverged", "data", "load_run", "losses", "metrics", "preset", "sweep", "train",
]
