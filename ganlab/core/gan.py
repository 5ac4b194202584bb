"""``GAN``: one recipe made real (data, ``Spec``) and a cache of the engine's compiled functions.

    gan = GAN(preset("ring"))
    state = gan.init(0)
    state, metrics = gan.step(state)            # engine.step, compiled
    state, history = gan.train(state, 1000)     # the one loop, ganlab.core.loop.advance
    x = gan.sample(state, 512, key=0)

Batched (``batched=True``): every state leaf leads with a models axis and every compiled
function maps over it (``jax.vmap``). ``gan.jit(fn)`` compiles any pure function of the
engine's form ``fn(spec, state, ...)`` the same way, once per ``GAN``. One exception: on one
CPU a batch of convolutional GANs trains one model after another, each with the single model's
compiled step (``one_by_one``): XLA:CPU's vmapped convolutions cost about 2x more per model
(bench/README.md), and each model of the sweep then equals the same GAN trained alone.
"""

from __future__ import annotations

from functools import partial, wraps

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from ganlab.core import conv, engine, hosts
from ganlab.core.config import GANConfig
from ganlab.core.data import Dataset, load
from ganlab.core.engine import METRICS, GANState, Knobs
from ganlab.core.loop import History, advance

SCAN_CHUNK = 500  # steps per compiled lax.scan on the fast path
STEP_CHUNK = 50  # steps between loop callbacks on the per-step path


class GAN:
    """A GAN recipe made real: data, networks and compiled steps for one ``GANConfig``.

    ``config`` holds what needs a recompile; the values of the live knobs (``Knobs``) that
    training reads are in each state (``config``'s are only the defaults ``init`` starts from).
    """

    def __init__(self, config: GANConfig, data: Dataset | None = None, *,
                 k_d_max: int | None = None, batched: bool = False):
        self.config = config
        self.data = load(config.data) if data is None else data
        check_data(config, self.data)
        self.spec = engine.make_spec(config, self.data, k_d_max or 1)
        self.k_d_max = self.spec.k_d_max
        self.latent = self.spec.latent
        self.tx = self.spec.tx
        self.batched = batched
        # Image sets go in as an argument: closed over, they would be compiled in as constants.
        self.arrays = hosts.replicated(self.data.device_arrays) if batched else \
            self.data.device_arrays
        # Rolled lax.scan of convolutions is 10-20x slower on XLA:CPU (jax #12868).
        self.scan = config.model == "mlp" or jax.default_backend() != "cpu"
        self.chunk = SCAN_CHUNK if self.scan else STEP_CHUNK
        self.one_by_one = batched and not self.scan and len(jax.devices()) == 1
        self._compiled: dict = {}
        self.generate = jax.jit(partial(engine.generate, self.spec))
        self.discriminate = jax.jit(partial(engine.discriminate, self.spec))

    def jit(self, fn, *, in_axes=(0,), static_argnums=()):
        """``fn(spec, state, *args)`` with the spec bound, vmapped over the models axis when
        batched (``in_axes`` for ``state, *args``, which are passed by position), and
        jit-compiled (``static_argnums`` count from ``state``); cached per function."""
        key = (fn, tuple(in_axes), tuple(static_argnums))
        if key not in self._compiled:
            bound = partial(fn, self.spec)
            if self.batched:
                bound = _over_models(jax.vmap(bound, in_axes=in_axes))
            self._compiled[key] = jax.jit(bound, static_argnums=static_argnums)
        return self._compiled[key]

    def compiled_count(self) -> int:
        """How many times this GAN's functions have been compiled (for tests: changing a
        live knob must not add any)."""
        return sum(fn._cache_size() for fn in self._compiled.values())

    # -- state ---------------------------------------------------------------------------------
    def init(self, key: jax.Array | int = 0, **knobs) -> GANState:
        """A fresh state from a key or seed; ``knobs`` override the config's hyperparameters
        (validated as the config's fields are).

        Batched: ``key`` is an array of keys ``[N]`` and each knob a scalar or an array ``[N]``.
        """
        key = jax.random.key(key) if isinstance(key, int) else key
        check_knobs(self.config, self.k_d_max, knobs)
        values = Knobs.from_config(self.config, **knobs)
        if self.batched:
            values = Knobs(*(jnp.broadcast_to(v, key.shape) for v in values))
        return self.jit(engine.init, in_axes=(0, 0))(key, values)

    def refresh_stats(self, state: GANState) -> GANState:
        """``state`` with the batch-norm statistics of its sampling weights measured afresh
        (``train`` does this at its end; after ``step`` call it before sampling)."""
        return state if state.g_stats is None else self.jit(engine.refresh_stats)(state)

    def reset_optimizers(self, state: GANState) -> GANState:
        """``state`` with fresh optimizer states (e.g. after switching Adam and SGD)."""
        if self.batched:
            return self.jit(engine.reset_optimizers)(state)
        return engine.reset_optimizers(self.spec, state)  # eager: the parameters stay as they are

    def sample(self, state: GANState, n: int, key: jax.Array | int = 0,
               labels: jax.Array | None = None) -> jax.Array:
        """``n`` samples from the generator (``[N, n, ...]`` if batched); same key, same samples."""
        key = jax.random.key(key) if isinstance(key, int) else key
        if labels is not None:
            labels = jnp.asarray(labels, jnp.int32)
        return self.jit(engine.sample, in_axes=(0, None, None, None),
                        static_argnums=(1,))(state, n, key, labels)

    def sampling_params(self, state: GANState) -> nnx.State:
        """What ``gan.generate(params, z)`` draws with (``engine.sampling_params``)."""
        return engine.sampling_params(state)

    def generator(self, state: GANState) -> nnx.Module:
        """The generator that samples come from, as an NNX module (a copy)."""
        return nnx.merge(self.spec.g_def, engine.sampling_params(state))

    def discriminator(self, state: GANState) -> nnx.Module:
        """The discriminator as an NNX module (a copy)."""
        return nnx.merge(self.spec.d_def, state.discriminator.params)

    def knobs(self, state: GANState) -> dict:
        """The live knob values of an unbatched state, as Python numbers (a float32 knob as
        the shortest decimal that is it: 2e-4, not 0.000199999994947)."""
        return {name: float(str(value)) if value.dtype == np.float32 else value.item()
                for name, value in ((k, np.asarray(v)) for k, v in state.knobs._asdict().items())}

    def current_config(self, state: GANState) -> GANConfig:
        """The recipe an unbatched state trains with: the config, with the state's knobs."""
        return self.config.replace(**self.knobs(state))

    # -- steps ---------------------------------------------------------------------------------
    def step(self, state: GANState) -> tuple[GANState, dict]:
        """One compiled training step (``engine.step``); returns the new state and its metrics.

        With batch norm in G, sampling statistics stay as they were: ``train`` measures them
        afresh at its end; after single steps call ``refresh_stats`` before sampling."""
        return self.jit(engine.step, in_axes=(0, None))(state, self.arrays)

    def chunks(self, steps: int) -> list[int]:
        """How the loop splits ``steps`` into compiled calls: full chunks, then tens, then ones,
        so that at most three scan lengths are ever compiled."""
        if not self.scan:
            return [self.chunk] * (steps // self.chunk) + ([steps % self.chunk] if steps %
                                                            self.chunk else [])
        sizes = []
        for size in (self.chunk, 10, 1):
            sizes += [size] * (steps // size)
            steps %= size
        return sizes

    def run_chunk(self, state: GANState, n: int) -> tuple[GANState, History]:
        """``n`` guarded steps (one ``lax.scan`` of length ``n``, or ``n`` compiled steps on
        the per-step path); the history comes back to the host as NumPy."""
        if self.scan:
            scan = self.jit(engine.scan_steps, in_axes=(0, None, None), static_argnums=(2,))
            state, metrics = scan(state, self.arrays, n)
            return state, History({k: hosts.to_host(metrics[k]) for k in METRICS})
        if self.one_by_one:
            return self._models_one_by_one(state, n)
        state, metrics = _steps(self.jit(engine.guarded_step, in_axes=(0, None)), state,
                                self.arrays, n)
        return state, History({k: hosts.to_host(v) for k, v in metrics.items()})

    def _models_one_by_one(self, state: GANState, n: int) -> tuple[GANState, History]:
        """``n`` guarded steps of each model of a batched state in turn, with the single
        model's compiled step (``one_by_one``)."""
        if "one_by_one" not in self._compiled:
            self._compiled["one_by_one"] = jax.jit(partial(engine.guarded_step, self.spec))
            self._compiled["unstack"] = jax.jit(
                lambda s: [jax.tree.map(lambda leaf, i=i: leaf[i], s)
                           for i in range(jax.tree.leaves(s)[0].shape[0])])
            self._compiled["stack"] = jax.jit(lambda ss: jax.tree.map(
                lambda *leaves: jnp.stack(leaves), *ss))
        guarded = self._compiled["one_by_one"]
        models, histories = [], []
        for model in self._compiled["unstack"](state):
            model, metrics = _steps(guarded, model, self.arrays, n)
            models.append(model)
            histories.append(metrics)
        return self._compiled["stack"](models), History(
            {k: hosts.to_host(jnp.stack([h[k] for h in histories])) for k in METRICS})

    def train(self, state: GANState, steps: int, *, progress: bool = True,
              callbacks=()) -> tuple[GANState, History]:
        """Train ``steps`` steps through the one loop (``ganlab.core.loop.advance``)."""
        return advance(self, state, steps, progress=progress, callbacks=callbacks)


def _steps(guarded, state: GANState, arrays, n: int) -> tuple[GANState, dict]:
    """``n`` calls of a compiled guarded step; each metric ``[..., n]`` (on the device)."""
    per_step = []
    for _ in range(n):
        state, metrics = guarded(state, arrays)
        per_step.append(metrics)
    return state, {k: jnp.stack([m[k] for m in per_step], -1) for k in METRICS}


def _over_models(fn):
    """``fn`` traced inside ``conv.models_axis``: its convolutions know how many models a vmap
    maps them over (the leading axis of the state, ``fn``'s first argument)."""
    @wraps(fn)
    def over_models(*args):
        with conv.models_axis(jax.tree.leaves(args[0])[0].shape[0]):
            return fn(*args)
    return over_models


def check_data(config: GANConfig, data) -> None:
    """The data fits the model: points for the MLP, H and W multiples of 4 for the DCGAN, and
    at least a batch of examples."""
    for attribute in ("shape", "n_classes", "device_arrays", "sample"):
        if not hasattr(data, attribute):
            hint = (" (wrap raw points with ganlab.data.points(xy))"
                    if isinstance(data, np.ndarray | list | tuple) else "")
            raise TypeError(f"data must be a ganlab data set (a Toy, an ImageSet or "
                            f"ganlab.data.points(xy)); got {type(data).__name__}{hint}")
    shape = tuple(data.shape)
    if config.model == "mlp" and shape != (2,):
        raise ValueError(f"the MLP GAN needs 2-D points of shape (2,); data has shape {shape}")
    if config.model == "dcgan" and (len(shape) != 3 or shape[0] % 4 or shape[1] % 4):
        raise ValueError(
            f"the DCGAN needs images [H, W, C] with H and W multiples of 4 (got {shape}); "
            "pad or resize the images, e.g. 28x28 or 8x8"
        )
    if config.n_classes and data.n_classes < config.n_classes:
        raise ValueError(f"n_classes is {config.n_classes} but data {config.data!r} has "
                         f"{data.n_classes} classes")
    size = len(data) if hasattr(data, "__len__") else None
    if size is not None and config.batch_size > size:
        raise ValueError(
            f"batch_size must be <= the number of examples ({size}) (got {config.batch_size})")


def check_knobs(config: GANConfig, k_d_max: int, knobs: dict) -> None:
    """Knob values, scalars or arrays of them, are valid as the config's fields would be."""
    unknown = set(knobs) - set(Knobs._fields)
    if unknown:
        raise ValueError(f"cannot set {sorted(unknown)} live; live knobs: {list(Knobs._fields)}")
    for name, values in knobs.items():
        for value in np.ravel(np.asarray(values)):
            value = value.item()
            if name == "k_d" and not (isinstance(value, int) and 1 <= value <= k_d_max):
                raise ValueError(f"k_d must be a whole number in [1, {k_d_max}] for this GAN "
                                 f"(got {value!r}); a larger k_d needs a GAN built for it")
            config.replace(**{name: value})  # the config's own checks name the field
