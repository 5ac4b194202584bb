"""One sweep over several processes or hosts: JAX's multi-controller runtime.

Every process runs the same program (``ganlab.sweep(...)`` with the same arguments). After
``initialize``, ``jax.devices()`` lists the devices of all processes; a sweep splits its models
axis over all of them (``models_sharding``), each process computing its own models' steps, and
what comes back to Python (histories, samples) is gathered from all processes (``to_host``)::

    # on each of 2 machines (or twice on one), with its own process id
    import ganlab
    ganlab.hosts.initialize("10.0.0.1:4321", num_processes=2, process_id=0)
    runs = ganlab.sweep("ring", 5000, seeds=range(4096))   # 2048 GANs per process

With one process (the default) nothing here changes anything.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import Mesh, NamedSharding, PartitionSpec


def initialize(coordinator: str, num_processes: int, process_id: int) -> None:
    """Join the processes of one sweep: ``coordinator`` is ``host:port`` of process 0 (every
    process gives the same one), ``process_id`` this one's number in ``[0, num_processes)``.
    Call it before anything else touches JAX. On CPUs the processes talk over gloo."""
    if not 0 <= process_id < num_processes:
        raise ValueError(f"process_id must be in [0, {num_processes}) (got {process_id})")
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(coordinator, num_processes=num_processes, process_id=process_id)


def models_sharding(n_models: int) -> NamedSharding | None:
    """The models axis split evenly over every process's devices, or None where there is one
    device or ``n_models`` does not divide evenly over them."""
    devices = jax.devices()
    if len(devices) < 2 or n_models % len(devices):
        if jax.process_count() > 1:
            raise ValueError(f"a sweep over {jax.process_count()} processes needs a number of "
                             f"models divisible by their {len(devices)} devices (got "
                             f"{n_models}); add or drop seeds")
        return None
    return NamedSharding(Mesh(np.asarray(devices), ("models",)), PartitionSpec("models"))


def spread(tree, sharding: NamedSharding):
    """The same values on every process (``tree``'s leaves), as global arrays laid out by
    ``sharding``: each process keeps only its own part."""
    if jax.process_count() == 1:
        return jax.device_put(tree, sharding)

    def one(leaf):
        if jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key):
            data = one(jax.random.key_data(leaf))
            return jax.random.wrap_key_data(data, impl=jax.random.key_impl(leaf))
        host = np.asarray(leaf)
        return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])
    return jax.tree.map(one, tree)


def replicated(tree):
    """``tree`` on every device of every process (the data arrays a sweep's steps read)."""
    if jax.process_count() == 1 or tree is None:
        return tree
    mesh = Mesh(np.asarray(jax.devices()), ("models",))
    return spread(tree, NamedSharding(mesh, PartitionSpec()))


def gather(tree):
    """``tree`` with every leaf held in parts by several processes made whole in this one (a
    sweep's state, to take one model out of it)."""
    def one(leaf):
        if not isinstance(leaf, jax.Array) or leaf.is_fully_addressable:
            return leaf
        if jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key):
            data = jnp.asarray(to_host(jax.random.key_data(leaf)))
            return jax.random.wrap_key_data(data, impl=jax.random.key_impl(leaf))
        return jnp.asarray(to_host(leaf))
    return jax.tree.map(one, tree)


def to_host(x) -> np.ndarray:
    """``x`` as a NumPy array in this process, gathered from every process that holds a part."""
    if isinstance(x, jax.Array) and not x.is_fully_addressable:
        return np.asarray(multihost_utils.process_allgather(x, tiled=True))
    return np.asarray(x)
