"""One sweep over two processes (JAX's multi-controller runtime on 127.0.0.1): every model
equals the same model trained alone in one process."""

import os
import socket
import subprocess
import sys

import numpy as np
import pytest

import ganlab
from ganlab.core import hosts

WORKER = """
import sys
import numpy as np
import ganlab
ganlab.hosts.initialize(sys.argv[1], num_processes=2, process_id=int(sys.argv[2]))
import jax
assert jax.process_count() == 2 and len(jax.devices()) == 2, jax.devices()
run = ganlab.sweep("ring", {steps}, seeds=range(4), progress=False)
local = [s.data.shape for s in run.state.step.addressable_shards]
assert local == [(2,)], local  # each process holds 2 of the 4 models
np.savez(sys.argv[3], samples=run.sample(200, seed=1), d_loss=run.history["d_loss"],
         step=ganlab.hosts.to_host(run.state.step), last=run.run(3).sample(200, seed=1))
"""
STEPS = 30  # as in tests/test_training.py: over more steps rounding grows chaotically


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_sweep_over_two_processes_trains_each_model_as_alone(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER.format(steps=STEPS))
    address = f"127.0.0.1:{free_port()}"
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    workers = [subprocess.Popen([sys.executable, str(script), address, str(i),
                                 str(tmp_path / f"out{i}.npz")], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
               for i in range(2)]
    for worker in workers:
        out, _ = worker.communicate(timeout=300)
        assert worker.returncode == 0, out[-3000:]
    both = [np.load(tmp_path / f"out{i}.npz") for i in range(2)]
    for name in ("samples", "d_loss", "step"):  # both processes see every model's results
        np.testing.assert_array_equal(both[0][name], both[1][name])
    assert both[0]["step"].tolist() == [STEPS] * 4
    # one model taken out of the sweep (its parts gathered) samples as it did inside it
    np.testing.assert_allclose(both[1]["last"], both[1]["samples"][3], rtol=1e-5, atol=1e-6)
    for seed in range(4):
        alone = ganlab.train("ring", STEPS, seed=seed, progress=False)
        np.testing.assert_allclose(both[0]["d_loss"][seed], alone.history["d_loss"], rtol=1e-3)
        np.testing.assert_allclose(both[0]["samples"][seed], alone.sample(200, seed=1),
                                   rtol=1e-3, atol=1e-4)


def test_one_process_is_unchanged():
    assert hosts.to_host([1, 2]).tolist() == [1, 2]
    assert hosts.replicated(None) is None
    assert hosts.models_sharding(3) is None or len(hosts.jax.devices()) > 1


def test_a_bad_process_id_is_named():
    with pytest.raises(ValueError, match=r"process_id must be in \[0, 2\) \(got 2\)"):
        hosts.initialize("127.0.0.1:1", num_processes=2, process_id=2)
