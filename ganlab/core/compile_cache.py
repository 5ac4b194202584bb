"""JAX's persistent compilation cache, on by default, in the user's cache folder.

Why: every new Python process (a notebook kernel restart, a CLI run) otherwise recompiles every
jitted step from scratch, which is most of the wait on a laptop CPU. With the cache on, a second
run loads the compiled code from disk instead.

Where: ``$XDG_CACHE_HOME/ganlab/jax``, else ``~/.cache/ganlab/jax``. ``GANLAB_JAX_CACHE=off``
(or ``0``, ``false``, ``no``) turns ours off; any other value of it is the folder to use. A folder
the user gave JAX themselves (``JAX_COMPILATION_CACHE_DIR``, or ``jax_compilation_cache_dir``
already set) wins, and so does ``JAX_ENABLE_COMPILATION_CACHE=false``: :func:`enable` then
changes nothing.

How JAX (checked on 0.10.x) behaves, which this module relies on:

- Config names: ``jax_compilation_cache_dir`` (env ``JAX_COMPILATION_CACHE_DIR``, read when jax
  is imported), ``jax_enable_compilation_cache`` (default True),
  ``jax_persistent_cache_min_compile_time_secs`` (default 1.0 s: it would skip nearly all our
  small CPU compiles, so we set 0) and ``jax_persistent_cache_min_entry_size_bytes`` (default 0;
  we set 0 too).
- Lazy start: JAX opens the cache at the first compile that finds a folder set and only then
  marks it started, so setting the folder after earlier compiles still works (those earlier
  ones are just not cached). Once it has started, a later change of folder is ignored.
- Bad entries: reading an entry is wrapped in ``try``: a truncated, empty or garbage file (a
  failed decompress, or an executable that will not deserialize) gives a ``UserWarning`` and a
  fresh compile, because ``jax_raise_persistent_cache_errors`` defaults to False. JAX does not
  replace the bad file (it never overwrites an existing key), so the warning comes back on
  every run until the folder is deleted. Stale entries from an older jax/jaxlib or other flags
  are never read: the key hashes the program, versions, flags and device, and also the folder's
  own path (XLA's autotune cache option, set inside it), so a moved or copied folder starts cold.
- The cache is trusted code: whoever can write to the folder can run code in your process, so
  the folder we create is private to the user (mode 0o700).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import jax

ENV_VAR = "GANLAB_JAX_CACHE"
_OFF = {"0", "off", "false", "no"}


def cache_folder() -> Path | None:
    """The folder for ganlab's JAX cache, or None when ``GANLAB_JAX_CACHE`` turns it off."""
    value = os.environ.get(ENV_VAR, "").strip()
    if value.lower() in _OFF:
        return None
    if value:
        return Path(value).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    # The XDG spec says to ignore a relative XDG_CACHE_HOME.
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "ganlab" / "jax"


def enable() -> Path | None:
    """Turn JAX's persistent compilation cache on at :func:`cache_folder`; return the folder in use.

    Leaves a user's own cache folder alone (and returns it); returns None, changing nothing, when
    the cache is turned off or the folder cannot be created or written to. Never raises for that,
    and calling it again is harmless.
    """
    theirs = jax.config.jax_compilation_cache_dir or os.environ.get("JAX_COMPILATION_CACHE_DIR")
    if theirs:
        return Path(theirs)
    if not jax.config.jax_enable_compilation_cache:
        return None
    folder = cache_folder()
    if folder is None:
        return None
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not os.access(folder, os.W_OK | os.X_OK):
            raise PermissionError(f"cannot write to {folder}")
    except OSError as err:
        warnings.warn(
            f"ganlab: JAX compilation cache off ({err}); set {ENV_VAR}=off to silence this",
            stacklevel=2,
        )
        return None
    jax.config.update("jax_compilation_cache_dir", str(folder))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return folder
