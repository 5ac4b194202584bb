"""The command line: ``python -m ganlab train ...`` and ``python -m ganlab sample ...``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from ganlab.core.config import PRESETS, GANConfig, preset


def _config(name_or_file: str, overrides: list[str]) -> GANConfig:
    if name_or_file.endswith(".json"):
        config = GANConfig.from_dict(json.loads(Path(name_or_file).read_text()))
    else:
        config = preset(name_or_file)
    changes = {}
    for item in overrides:
        field, _, text = item.partition("=")
        if not _:
            raise ValueError(f"--set takes FIELD=VALUE (got {item!r})")
        try:
            changes[field] = json.loads(text)  # numbers, true / false
        except json.JSONDecodeError:
            changes[field] = text  # names such as hinge or tanh
    return config.replace(**changes) if changes else config


def _train(args) -> None:
    from ganlab.core.runs import train

    config = _config(args.config, args.set)
    run = train(config, args.steps, seed=args.seed, progress=not args.quiet)
    path = run.save(args.out)
    last = {k: float(v[-100:].mean()) for k, v in run.history.items()}
    print(f"trained {args.steps} steps of {args.config} (seed {args.seed}); saved {path}")
    print("mean of the last 100 steps: " + ", ".join(f"{k}={v:.3f}" for k, v in last.items()))


def _sample(args) -> None:
    from ganlab.core.pretrained import open_run

    run = open_run(args.run)
    labels = None if args.label is None else np.full(args.n, args.label)
    samples = run.sample(args.n, seed=args.seed, labels=labels)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".npy":
        np.save(out, samples, allow_pickle=False)
    elif out.suffix == ".png":
        if samples.ndim == 4:
            from ganlab.ui.plots import save_image_grid

            save_image_grid(samples, out)
        else:
            from ganlab.ui.plots import save_points

            save_points(samples, run.gan.data, out)
    else:
        raise ValueError(f"--out must end in .npy or .png (got {out})")
    print(f"wrote {args.n} samples of shape {samples.shape[1:]} to {out}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ganlab", description="Train GANs and sample from them.")
    commands = parser.add_subparsers(dest="command", required=True)
    t = commands.add_parser("train", help="train a preset or a JSON config and save the run")
    t.add_argument("config", help=f"a preset ({', '.join(sorted(PRESETS))}) or a config .json")
    t.add_argument("--steps", type=int, default=20000, help="training steps (default 20000)")
    t.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    t.add_argument("--out", required=True, help="run directory, or a .npz file")
    t.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="override a config field, e.g. --set lr_d=0.0002 (repeatable)")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.set_defaults(func=_train)
    s = commands.add_parser("sample", help="draw samples from a saved or pretrained run")
    s.add_argument("run", help="a run directory / .npz file, or a pretrained name")
    s.add_argument("--n", type=int, default=64, help="number of samples (default 64)")
    s.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    s.add_argument("--label", type=int, default=None, help="class label (conditional models)")
    s.add_argument("--out", required=True, help="FILE.npy (the array) or FILE.png (a picture)")
    s.set_defaults(func=_sample)
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except (ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0
