"""Prepare a script's environment: the Python interpreter, cached venvs for dependencies and beforeCommands."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flowrun.errors import TaskError
from flowrun.plain import Plain

if TYPE_CHECKING:  # the interpreter and venv machinery is imported by the tasks that use it (not a plain shell task)
    from flowrun.scripts.interpreters import Interpreter


class Environment(Plain):
    """What runs before the main commands, plus evidence about the interpreter and venv used."""

    FIELDS = ("lines", "before", "own_files", "evidence")

    def __init__(self, lines: list[str], before: list[tuple[int, str]], own_files: list[Path] | None = None,
                 evidence: dict[str, Any] | None = None) -> None:
        self.lines = lines
        self.before = before
        self.own_files: list[Path] = [] if own_files is None else own_files
        self.evidence: dict[str, Any] = {} if evidence is None else evidence

    def line_text(self, index: int) -> str:
        return self.lines[index] if 0 <= index < len(self.lines) else "?"


def _prepend_path(env: dict[str, str], folder: Path) -> None:
    env["PATH"] = f"{folder}{os.pathsep}{env.get('PATH', '')}"


def _shim(state_dir: Path, interp: Interpreter) -> Path:
    """A folder whose `python` and `python3` run `interp` (created once, shared)."""
    folder = state_dir / "shims" / hashlib.sha256(interp.path.encode()).hexdigest()[:16]
    if not (folder / "python3").exists():
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("python", "python3"):
            tmp = folder / f".{name}.{os.urandom(16).hex()}"
            tmp.unlink(missing_ok=True)
            tmp.symlink_to(interp.path)
            tmp.replace(folder / name)
    return folder


def choose_python(task: Any, ctx: Any, env: dict[str, str]) -> Interpreter | None:
    """The interpreter a Python task asked for (pythonVersion, else the image tag), else the PATH's python3."""
    from flowrun.scripts.interpreters import default_python, find_python, image_python_version

    wanted = str(ctx.render(task.python_version)).strip() if task.python_version else None
    source = f"pythonVersion {wanted}"
    if not wanted:
        image = task.image()
        wanted = image_python_version(image)
        source = f"containerImage {image}"
    current = default_python(env.get("PATH"))
    if wanted:
        found = find_python(wanted)
        if found is not None:
            return found
        fallback = f"{current.path} ({current.version})" if current else "no python3 at all"
        ctx.logger.warn(f"{source} asks for Python {wanted}, which is not installed here; using {fallback}")
    return current


def activate_venv(env: dict[str, str], venv: Path) -> None:
    _prepend_path(env, venv / "bin")
    env["VIRTUAL_ENV"] = str(venv)
    env.pop("PYTHONHOME", None)


def _dependencies(task: Any, ctx: Any, env: dict[str, str], interp: Interpreter, evidence: dict) -> None:
    deps = task._list(ctx, task.dependencies, {})
    if not deps:
        return
    from flowrun.scripts.venvs import VenvError, VenvSpec, ensure_venv, normalize_requirements

    reqs = normalize_requirements(deps) or tuple(sorted({d.strip() for d in deps if d.strip()}))
    spec = VenvSpec(interp, reqs)
    evidence["venv"] = str(ctx.state_dir / "venvs" / spec.key)
    try:
        info = ensure_venv(ctx.state_dir, spec, ctx.logger.info)
    except VenvError as exc:
        raise TaskError(f"dependencies {deps} could not be installed: {exc.message}",
                        evidence={**exc.evidence, "dependencies": deps}) from exc
    if info.built:
        ctx.logger.info(f"dependencies {list(reqs)}: built venv {info.key} with {info.log[0]} "
                        f"in {info.seconds:.2f}s")
    else:
        ctx.logger.debug(f"dependencies {list(reqs)}: reusing cached venv {info.key}")
    activate_venv(env, info.path)


def _serve_before_commands(ctx: Any, wd: Path, env: dict[str, str], lines: list[str],
                           evidence: dict) -> list[int] | None:
    """Serve a venv-building beforeCommands from the cache; the indexes it replaced, or None."""
    from flowrun.scripts.before_commands import plan_venv

    plan = plan_venv(lines, wd)
    if plan is None:
        return None
    import shutil

    from flowrun.scripts.interpreters import probe
    from flowrun.scripts.venvs import VenvError, VenvSpec, ensure_venv

    link = wd / plan.venv_dir
    if os.path.lexists(link):
        return None
    found = shutil.which("python3" if plan.python == "uv" else plan.python, path=env.get("PATH"))
    interp = probe(found) if found else None
    if interp is None:
        return None
    spec = VenvSpec(interp, plan.requirements, seed=plan.seed, upgrade=plan.upgrade)
    evidence["venv"] = str(ctx.state_dir / "venvs" / spec.key)
    try:
        info = ensure_venv(ctx.state_dir, spec, ctx.logger.info)
    except VenvError as exc:
        index = plan.served[-1]
        raise TaskError(f"beforeCommands[{index}] `{lines[index].strip()}` failed (venv served from the "
                        f"flowrun cache): {exc.message}",
                        evidence={**exc.evidence, "failedBeforeCommand": {"index": index, "line": lines[index]}}
                        ) from exc
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(info.path, target_is_directory=True)
    how = f"built with {info.log[0]} in {info.seconds:.2f}s" if info.built else "reused"
    ctx.logger.info(f"beforeCommands: venv `{plan.venv_dir}` with {list(plan.requirements)} served from the "
                    f"cache ({info.key}, {how})")
    return plan.served


def prepare_environment(task: Any, ctx: Any, wd: Path, env: dict[str, str], before: list[str]) -> Environment:
    """Pick interpreters and venvs, update `env` in place, and say which beforeCommands still run."""
    evidence: dict[str, Any] = {}
    if task.python:
        import shutil

        from flowrun.scripts.interpreters import default_python
        from flowrun.scripts.kestra_lib import expose_kestra

        env.update({"PYTHONUNBUFFERED": "true", "PIP_ROOT_USER_ACTION": "ignore",
                    "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
        interp = choose_python(task, ctx, env)
        if interp is None:
            raise TaskError("no Python interpreter found (looked for python3 and python on PATH)",
                            evidence={"PATH": env.get("PATH", "")})
        evidence["python"] = f"{interp.path} ({interp.version})"
        current = default_python(env.get("PATH"))
        if current is None or current.path != interp.path or shutil.which("python", path=env.get("PATH")) is None:
            _prepend_path(env, _shim(ctx.state_dir, interp))
        _dependencies(task, ctx, env, interp, evidence)
        expose_kestra(Path(ctx.state_dir), env)
    served: list[int] = []
    if before and all("\n" not in line.strip() for line in before):
        served = _serve_before_commands(ctx, wd, env, before, evidence) or []
    run = [(i, line) for i, line in enumerate(before) if i not in served]
    return Environment(lines=before, before=run, evidence=evidence)
