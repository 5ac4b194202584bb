"""The command line: ``python -m ganlab train | sample | sketch | translate | lab``."""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import tempfile
from pathlib import Path

import numpy as np

from ganlab.core.config import (
    DEFAULT_STEPS,
    PRESETS,
    STEPS,
    GANConfig,
    default_steps,
    parse_field,
    preset,
)
from ganlab.core.validate import count

GRID_PAIRS = 64  # translate --out GRID.png shows at most this many sketch / translation pairs
IMAGES_HELP = ("a .npy file: [N, 28, 28, 1], [N, 28, 28], or one [28, 28(, 1)] image; values "
               "in [-1, 1] if any is < 0, else 0..255 if any is > 1, else [0, 1]")


def _config(name_or_file: str, overrides: list[str]) -> GANConfig:
    if name_or_file.endswith(".json"):
        config = GANConfig.from_dict(json.loads(Path(name_or_file).read_text()))
    else:
        config = preset(name_or_file)
    changes = _overrides(overrides)
    return config.replace(**changes) if changes else config


def _overrides(overrides: list[str]) -> dict:
    changes = {}
    for item in overrides:
        field, equals, text = item.partition("=")
        if not equals:
            raise ValueError(f"--set takes FIELD=VALUE, e.g. --set lr_d=0.0002 (got {item!r})")
        changes[field.strip()] = parse_field(field.strip(), text)
    return changes


def _train(args) -> int:
    """Train, saving whatever was trained: on success, on Ctrl-C or SIGTERM (after the chunk in
    progress) and on divergence (the last finite state); the destination is checked first."""
    from ganlab.core.checkpoints import FILENAME
    from ganlab.core.gan import GAN
    from ganlab.core.loop import TrainingDiverged
    from ganlab.core.runs import Run, load_run

    if args.steps is None:
        args.steps = default_steps(args.config)
    out = Path(args.out)
    file = out if out.suffix == ".npz" else out / FILENAME
    if file.exists() and args.resume:
        run = load_run(file)  # its own recipe; --set may change its live knobs
        if args.set:
            run.set(**_overrides(args.set))
    elif file.exists() and not args.overwrite:
        raise ValueError(f"{file} already holds a run (step {_saved_step(file)}); pass "
                         "--resume to continue it, --overwrite to replace it, or another --out")
    else:
        config = _config(args.config, args.set)
        gan = GAN(config)
        run = Run(gan, gan.init(args.seed))
    check_writable(file)
    start = run.step
    with interrupts_as_keyboard_interrupt():
        try:
            run.train(args.steps, progress=not args.quiet, doctor=True)
        except TrainingDiverged as error:
            path = run.save(out)
            print(f"error: {error}", file=sys.stderr)
            print(f"saved the last finite state (step {run.step}) to {path}", file=sys.stderr)
            return 3
    path = run.save(out)
    trained = run.step - start
    if trained < args.steps:
        print(f"interrupted: trained {trained} of {args.steps} steps (now at step {run.step}); "
              f"saved {path}. Continue with --resume.")
        return 130
    last = {k: float(np.nanmean(v[-100:])) for k, v in run.history.items()}
    print(f"trained {trained} steps of {args.config} (seed {args.seed}); at step {run.step}, "
          f"saved {path}")
    print("mean of the last 100 steps: " + ", ".join(f"{k}={v:.3f}" for k, v in last.items()))
    return 0


def _saved_step(file: Path) -> str:
    try:
        from ganlab.core.checkpoints import read_npz

        return str(json.loads(str(read_npz(file)["meta"]))["step"])
    except Exception:  # noqa: BLE001 - only for the message
        return "?"


def check_writable(file: Path) -> None:
    """Refuse, before any training, a destination that cannot be written."""
    folder = file.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise ValueError(f"cannot write to {folder} ({error.strerror or error}); choose "
                         "another --out") from error


@contextlib.contextmanager
def interrupts_as_keyboard_interrupt():
    """SIGTERM (a scheduler, ``timeout``, a closed terminal) handled like Ctrl-C: the loop
    finishes its chunk, returns what was trained, and it is saved."""
    def handler(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _sample(args) -> None:
    from ganlab.core.pretrained import open_run

    count("--n", args.n, 1)
    run = open_run(args.run)
    classes = run.config.n_classes
    if args.label is not None and not classes:
        raise ValueError(f"{args.run} is an unconditional generator: --label cannot apply "
                         "(sample without it, or use a conditional one, e.g. mnist_conditional)")
    if args.label is not None and not 0 <= args.label < classes:
        raise ValueError(f"--label must be in [0, {classes - 1}] for this {classes}-class "
                         f"model (got {args.label})")
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


def _read_images(path: str, shape: tuple[int, int, int]) -> tuple[np.ndarray, str]:
    """A .npy file of images or sketches as float32 ``[N, H, W, 1]`` in [-1, 1] (the range rule
    of :func:`~ganlab.tasks.inputs.to_signed_range`), and the range it was read as."""
    from ganlab.tasks.inputs import to_signed_range

    file = Path(path)
    if file.suffix != ".npy":
        raise ValueError(f"{path} is not a .npy file; save the array with np.save(\"x.npy\", a)")
    if not file.is_file():
        raise ValueError(f"no such file: {path}" if not file.exists() else f"{path} is a folder")
    with file.open("rb") as f:
        if f.read(6) != b"\x93NUMPY":
            raise ValueError(f"{path} is not a NumPy .npy file (no .npy header); write it with "
                             "np.save")
        f.seek(0)
        try:
            array = np.load(f, allow_pickle=False)
        except ValueError as error:
            if "Object arrays" in str(error):
                raise ValueError(f"{path} holds an object array (pickled), which is not loaded; "
                                 "save a numeric one, e.g. np.asarray(a, np.float32)") from None
            raise ValueError(f"cannot read {path}: {' '.join(str(error).split())}") from None
        except EOFError as error:
            raise ValueError(f"cannot read {path}: it is cut short ({error})") from None
    return to_signed_range(file.name, array, shape)


def _out(path: str, suffixes: tuple[str, ...]) -> Path:
    out = Path(path)
    if out.suffix not in suffixes:
        raise ValueError(f"--out must end in {' or '.join(suffixes)} (got {path})")
    if out.is_dir():
        raise ValueError(f"--out {path} is a folder; name a file in it")
    check_writable(out)
    return out


def _save_npy(out: Path, array: np.ndarray) -> None:
    from ganlab.core.files import atomic_write

    atomic_write(out, lambda f: np.save(f, array, allow_pickle=False))


def _data(name: str) -> str:
    from ganlab.tasks.translation import TRANSLATORS

    if name not in TRANSLATORS:
        raise ValueError(f"unknown translator {name!r}; the translators are "
                         f"{', '.join(TRANSLATORS)}")
    return TRANSLATORS[name]


def _sketch(args) -> None:
    from ganlab.core.data import IMAGE_SHAPES
    from ganlab.tasks.translation import LEVELS, sketch

    data = _data(args.translator)
    images, read_as = _read_images(args.images, IMAGE_SHAPES[data])
    out = _out(args.out, (".npy",))
    sketches = sketch(images, LEVELS[data])
    _save_npy(out, sketches)
    print(f"wrote {len(sketches)} sketches {list(sketches.shape)} (levels "
          f"{', '.join(map(str, LEVELS[data]))}, for {args.translator}) of {args.images} "
          f"(read as {read_as}) to {out}")


def _translate(args) -> None:
    from ganlab.core.data import IMAGE_SHAPES
    from ganlab.tasks.translation import load_pretrained_translator

    data = _data(args.name)
    sketches, read_as = _read_images(args.sketches, IMAGE_SHAPES[data])
    out = _out(args.out, (".npy", ".png"))
    images = load_pretrained_translator(args.name, args.l1).translate(sketches)
    which = f"{args.name}{' (L1 only)' if args.l1 else ''}"
    if out.suffix == ".npy":
        _save_npy(out, images)
        print(f"translated {len(images)} sketches (read as {read_as}) with {which}: wrote "
              f"images {list(images.shape)} in [-1, 1] to {out}")
        return
    from ganlab.ui.plots import save_image_grid

    n = min(len(images), GRID_PAIRS)
    pairs = np.stack([sketches[:n], images[:n]], 1).reshape(2 * n, *images.shape[1:])
    save_image_grid(pairs, out, ncols=2 * int(np.ceil(np.sqrt(n))))
    print(f"translated {len(images)} sketches (read as {read_as}) with {which}: wrote a grid of "
          f"{'the first ' if n < len(images) else ''}{n} sketch / translation pairs to {out}")


def _lab(args) -> int:
    from ganlab.launch import lab

    return lab(args.notebooks, args.port, args.lang)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ganlab", description=(
        "Train GANs, sample from them, translate sketches to images, open the lessons."))
    commands = parser.add_subparsers(dest="command", required=True)
    t = commands.add_parser("train", help="train a preset or a JSON config and save the run")
    t.add_argument("config", help=f"a preset ({', '.join(sorted(PRESETS))}) or a config .json")
    presets_steps = ", ".join(f"{name} {steps}" for name, steps in DEFAULT_STEPS.items())
    t.add_argument("--steps", type=int, default=None,
                   help=f"training steps (default {STEPS}; {presets_steps})")
    t.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    t.add_argument("--out", required=True, help="run directory, or a .npz file")
    t.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="override a config field, e.g. --set lr_d=0.0002 (repeatable)")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.add_argument("--resume", action="store_true",
                   help="continue the run saved at --out for --steps more steps")
    t.add_argument("--overwrite", action="store_true",
                   help="replace a run already saved at --out (default: refuse)")
    t.set_defaults(func=_train)
    s = commands.add_parser("sample", help="draw samples from a saved or pretrained run")
    s.add_argument("run", help="a run directory / .npz file, or a pretrained name")
    s.add_argument("--n", type=int, default=64, help="number of samples (default 64)")
    s.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    s.add_argument("--label", type=int, default=None, help="class label (conditional models)")
    s.add_argument("--out", required=True, help="FILE.npy (the array) or FILE.png (a picture)")
    s.set_defaults(func=_sample)
    k = commands.add_parser("sketch", help="line drawings of images, as a translator takes them")
    k.add_argument("images", help=IMAGES_HELP)
    k.add_argument("--out", required=True, help="SKETCHES.npy: [N, 28, 28, 1], +1 lines on -1")
    k.add_argument("--for", dest="translator", default="sketch2mnist", metavar="TRANSLATOR",
                   help="sketch2mnist (default; levels 0.5) or sketch2fashion (levels 0.1, 0.5)")
    k.set_defaults(func=_sketch)
    r = commands.add_parser("translate", help="images from sketches with a shipped translator")
    r.add_argument("name", help="sketch2mnist or sketch2fashion")
    r.add_argument("sketches", help="SKETCHES.npy from `ganlab sketch`, or drawings "
                   "(black and white), " + IMAGES_HELP.removeprefix("a .npy file: "))
    r.add_argument("--out", required=True, help="IMAGES.npy (the images, [N, 28, 28, 1] in "
                   "[-1, 1]) or GRID.png (each sketch left of its translation, rows of "
                   f"ceil(sqrt(N)) pairs; at most the first {GRID_PAIRS} pairs)")
    r.add_argument("--l1", action="store_true", help="the L1-only baseline (blurrier)")
    r.set_defaults(func=_translate)
    lab = commands.add_parser("lab", help="open the lessons in JupyterLab (127.0.0.1, a token)")
    lab.add_argument("--notebooks", default=None, help="the lessons' folder (default: found)")
    lab.add_argument("--port", type=int, default=8888, help="first port to try (default 8888)")
    lab.add_argument("--lang", choices=("en", "zh"), default="en",
                     help="the lessons' edition to open: en, or zh (简体中文, notebooks/zh/)")
    lab.set_defaults(func=_lab)
    args = parser.parse_args(argv)
    try:
        return args.func(args) or 0
    except (ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
