"""JAX's persistent compilation cache: where it goes, who wins, and that bad entries never break."""

import json
import os
import subprocess
import sys
import zlib
from pathlib import Path

import jax
import numpy as np
import pytest

from ganlab.core import compile_cache

MODULE_FILE = Path(compile_cache.__file__)
_CONFIG = (
    "jax_compilation_cache_dir",
    "jax_enable_compilation_cache",
    "jax_persistent_cache_min_compile_time_secs",
    "jax_persistent_cache_min_entry_size_bytes",
)


@pytest.fixture
def clean_jax_config(monkeypatch):
    """No cache folder chosen by anyone; the JAX config this test changes is restored after."""
    saved = {name: getattr(jax.config, name) for name in _CONFIG}
    for var in ("GANLAB_JAX_CACHE", "JAX_COMPILATION_CACHE_DIR", "XDG_CACHE_HOME"):
        monkeypatch.delenv(var, raising=False)
    jax.config.update("jax_compilation_cache_dir", None)
    jax.config.update("jax_enable_compilation_cache", True)
    yield
    for name, value in saved.items():
        jax.config.update(name, value)


def _config() -> dict:
    return {name: getattr(jax.config, name) for name in _CONFIG}


# --- where the cache goes --------------------------------------------------------------------


def test_folder_is_under_xdg_cache_home(monkeypatch, tmp_path):
    monkeypatch.delenv("GANLAB_JAX_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert compile_cache.cache_folder() == tmp_path / "ganlab" / "jax"


@pytest.mark.parametrize("xdg", [None, "", "relative/dir"])
def test_folder_falls_back_to_home_cache(monkeypatch, tmp_path, xdg):
    monkeypatch.delenv("GANLAB_JAX_CACHE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    if xdg is None:
        monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    else:
        monkeypatch.setenv("XDG_CACHE_HOME", xdg)
    assert compile_cache.cache_folder() == tmp_path / ".cache" / "ganlab" / "jax"


@pytest.mark.parametrize("value", ["0", "off", "OFF", "False", "no", " No "])
def test_env_var_turns_it_off(monkeypatch, tmp_path, value):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("GANLAB_JAX_CACHE", value)
    assert compile_cache.cache_folder() is None


def test_env_var_names_the_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("GANLAB_JAX_CACHE", str(tmp_path / "mine"))
    assert compile_cache.cache_folder() == tmp_path / "mine"
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("GANLAB_JAX_CACHE", "~/jaxcache")
    assert compile_cache.cache_folder() == tmp_path / "jaxcache"


# --- enable() --------------------------------------------------------------------------------


def test_enable_sets_folder_and_keeps_small_compiles(clean_jax_config, monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    folder = tmp_path / "ganlab" / "jax"
    assert compile_cache.enable() == folder
    assert folder.is_dir()
    assert jax.config.jax_compilation_cache_dir == str(folder)
    assert jax.config.jax_persistent_cache_min_compile_time_secs == 0
    assert jax.config.jax_persistent_cache_min_entry_size_bytes == 0
    assert compile_cache.enable() == folder  # twice is harmless
    assert jax.config.jax_compilation_cache_dir == str(folder)


def test_enable_leaves_users_env_folder_alone(clean_jax_config, monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("JAX_COMPILATION_CACHE_DIR", str(tmp_path / "theirs"))
    before = _config()
    assert compile_cache.enable() == tmp_path / "theirs"
    assert _config() == before
    assert not (tmp_path / "xdg").exists()


def test_enable_leaves_users_config_folder_alone(clean_jax_config, monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    jax.config.update("jax_compilation_cache_dir", str(tmp_path / "theirs"))
    before = _config()
    assert compile_cache.enable() == tmp_path / "theirs"
    assert _config() == before
    assert not (tmp_path / "xdg").exists()


def test_enable_turned_off_changes_nothing(clean_jax_config, monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("GANLAB_JAX_CACHE", "off")
    before = _config()
    assert compile_cache.enable() is None
    assert _config() == before
    assert not (tmp_path / "ganlab").exists()


def test_enable_respects_jax_cache_disabled(clean_jax_config, monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    jax.config.update("jax_enable_compilation_cache", False)
    before = _config()
    assert compile_cache.enable() is None
    assert _config() == before


def test_enable_without_a_usable_folder_warns_and_stays_off(clean_jax_config, monkeypatch,
                                                           tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("GANLAB_JAX_CACHE", str(blocker / "jax"))  # mkdir fails, even as root
    before = _config()
    with pytest.warns(UserWarning, match="cache off"):
        assert compile_cache.enable() is None
    assert _config() == before


# --- real processes: cache hits across runs, and corrupt entries ------------------------------

HITS = "/jax/compilation_cache/cache_hits"
LOOKUPS = "/jax/compilation_cache/compile_requests_use_cache"
SCRIPT = f"""
import importlib.util, json, sys
import jax, jax.numpy as jnp

events = {{}}
jax.monitoring.register_event_listener(lambda e, **kw: events.__setitem__(e, events.get(e, 0) + 1))
jax.jit(lambda x: x - 1)(1.0)  # a compile before enable(): the cache must still switch on after
spec = importlib.util.spec_from_file_location("compile_cache", sys.argv[1])
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
folder = mod.enable()
value = float(jax.jit(lambda x: jnp.sum(jnp.sin(x) ** 2 + x))(jnp.arange(4.0)))
print(json.dumps({{"folder": str(folder), "value": value,
                  "hits": events.get({HITS!r}, 0), "lookups": events.get({LOOKUPS!r}, 0)}}))
"""
EXPECTED = float(np.sum(np.sin(np.arange(4.0, dtype=np.float32)) ** 2 + np.arange(4.0)))


def _run(xdg: Path) -> tuple[dict, str]:
    """One fresh Python process (without importing the whole ganlab package) using the cache."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("GANLAB_JAX_CACHE", "JAX_COMPILATION_CACHE_DIR",
                        "JAX_ENABLE_COMPILATION_CACHE")}
    env.update(XDG_CACHE_HOME=str(xdg), JAX_PLATFORMS="cpu")
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(MODULE_FILE)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["value"] == pytest.approx(EXPECTED, rel=1e-6)
    assert result["folder"] == str(xdg / "ganlab" / "jax")
    return result, proc.stderr


# JAX's cache keys include the folder's own path (XLA's autotune-cache option, set inside it, is
# hashed), so a copied folder is a cold cache: every run below reuses one folder in place.
@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    xdg = tmp_path_factory.mktemp("xdg")
    return xdg, _run(xdg)[0]


def test_first_run_writes_the_cache(first_run):
    xdg, result = first_run
    assert result["hits"] == 0
    assert list((xdg / "ganlab" / "jax").glob("*-cache")), "no compiled code was written"


def test_second_run_hits_the_cache(first_run):
    xdg, _ = first_run
    assert _run(xdg)[0]["hits"] >= 1


GARBAGE = {
    "random bytes": os.urandom,  # fails to decompress
    "compressed random bytes": lambda n: zlib.compress(os.urandom(n)),  # fails to load in XLA
}  # (truncated and emptied files fail to decompress, like random bytes: checked by hand)


def test_corrupt_cache_entries_only_cost_a_recompile(tmp_path):
    xdg = tmp_path / "xdg"
    _run(xdg)
    files = [p for p in (xdg / "ganlab" / "jax").rglob("*") if p.is_file()]
    assert files
    sizes = {path: max(path.stat().st_size, 64) for path in files}
    for kind, garbage in GARBAGE.items():
        for path, size in sizes.items():
            path.write_bytes(garbage(size))
        result, stderr = _run(xdg)  # exit code 0 and the right value: checked in _run
        assert result["hits"] == 0, kind  # no garbage was run as compiled code ...
        assert "compilation cache" in stderr, kind  # ... and JAX did read it (and warned)
