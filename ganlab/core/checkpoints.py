"""Save and load runs as one ``.npz`` file: arrays and a JSON header, no pickle, written atomically.

Layout of ``run.npz``: ``meta`` (JSON: format, config, step, data), ``state/<path>`` for every
leaf of the ``GANState`` (keys as raw key data) and ``history/<metric>``.
"""

from __future__ import annotations

import json
import zipfile
import zlib
from pathlib import Path

import jax
import numpy as np

from ganlab.core.config import GANConfig
from ganlab.core.data import IMAGE_SHAPES, ImageSpec, points
from ganlab.core.engine import METRICS
from ganlab.core.files import atomic_savez
from ganlab.core.gan import GAN, check_knobs

FORMAT = "ganlab-run-1"
FILENAME = "run.npz"
WEIGHT_LEAVES = ("generator/params/", "discriminator/params/", "g_ema/")


class CheckpointError(ValueError):
    """A checkpoint that cannot be read: missing, corrupt, truncated or from another model."""


def save_run(run, path: str | Path, *, optimizer: bool = True, compact: bool = False) -> Path:
    """Write ``run`` to ``path`` (a ``.npz`` file, or a directory that gets ``run.npz``).

    The write is atomic: a crash mid-write leaves any old file intact. ``optimizer=False``
    leaves out the optimizer's moments (two thirds of an Adam run's size): loading then starts
    the optimizer afresh, as shipped pretrained weights do. ``compact=True`` (implies
    ``optimizer=False``) keeps what sampling and fine-tuning need, for shipping: weights in
    float16, and of the generator only the moving average when there is one (training on from
    such a file starts from the averaged weights).
    """
    optimizer = optimizer and not compact
    path = Path(path)
    file = path if path.suffix == ".npz" else path / FILENAME
    file.parent.mkdir(parents=True, exist_ok=True)
    averaged = compact and run.state.g_ema is not None
    meta = {"format": FORMAT, "config": run.config.to_dict(), "step": run.step,
            "optimizer": optimizer, "raw_generator": not averaged}
    arrays = {"meta": np.asarray(json.dumps(meta))}
    for name, leaf in _leaves(run.state):
        if "/opt_state" in name and not optimizer:
            continue
        if averaged and name.startswith("generator/params/"):
            continue
        value = np.asarray(leaf)
        if compact and name.startswith(WEIGHT_LEAVES) and value.dtype == np.float32:
            value = value.astype(np.float16)  # relative error 5e-4: far below a GAN's noise
        arrays[f"state/{name}"] = value
    for name, values in run.history.items():
        arrays[f"history/{name}"] = np.asarray(values)
    if run.gan.data.name == "points":
        arrays["data/points"] = np.asarray(run.gan.data.centres)
        arrays["data/std"] = np.asarray(run.gan.data.std)
    return atomic_savez(file, arrays)


def save_params(path: str | Path, header: dict, params, extra: dict | None = None) -> Path:
    """Write a model's parameters as ``.npz``: ``meta`` (the JSON ``header``, which names its
    ``format``), ``params/<path>`` per leaf and any ``extra`` arrays; atomically, no pickle."""
    arrays = {"meta": np.asarray(json.dumps(header))}
    arrays.update({f"params/{name}": np.asarray(leaf) for name, leaf in _leaves(params)})
    arrays.update({name: np.asarray(value) for name, value in (extra or {}).items()})
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_savez(path, arrays)


def read_params(path: str | Path, fmt: str, template_of) -> tuple[dict, object, dict]:
    """``(header, params, arrays)`` of a file written by :func:`save_params`.

    ``template_of(header)`` gives the parameters' structure (e.g. ``nnx.state`` of an
    ``nnx.eval_shape``-made model); a wrong format, a bad header or a parameter of the wrong
    shape raises :class:`CheckpointError`.
    """
    arrays = read_npz(path)
    try:
        header = json.loads(str(arrays["meta"]))
        if header["format"] != fmt:
            raise CheckpointError(f"{path} has format {header['format']!r}, not {fmt!r}")
        template = template_of(header)
    except (KeyError, TypeError, ValueError, json.JSONDecodeError) as error:
        if isinstance(error, CheckpointError):
            raise
        raise CheckpointError(f"{path} has no valid {fmt} header ({error})") from error
    leaves = []
    for name, leaf in _leaves(template):
        value = arrays.get(f"params/{name}")
        if value is None or value.shape != leaf.shape:
            raise CheckpointError(f"{path} does not match its config at params/{name}")
        leaves.append(jax.numpy.asarray(value, leaf.dtype))
    return header, jax.tree.unflatten(jax.tree.structure(template), leaves), arrays


def read_npz(path: str | Path) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` file, checked (CRC) and without pickle; clear errors if not."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {name: npz[name] for name in npz.files}
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, KeyError) as error:
        raise CheckpointError(
            f"checkpoint {path} is corrupt or truncated ({type(error).__name__}: {error}); "
            "save it again, or retrain with `python -m ganlab train`"
        ) from error


def read_run(path: str | Path, data=None) -> tuple[GAN, object, dict]:
    """``(gan, state, history)`` of a run directory or its ``run.npz`` file (what
    ``ganlab.load_run`` makes a ``Run`` of).

    ``data`` replaces the data set named in the config (default: loaded by name).
    """
    path = Path(path)
    file = path / FILENAME if path.is_dir() else path
    arrays = read_npz(file)
    try:
        meta = json.loads(str(arrays["meta"]))
        if not isinstance(meta, dict):
            raise TypeError(f"the header is a JSON {type(meta).__name__}, not an object")
        if meta.get("format") != FORMAT:
            raise CheckpointError(f"{file} has format {meta.get('format')!r}, not {FORMAT!r}")
        config = GANConfig.from_dict(meta["config"])
    except (KeyError, json.JSONDecodeError, TypeError) as error:
        raise CheckpointError(
            f"{file} has no valid header ({error}); is it a ganlab run?") from error
    except CheckpointError:
        raise
    except ValueError as error:
        raise CheckpointError(f"{file} holds an invalid config: {error}") from error
    gan = GAN(config, data if data is not None else _data_for(config, arrays))
    template = jax.eval_shape(lambda: gan.init(0))
    fresh = None if meta.get("optimizer", True) else dict(_leaves(gan.init(0)))
    leaves = []
    for path_str, leaf in _leaves(template):
        name = f"state/{path_str}"
        if fresh is not None and "/opt_state" in name:
            leaves.append(_restore(leaf, np.asarray(fresh[path_str])))
            continue
        if not meta.get("raw_generator", True) and path_str.startswith("generator/params/"):
            name = name.replace("state/generator/params/", "state/g_ema/", 1)
        if name not in arrays:
            raise CheckpointError(f"{file} does not match its config: {name} is missing")
        value = arrays[name]
        expected = _stored_shape(leaf)
        if value.shape != expected:
            raise CheckpointError(
                f"{file} does not match its config: {name} has shape {value.shape}, "
                f"the model needs {expected}"
            )
        leaves.append(_restore(leaf, value))
    state = jax.tree.unflatten(jax.tree.structure(template), leaves)
    history = {name: arrays[f"history/{name}"] for name in METRICS if f"history/{name}" in arrays}
    _check_loaded(file, gan, state, history)
    return gan, state, history


def _check_loaded(file: Path, gan: GAN, state, history: dict) -> None:
    """What was read makes sense: finite weights, a step >= 0, valid knobs, and histories of
    one length, at most the step count (shipped runs keep only their last steps), plus the
    step that was not taken in a run saved after it diverged."""
    for name, leaf in _leaves((state.generator.params, state.discriminator.params,
                               state.g_ema)):
        if not np.isfinite(np.asarray(leaf)).all():
            raise CheckpointError(f"{file} holds NaN or infinite weights ({name}); it cannot "
                                  "be trained or sampled: retrain, or load an earlier save")
    step = int(state.step)
    if step < 0:
        raise CheckpointError(f"{file} says it is at step {step}; a step count is >= 0")
    try:
        check_knobs(gan.config, gan.k_d_max, gan.knobs(state))
    except ValueError as error:
        raise CheckpointError(f"{file} holds invalid hyperparameters: {error}") from error
    lengths = {name: np.shape(values) for name, values in history.items()}
    if len(set(lengths.values())) > 1 or any(len(s) != 1 or s[0] > step + 1
                                             for s in lengths.values()):
        raise CheckpointError(f"{file} has a history that does not fit its step {step} "
                              f"(lengths {lengths}); save it again")


def _data_for(config: GANConfig, arrays: dict):
    """The run's data: drawn points from the file; for an image set whose files are not here
    (and would need a download), its shape alone, so the generator still samples offline."""
    if config.data == "points":
        return points(arrays["data/points"], std=float(arrays["data/std"]))
    if config.data in IMAGE_SHAPES and config.data != "digits":
        from ganlab.core.images import is_available

        if not is_available(config.data):
            return ImageSpec(config.data, IMAGE_SHAPES[config.data], config.n_classes or 10)
    return None


def _leaves(state):
    flat, _ = jax.tree_util.tree_flatten_with_path(state)
    for path, leaf in flat:
        name = jax.tree_util.keystr(path, simple=True, separator="/")
        if jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key):
            leaf = jax.random.key_data(leaf) if isinstance(leaf, jax.Array) else leaf
        yield name, leaf


def _stored_shape(leaf) -> tuple[int, ...]:
    if jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key):
        return jax.eval_shape(jax.random.key_data, leaf).shape
    return tuple(leaf.shape)


def _restore(leaf, value: np.ndarray):
    if jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key):
        return jax.random.wrap_key_data(value)
    return jax.numpy.asarray(value, leaf.dtype)
