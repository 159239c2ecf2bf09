"""The `kestra` Python package in every Python task: flowrun's installed copy, behind a shim on PYTHONPATH.

Kestra's Python image ships the `kestra` package, so `from kestra import Kestra` works with no
`dependencies`. flowrun does the same from its own installation, without a pip install per run:
- `lib/` mirrors (as symlinks, a directory at a time where it holds nothing else) exactly the files of the
  `kestra` distribution and of the distributions it requires, transitively, and nothing else of flowrun's
  environment;
- `shim/` holds only a `kestra.py`, put first on PYTHONPATH. On import it loads the task's own `kestra`
  when the task has one (a venv from `dependencies` or `pip install kestra`), else flowrun's copy, and only
  then appends `lib/` to the *end* of `sys.path`, so the task's own packages win over kestra's requirements.
  As the shim has no metadata, `pip install kestra` still installs the package.
Both are built once per state dir and flowrun installation.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import importlib.metadata as metadata

_SHIM = '''"""flowrun's `kestra` module: the task's own kestra package if it has one, else the copy flowrun ships."""
import os as _os
import sys as _sys
from importlib.machinery import PathFinder as _PathFinder
from importlib.util import module_from_spec as _module_from_spec

_here = _os.path.realpath(_os.path.dirname(__file__))
_lib = {lib!r}
_others = [p for p in _sys.path if _os.path.realpath(p or ".") != _here]
_spec = _PathFinder.find_spec("kestra", _others)
if _spec is None:
    if _lib not in _sys.path:
        _sys.path.append(_lib)
    _spec = _PathFinder.find_spec("kestra", [_lib])
if _spec is None or _spec.loader is None:
    raise ImportError("the kestra package that flowrun provides is missing from " + _lib)
_module = _module_from_spec(_spec)
_sys.modules[__name__] = _module
try:
    _spec.loader.exec_module(_module)
except BaseException:
    _sys.modules.pop(__name__, None)
    raise
'''


def _requirement_names(dist: metadata.Distribution) -> list[str]:
    """Names of the distributions `dist` requires, leaving out optional extras."""
    names = []
    for requirement in dist.requires or []:
        spec, _, marker = requirement.partition(";")
        found = re.match(r"[A-Za-z0-9._-]+", spec.strip())
        if found and "extra" not in marker:
            names.append(found.group(0))
    return names


def closure(root: str = "kestra") -> list[metadata.Distribution]:
    """`root` and every installed distribution it requires, transitively (missing optional ones skipped)."""
    import importlib.metadata as metadata  # here: a task whose shim is built skips its import (~6 ms)

    seen: dict[str, metadata.Distribution] = {}
    todo = [root]
    while todo:
        name = todo.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        seen[key] = dist
        todo += _requirement_names(dist)
    return list(seen.values())


def _wanted(rel: str) -> bool:
    """Files worth mirroring: no scripts outside site-packages, no bytecode, no untagged extension modules.

    An extension module without an ABI tag (`_ioncmodule.so`) would be loaded by any Python version and
    may crash one it was not built for; the packages that have one fall back to pure Python without it.
    """
    path = Path(rel)
    if rel.startswith("..") or "__pycache__" in path.parts or path.suffix == ".pyc":
        return False
    return not (path.suffix == ".so" and "." not in path.stem and not path.name.startswith("lib"))


def _build(target: Path, dists: list[metadata.Distribution]) -> None:
    staging = Path(tempfile.mkdtemp(prefix=".kestra-", dir=target.parent))
    for dist in dists:
        _mirror(dist, staging / "lib")
    (staging / "shim").mkdir()
    (staging / "shim" / "kestra.py").write_text(_SHIM.format(lib=str(target / "lib")), encoding="utf-8")
    try:
        staging.rename(target)
    except OSError:  # another task built it first
        shutil.rmtree(staging, ignore_errors=True)


def _mirror(dist: metadata.Distribution, lib: Path) -> None:
    """Link `dist`'s wanted files into `lib`: a directory that holds nothing else is one symlink.

    numpy alone lists about 1,000 files; a link per file made the first Python task of a state dir spend
    ~220 ms here. A directory is linked whole only when what is on disk under it (bytecode aside) is exactly
    some of the distribution's wanted files, so another distribution's files (a shared namespace package) or
    an untagged extension module stay out. Plain strings, not pathlib: this loop sees every file.
    """
    root = str(dist.locate_file(""))
    by_head: dict[str, set[str]] = {}
    for rel in (str(file) for file in dist.files or []):
        if _wanted(rel):
            by_head.setdefault(rel.split("/", 1)[0], set()).add(rel)
    for head, rels in by_head.items():
        if rels != {head} and _only(root, head, rels):
            _link(os.path.join(lib, head), os.path.join(root, head))
            continue
        for rel in rels:
            source = os.path.join(root, rel)
            if os.path.isfile(source):
                _link(os.path.join(lib, rel), source)


def _only(root: str, head: str, rels: set[str]) -> bool:
    """True when every file under `root/head` (bytecode aside) is one of `rels` (paths relative to `root`)."""
    top = os.path.join(root, head)
    if os.path.islink(top) or not os.path.isdir(top):
        return False
    for current, subdirs, files in os.walk(top):
        subdirs[:] = [name for name in subdirs if name != "__pycache__"]
        base = os.path.relpath(current, root).replace(os.sep, "/")
        if any(not name.endswith(".pyc") and f"{base}/{name}" not in rels for name in files):
            return False
    return True


def _link(link: str, source: str) -> None:
    os.makedirs(os.path.dirname(link), exist_ok=True)
    if not os.path.lexists(link):
        os.symlink(source, link)


_BUILT: dict[Path, Path | None] = {}


def kestra_shim_dir(state_dir: Path) -> Path | None:
    """The directory to put first on PYTHONPATH (built on first use); None if flowrun has no `kestra`."""
    shim = _BUILT.get(state_dir)
    if shim is None or not shim.exists():
        shim = _BUILT[state_dir] = _locate(state_dir)
    return shim


def _locate(state_dir: Path) -> Path | None:
    """The shim dir of this installation; a pointer file keyed by the installation's package dirs (their
    mtimes change when a distribution is installed or removed) skips reading every distribution's metadata
    again (74 ms of a seed-flow run, cProfile)."""
    pointer, key = state_dir / "pylib" / "current", _installation_key()
    try:
        stored_key, _, stored = pointer.read_text(encoding="utf-8").partition("\n")
        if stored_key == key and (Path(stored) / "kestra.py").is_file():
            return Path(stored)
    except (OSError, UnicodeDecodeError):
        pass
    shim = _locate_by_metadata(state_dir)
    if shim is not None:
        temporary = pointer.with_name(f"current.{os.getpid()}.tmp")
        try:
            temporary.write_text(f"{key}\n{shim}", encoding="utf-8")
            os.replace(temporary, pointer)
        except OSError:
            pass
    return shim


def _installation_key() -> str:
    """sys.prefix and the mtime of each package dir on sys.path (installing or removing a distribution
    changes its dir)."""
    parts = [sys.prefix]
    for entry in sys.path:
        if entry.endswith(("site-packages", "dist-packages")):
            try:
                parts.append(f"{entry}:{os.stat(entry).st_mtime_ns}")
            except OSError:
                parts.append(f"{entry}:-")
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _locate_by_metadata(state_dir: Path) -> Path | None:
    dists = closure()
    if not dists:
        return None
    identity = sys.prefix + "|" + "|".join(sorted(f"{d.metadata['Name']}=={d.version}" for d in dists))
    target = state_dir / "pylib" / f"kestra-{hashlib.sha256(identity.encode()).hexdigest()[:16]}"
    if not (target / "shim" / "kestra.py").exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        _build(target, dists)
    return target / "shim"


def expose_kestra(state_dir: Path, env: dict[str, str]) -> None:
    """Put the `kestra` shim first on the task's PYTHONPATH."""
    shim = kestra_shim_dir(state_dir)
    if shim is not None:
        env["PYTHONPATH"] = os.pathsep.join(x for x in (str(shim), env.get("PYTHONPATH", "")) if x)
