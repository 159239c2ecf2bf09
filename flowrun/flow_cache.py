"""The validated-flow cache: a flow file's validated, defaults-applied `Flow`, kept under the state dir; and,
beside it, the project's validated `flowrun.yaml`.

A later load of the same bytes skips YAML parsing and model validation: the entry is a pickle of the `Flow`,
whose models are plain classes (flowrun/model/lite.py), so restoring it imports no pydantic. It measured
0.03-0.7 ms to restore against 20-110 ms to parse and validate (bench/bench_startup.py).

An entry is used only when its key matches exactly. The key covers everything the validated result depends on:
the flow file's path and bytes, the `flowrun.yaml` bytes, the plugin defaults handed to validation, flowrun's
version and a fingerprint of its source files (an edited checkout keeps its version), Python's version (the
pickle format) and pydantic's installed files (what validation accepts). An entry that is missing, unreadable, corrupt or of another key is
ignored and rebuilt; the cache never makes a load fail.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

CACHE_DIR = "cache/flows"
CONFIG_DIR = "cache/config"
T = TypeVar("T")
_FORMAT = b"flowrun-flow-cache 2\n"
_fingerprint: bytes | None = None


def code_fingerprint() -> bytes:
    """flowrun's version, the path, size and mtime of each of its source files, Python's version, and those of
    pydantic's version files (found, not imported: importing pydantic costs ~50 ms)."""
    global _fingerprint
    if _fingerprint is None:
        import flowrun

        digest = hashlib.sha256(f"{flowrun.__version__}\0{sys.version}".encode())
        for entry in sorted(_source_files(os.path.dirname(flowrun.__file__))):
            digest.update(entry.encode())
        for entry in _version_files(("pydantic", "version.py"), ("pydantic_core", "__init__.py")):
            digest.update(entry.encode())
        _fingerprint = digest.digest()
    return _fingerprint


def _version_files(*wanted: tuple[str, str]) -> list[str]:
    """The path, size and mtime of each (package, file) on sys.path, first found; absent ones are named so."""
    found: list[str] = []
    for package, name in wanted:
        for folder in sys.path:
            candidate = os.path.join(folder or ".", package, name)
            try:
                stat = os.stat(candidate)
            except OSError:
                continue
            found.append(f"{candidate}\0{stat.st_size}\0{stat.st_mtime_ns}\n")
            break
        else:
            found.append(f"{package} absent\n")
    return found


def _source_files(root: str) -> list[str]:
    found: list[str] = []
    with os.scandir(root) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False) and entry.name != "__pycache__":
                found += _source_files(entry.path)
            elif entry.name.endswith(".py"):
                stat = entry.stat()
                found.append(f"{entry.path}\0{stat.st_size}\0{stat.st_mtime_ns}\n")
    return found


def cache_key(path: Path, source: bytes, config: bytes, defaults: Sequence[Any]) -> bytes:
    """The exact key of a flow file's validated form (see the module docstring)."""
    digest = hashlib.sha256(code_fingerprint())
    for part in (str(path).encode(), source, config, repr([(d.type, d.values, d.forced) for d in defaults]).encode()):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.digest()


def entry_path(cache_root: Path, path: Path, folder: str = CACHE_DIR) -> Path:
    """One entry per file and spelling of its path (a relative and an absolute one each have theirs: the entry
    holds the path as given): a changed file overwrites its own entry."""
    name = hashlib.sha256(f"{path.resolve()}\0{path}".encode()).hexdigest()[:32]
    return cache_root / folder / f"{name}.pickle"


def read_entry(entry: Path, key: bytes, kind: type) -> Any:
    """The cached value, a `kind`, when the entry exists and holds exactly this key; None for anything else."""
    try:
        blob = entry.read_bytes()
    except OSError:
        return None
    head = len(_FORMAT) + len(key)
    if blob[:head] != _FORMAT + key:
        return None
    try:
        value = pickle.loads(blob[head:])
    except Exception:  # noqa: BLE001 - a corrupt entry of any kind is rebuilt, never an error
        return None
    return value if isinstance(value, kind) else None


def write_entry(entry: Path, key: bytes, value: Any) -> None:
    """Store the entry atomically (a temporary file renamed over it); a failure to store is ignored."""
    temporary = entry.with_name(f"{entry.name}.{os.getpid()}.tmp")
    try:
        blob = _FORMAT + key + pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        entry.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_bytes(blob)
        os.replace(temporary, entry)
    except Exception:  # noqa: BLE001 - an unpicklable flow or a read-only state dir: run without the cache
        try:
            temporary.unlink()
        except OSError:
            pass


def cached_flow(cache_root: Path, path: Path, source: bytes, config: bytes, defaults: Sequence[Any],
                validate: Callable[[bytes], T], kind: type[T]) -> T:
    """The flow of `source` (a `kind`: the Flow class, which this module does not import) from the cache, else
    `validate(source)` stored for the next load. `defaults` are the PluginDefaults handed to validation."""
    key = cache_key(path, source, config, defaults)
    entry = entry_path(cache_root, path)
    flow: T | None = read_entry(entry, key, kind)
    if flow is None:
        flow = validate(source)
        write_entry(entry, key, flow)
    return flow


def cached_config(cache_root: Path, path: Path, source: bytes, kind: type[T], validate: Callable[[], T],
                  keep: Callable[[T], bool]) -> T:
    """The validated `flowrun.yaml` of `source` from the cache under `cache_root`, else `validate()`, stored for
    the next load when `keep` says this is its place (the key: the file's path and bytes and the code)."""
    key = cache_key(path, source, b"", ())
    entry = entry_path(cache_root, path, CONFIG_DIR)
    config = read_entry(entry, key, kind)
    if config is None:
        config = validate()
        if keep(config):
            write_entry(entry, key, config)
    return config  # type: ignore[no-any-return]
