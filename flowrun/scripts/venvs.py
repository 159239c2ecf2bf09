"""Virtualenvs cached under the state dir, keyed by interpreter version and normalized requirements."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

from flowrun.errors import TaskError
from flowrun.plain import Plain
from flowrun.scripts.interpreters import Interpreter
from flowrun.secrets import task_environ

META = ".flowrun-venv.json"
LAST_USED = ".flowrun-last-used"
_NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*)$")


class VenvError(TaskError):
    """Building a cached virtualenv failed; `evidence` says which command and why."""

    def __init__(self, message: str, evidence: dict) -> None:
        super().__init__(message, evidence)


class VenvSpec(NamedTuple):
    """What a cached venv contains: an interpreter, requirements, and whether pip is seeded into it."""

    interpreter: Interpreter
    requirements: tuple[str, ...]
    seed: bool = False
    upgrade: bool = False

    @property
    def key(self) -> str:
        ident = {"python": self.interpreter.version, "requirements": list(self.requirements),
                 "seed": self.seed, "upgrade": self.upgrade}
        digest = hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()
        return f"py{self.interpreter.minor}-{digest[:16]}"


class VenvInfo(Plain):
    """A ready venv and how it was obtained."""

    FIELDS = ("path", "key", "built", "seconds", "log")

    def __init__(self, path: Path, key: str, built: bool, seconds: float, log: list[str] | None = None) -> None:
        self.path = path
        self.key = key
        self.built = built
        self.seconds = seconds
        self.log: list[str] = [] if log is None else log

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"


def normalize_requirement(line: str) -> str | None:
    """`Requests >= 2.0` → `requests>=2.0`; None for lines that are not a plain named requirement."""
    text = line.split(" #", 1)[0].strip()
    if text.startswith("#") or not text:
        return ""
    if text.startswith("-") or "://" in text.split("@", 1)[0] or text.startswith((".", "/")):
        return None
    match = _NAME.match(text)
    if match is None:
        return None
    name = re.sub(r"[-_.]+", "-", match.group(1)).lower()
    extras = match.group(2)
    if extras:
        parts = sorted(e.strip().lower() for e in extras[1:-1].split(",") if e.strip())
        extras = "[" + ",".join(parts) + "]"
    rest = match.group(3).strip()
    spec, _, marker = rest.partition(";")
    spec = re.sub(r"\s+", "", spec)
    marker = " ".join(marker.split())
    return f"{name}{extras or ''}{spec}" + (f"; {marker}" if marker else "")


def normalize_requirements(lines: list[str]) -> tuple[str, ...] | None:
    """The sorted, deduplicated set; None when any line cannot be normalized."""
    out: set[str] = set()
    for line in lines:
        norm = normalize_requirement(line)
        if norm is None:
            return None
        if norm:
            out.add(norm)
    return tuple(sorted(out))


def read_requirements_file(path: Path, _depth: int = 0) -> list[str] | None:
    """Requirement lines of a file, following `-r` includes; None when it holds other pip options."""
    if _depth > 5 or not path.is_file():
        return None
    lines: list[str] = []
    text = path.read_text(encoding="utf-8", errors="replace").replace("\\\n", "")
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        include = re.match(r"^(?:-r|--requirement)(?:\s+|=)?(\S+)$", line)
        if include:
            nested = read_requirements_file(path.parent / include.group(1), _depth + 1)
            if nested is None:
                return None
            lines += nested
            continue
        lines.append(line)
    return lines


def venvs_root(state_dir: Path) -> Path:
    return Path(state_dir) / "venvs"


@contextmanager
def file_lock(path: Path, blocking: bool = True) -> Iterator[bool]:
    """An exclusive fcntl lock on `path` (held across processes and threads); yields whether it was taken."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def is_ready(path: Path) -> bool:
    """The venv finished building and its interpreter still exists."""
    return (path / META).is_file() and (path / "bin" / "python").exists()


def ensure_venv(state_dir: Path, spec: VenvSpec, on_wait: Callable[[str], None] | None = None) -> VenvInfo:
    """Return the cached venv for `spec`, building it once (under a lock) when absent; `on_wait` hears of a
    wait for another process's build and of a build starting."""
    start = time.monotonic()
    root = venvs_root(state_dir)
    path = root / spec.key
    if is_ready(path):
        _touch(path)
        return VenvInfo(path, spec.key, False, time.monotonic() - start)
    lock = root / f"{spec.key}.lock"
    with file_lock(lock, blocking=False) as taken:
        if not taken and on_wait is not None:
            on_wait(f"waiting for another run to finish building venv {spec.key}")
    with file_lock(lock):
        if is_ready(path):
            _touch(path)
            return VenvInfo(path, spec.key, False, time.monotonic() - start)
        if path.exists():
            shutil.rmtree(path)
        if on_wait is not None:  # the live view shows it beside a spinner while the build runs
            on_wait(f"building venv {spec.key} for {', '.join(spec.requirements) or 'no requirements'}")
        log = _build(path, spec)
        meta = {"key": spec.key, "python": spec.interpreter.version, "interpreter": spec.interpreter.path,
                "requirements": list(spec.requirements), "seed": spec.seed, "tool": log[0],
                "created": datetime.now(UTC).isoformat(timespec="seconds")}
        tmp = path / (META + ".tmp")
        tmp.write_text(json.dumps(meta, indent=2))
        tmp.rename(path / META)
        _touch(path)
        return VenvInfo(path, spec.key, True, time.monotonic() - start, log)


def _touch(path: Path) -> None:
    try:
        (path / LAST_USED).touch()
    except OSError:  # pragma: no cover - read-only cache still usable
        pass


def uv_binary() -> str | None:
    try:
        from uv import find_uv_bin

        return find_uv_bin()
    except Exception:  # noqa: BLE001 - uv missing or broken: fall back to venv+pip
        return shutil.which("uv")


def _run(argv: list[str], what: str, spec: VenvSpec, path: Path) -> str:
    env = task_environ(os.environ)
    env.pop("VIRTUAL_ENV", None)
    env.setdefault("UV_PYTHON_DOWNLOADS", "never")
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    try:
        out = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=1800)
    except (OSError, subprocess.SubprocessError) as exc:
        raise VenvError(f"{what} could not run: {exc}", {"command": " ".join(argv)}) from exc
    if out.returncode != 0:
        tail = (out.stderr or out.stdout).strip().splitlines()[-25:]
        reason = next((t.strip() for t in reversed(tail) if t.strip()), "")
        raise VenvError(
            f"{what} failed (exit {out.returncode}) for requirements {list(spec.requirements)}: {reason}",
            {"command": " ".join(argv), "exitCode": out.returncode, "interpreter": spec.interpreter.path,
             "venv": str(path), "stderrTail": tail},
        )
    return out.stderr


def _build(path: Path, spec: VenvSpec) -> list[str]:
    """Create the venv at `path` with uv (falling back to venv + pip); returns a short build log."""
    uv = uv_binary()
    path.parent.mkdir(parents=True, exist_ok=True)
    reqs = path.parent / f"{spec.key}.requirements.txt"
    reqs.write_text("".join(r + "\n" for r in spec.requirements))
    python = str(path / "bin" / "python")
    if uv is not None:
        created = True
        try:
            argv = [uv, "venv", "--quiet", "--no-project", "--python", spec.interpreter.path, str(path)]
            _run(argv + (["--seed"] if spec.seed else []), "uv venv", spec, path)
        except VenvError:
            created = False
            shutil.rmtree(path, ignore_errors=True)
        if created:
            if spec.requirements:
                argv = [uv, "pip", "install", "--quiet", "--compile-bytecode", "--python", python, "-r", str(reqs)]
                _run(argv + (["--upgrade"] if spec.upgrade else []), "uv pip install", spec, path)
            return ["uv"]
    _run([spec.interpreter.path, "-m", "venv", str(path)], "python -m venv", spec, path)
    if spec.requirements:
        argv = [python, "-m", "pip", "install", "--quiet", "--compile", "-r", str(reqs)]
        _run(argv + (["--upgrade"] if spec.upgrade else []), "pip install", spec, path)
    return ["venv+pip"]
