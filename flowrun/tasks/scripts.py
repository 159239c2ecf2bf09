"""Script tasks (python, shell, node `Script`/`Commands`) run as local processes in their own working dir."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, ClassVar, Protocol

from flowrun.durations import DurationError, parse_duration
from flowrun.errors import TaskError, TaskKilled
from flowrun.model.base import Strict
from flowrun.model.lite import Field, field_validator
from flowrun.plain import Plain
from flowrun.scripts import files as script_files
from flowrun.scripts.environment import Environment, prepare_environment
from flowrun.scripts.process import ProcessResult, run_program
from flowrun.scripts.protocol import merge_outputs, parse_line
from flowrun.secrets import task_environ
from flowrun.tasks.base import RunContext, Task
from flowrun.tasks.registry import TASK_RUNNERS

PROCESS_RUNNER = "io.kestra.plugin.core.runner.Process"
_SHELLS = {"sh", "bash", "dash", "zsh", "ksh", "ash"}


class NamespaceFilesSpec(Strict):
    """`namespaceFiles`: which namespace files to copy into the working dir before the run."""

    enabled: bool | str = True
    include: list[str] | None = None
    exclude: list[str] | None = None
    if_exists: str | None = None
    folder_per_namespace: bool | None = None
    namespaces: list[str] | None = None


class TaskRunnerSpec(Strict):
    """`taskRunner`: Process runs locally; Docker is accepted and also runs locally (no Docker engine)."""

    model_config = Strict.model_config | {"extra": "allow"}
    type: str

    @field_validator("type")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in TASK_RUNNERS:
            raise ValueError(f"task runner {value} is not supported; flowrun runs scripts as local processes "
                             f"(use {PROCESS_RUNNER})")
        return value

    def image(self) -> str | None:
        extra = self.model_extra or {}
        return extra.get("image")


class AttemptHooks(Protocol):
    """What a task type built on ScriptTask adds to one attempt (dbt: its log lines, node results, artifacts)."""

    def on_line(self, line: str, is_err: bool) -> bool:
        """Handle one output line; False lets the script protocol handle it."""
        ...

    def finish(self, wd: Path, result: ProcessResult, outputs: dict[str, Any]) -> None:
        """After the commands ended (successfully or not): add to `outputs`."""
        ...

    def failure(self, error: TaskError) -> TaskError:
        """The error the attempt fails with, given the script's own."""
        ...


class ScriptTask(Task):
    """Properties shared by every script task (Kestra's `AbstractExecScript`)."""

    #: the command that runs the script file (`python`, `node`), or None to pass the script to the shell
    script_runner: ClassVar[str | None] = None
    script_suffix: ClassVar[str] = ""
    python: ClassVar[bool] = False
    default_image: ClassVar[str] = "ubuntu"

    before_commands: list[str] | str | None = None
    interpreter: list[str] | str | None = None
    env: dict[str, Any] | str | None = None
    input_files: dict[str, Any] | str | None = None
    output_files: list[str] | str | None = None
    namespace_files: NamespaceFilesSpec | None = None
    warning_on_std_err: bool | str | None = None
    fail_fast: bool | str = True
    container_image: str | None = None
    task_runner: TaskRunnerSpec | None = None
    runner: str | None = None
    docker: dict[str, Any] | None = None
    target_os: str | None = Field(default=None, alias="targetOS")
    output_directory: bool | str | None = None

    @field_validator("runner")
    @classmethod
    def _runner(cls, value: str | None) -> str | None:
        if value is not None and value.upper() not in ("PROCESS", "DOCKER"):
            raise ValueError(f"runner must be PROCESS or DOCKER, got {value!r}")
        return value

    # -- what subclasses provide ------------------------------------------------------------------
    def main_commands(self, ctx: RunContext, extra: dict[str, Any], own: list[Path]) -> list[str]:
        """The shell lines that run the task's script or commands (each concrete task type defines them)."""
        raise TypeError(f"{type(self).__name__} defines no commands")  # pragma: no cover

    def attempt_hooks(self, ctx: RunContext, wd: Path, env: dict[str, str],
                      extra: dict[str, Any]) -> AttemptHooks | None:
        """Prepare what this task type adds to an attempt, once its files are in place (None: nothing)."""
        return None

    # -- helpers ----------------------------------------------------------------------------------
    def image(self) -> str | None:
        """The container image this task names (explicitly), if any."""
        if self.task_runner is not None and self.task_runner.image():
            return self.task_runner.image()
        if self.docker and self.docker.get("image"):
            return str(self.docker["image"])
        return self.container_image

    def explicit_process(self) -> bool:
        """The flow chose the Process runner, where Kestra itself ignores `containerImage`."""
        if self.task_runner is not None:
            return self.task_runner.type == PROCESS_RUNNER
        return (self.runner or "").upper() == "PROCESS"

    def uses_docker(self) -> bool:
        if self.task_runner is not None:
            return self.task_runner.type != PROCESS_RUNNER
        return (self.runner or "").upper() == "DOCKER" or self.docker is not None

    def _list(self, ctx: RunContext, value: Any, extra: dict[str, Any]) -> list[str]:
        """Render a list property that may also be written as one string (a JSON list or a single line)."""
        if value is None:
            return []
        if isinstance(value, str):
            rendered = ctx.render_typed(value, **extra)
            if isinstance(rendered, str):
                try:
                    parsed = json.loads(rendered)
                except ValueError:
                    return [rendered]
                return [str(x) for x in parsed] if isinstance(parsed, list) else [rendered]
            return [str(x) for x in (rendered if isinstance(rendered, list) else [rendered])]
        return [str(x) for x in ctx.render(list(value), **extra)]

    def _bool(self, ctx: RunContext, value: Any) -> bool:
        if isinstance(value, str):
            return str(ctx.render(value)).strip().lower() == "true"
        return bool(value)

    def _env(self, ctx: RunContext, extra: dict[str, Any]) -> dict[str, str]:
        if self.env is None:
            return {}
        raw = ctx.render_typed(self.env, **extra) if isinstance(self.env, str) else self.env
        if isinstance(raw, str):
            raw = json.loads(raw)
        out = {}
        for key, value in dict(raw).items():
            rendered = ctx.render(value, **extra) if isinstance(value, str) else value
            out[str(key)] = _env_text(rendered)
        return out

    def _timeout_s(self, ctx: RunContext) -> float | None:
        if not self.timeout:
            return None
        text = str(ctx.render(self.timeout)).strip()
        try:
            return parse_duration(text).total_seconds()
        except DurationError as exc:
            raise TaskError(f"timeout: {exc.message}") from None

    def _copy_namespace_files(self, ctx: RunContext, wd: Path) -> None:
        spec = self.namespace_files
        if spec is None or not self._bool(ctx, spec.enabled):
            return
        store = getattr(ctx, "namespace_files", None)
        if store is None:
            raise TaskError("namespaceFiles: this run has no namespace files store")
        include = ctx.render(spec.include) if spec.include else None
        exclude = ctx.render(spec.exclude) if spec.exclude else None
        for namespace in ctx.render(spec.namespaces) if spec.namespaces else [ctx.namespace]:
            store.copy_into(namespace, wd, include, exclude)

    # -- the run ----------------------------------------------------------------------------------
    def run(self, ctx: RunContext) -> dict[str, Any]:
        wd = ctx.working_dir()
        image = self.image() or (self.default_image if self.uses_docker() else None)
        if image is not None and not self.explicit_process():
            ctx.logger.warn(f"no Docker engine: running task `{self.id}` as a local process instead of in "
                            f"container image `{image}`")
        self._copy_namespace_files(ctx, wd)
        extra: dict[str, Any] = {"workingDir": str(wd)}
        if self.output_directory is not None and self._bool(ctx, self.output_directory):
            outdir = wd / "outputDir"
            outdir.mkdir(exist_ok=True)
            extra["outputDir"] = str(outdir)
        inputs = self.input_files
        if isinstance(inputs, str):
            inputs = ctx.render(inputs, **extra)
        elif inputs is not None:
            inputs = ctx.render(inputs, **extra)
        script_files.write_input_files(ctx.storage, wd, script_files.parse_input_files(inputs))

        copies: dict[str, Path] = {}
        own: list[Path] = []
        main = [script_files.localize_uris(ctx.storage, wd, c, copies)
                for c in self.main_commands(ctx, extra, own)]
        before = [script_files.localize_uris(ctx.storage, wd, c, copies)
                  for c in self._list(ctx, self.before_commands, extra)]
        env = task_environ(os.environ)
        env.update(self._env(ctx, extra))
        env["WORKING_DIR"] = str(wd)
        if "outputDir" in extra:
            env["OUTPUT_DIR"] = extra["outputDir"]
        hooks = self.attempt_hooks(ctx, wd, env, extra)
        setup = prepare_environment(self, ctx, wd, env, before)
        interpreter = self._list(ctx, self.interpreter, extra) or ["/bin/sh", "-c"]
        outputs: dict[str, Any] = {"exitCode": None, "vars": {}, "outputFiles": {}}
        run = _Run(interpreter=interpreter, setup=setup, hooks=hooks)
        result = self._execute(ctx, wd, env, run, main, outputs)
        patterns = self._list(ctx, self.output_files, extra)
        if "outputDir" in extra:
            patterns.append("outputDir/**")
        skip = set(copies.values()) | set(own)
        rels = script_files.match_output_files(wd, patterns, skip, ctx.logger.warn) if patterns else []
        outputs["outputFiles"] = script_files.upload_output_files(ctx.storage, wd, rels)
        if hooks is not None:
            hooks.finish(wd, result, outputs)
        if result.exit_code != 0:
            error = self._failure(run, result, wd, outputs)
            raise error if hooks is None else hooks.failure(error)
        return outputs

    def _execute(self, ctx: RunContext, wd: Path, env: dict[str, str], run: _Run, main: list[str],
                 outputs: dict[str, Any]) -> ProcessResult:
        interpreter, setup = run.interpreter, run.setup
        markers = Path(interpreter[0]).name in _SHELLS and bool(setup.before)
        step_file = None
        if markers:
            import tempfile

            fd, step_file = tempfile.mkstemp(prefix="flowrun-step-")
            os.close(fd)
            env["FLOWRUN_STEP_FILE"] = step_file
        lines = ["set -e"] if self._bool(ctx, self.fail_fast) else []
        for index, line in setup.before:
            if markers:
                lines.append(f'printf %s {index} >"$FLOWRUN_STEP_FILE"')
            lines.append(line)
        if markers:
            lines.append('printf %s main >"$FLOWRUN_STEP_FILE"')
        lines += main
        program = "\n".join(lines)
        run.program = "\n".join(x for x in lines if "FLOWRUN_STEP_FILE" not in x)
        collected: dict[str, Any] = outputs["vars"]

        def on_line(line: str, is_err: bool) -> None:
            if run.hooks is not None and run.hooks.on_line(line, is_err):
                return
            message = parse_line(line)
            if message is None:
                if line.strip() or not is_err:  # a blank stderr line would log an empty ERROR line
                    (ctx.logger.error if is_err else ctx.logger.info)(line)
                return
            merge_outputs(collected, message.outputs)
            for metric in message.metrics:
                ctx.metric(metric.name, metric.type, metric.value, metric.tags)
            for level, text in message.logs:
                ctx.logger.log(level, text)
            for problem in message.problems:
                ctx.logger.warn(problem)

        try:
            result = run_program(interpreter + [program], wd, env, on_line, ctx.cancel, self._timeout_s(ctx),
                                 on_start=ctx.process_started, on_end=ctx.process_ended)
        except OSError as exc:
            raise TaskError(f"cannot start interpreter {interpreter[0]!r}: {exc.strerror or exc}",
                            evidence={"interpreter": interpreter, "workingDir": str(wd)}) from exc
        finally:
            if step_file is not None:
                run.step = Path(step_file).read_text().strip() or None
                os.unlink(step_file)
        outputs["exitCode"] = result.exit_code
        if result.cancelled:
            raise TaskKilled(f"task `{self.id}` was killed")
        return result

    def _failure(self, run: _Run, result: ProcessResult, wd: Path, outputs: dict[str, Any]) -> TaskError:
        setup = run.setup
        evidence: dict[str, Any] = {
            "command": run.program, "interpreter": run.interpreter, "exitCode": result.exit_code,
            "workingDir": str(wd), "stderrTail": result.stderr_tail,
            "stderrLogged": True,  # each stderr line was logged as it came: the error does not repeat them
        }
        evidence.update(setup.evidence)
        last = next((x for x in reversed(result.stderr_tail) if x.strip()), "")
        if result.timed_out:
            message = f"timed out after {self.timeout}: killed the whole process group"
        elif run.step is not None and run.step != "main":
            index = int(run.step)
            failing = setup.line_text(index)
            evidence["failedBeforeCommand"] = {"index": index, "line": failing}
            message = f"beforeCommands[{index}] failed with exit code {result.exit_code}: `{failing}`"
        else:
            message = f"command failed with exit code {result.exit_code}"
        if last and not result.timed_out:
            message += f": {last}"
        if result.exit_code == 127 and "not found" in last:
            message += " (a program the commands call is not installed on this machine)"
        return TaskError(message, evidence=evidence, outputs=outputs)


class _Run(Plain):
    """State of one attempt (tasks are shared models, so nothing is stored on them)."""

    FIELDS = ("interpreter", "setup", "hooks", "program", "step")

    def __init__(self, interpreter: list[str], setup: Environment, hooks: AttemptHooks | None = None,
                 program: str = "", step: str | None = None) -> None:
        self.interpreter = interpreter
        self.setup = setup
        self.hooks = hooks
        self.program = program
        self.step = step


def _env_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


class _CommandsMixin:
    commands: Any

    def main_commands(self, ctx: RunContext, extra: dict[str, Any], own: list[Path]) -> list[str]:
        return ScriptTask._list(self, ctx, self.commands, extra)  # type: ignore[arg-type]


class _ScriptMixin:
    script: str
    script_runner: ClassVar[str | None]
    script_suffix: ClassVar[str]

    def main_commands(self, ctx: RunContext, extra: dict[str, Any], own: list[Path]) -> list[str]:
        body = str(ctx.render(self.script, **extra))
        if self.script_runner is None:
            return [body]
        wd = Path(extra["workingDir"])
        path = wd / f"{os.urandom(8).hex()}{self.script_suffix}"
        path.write_text(body, encoding="utf-8")
        own.append(path)
        return [f"{self.script_runner} {path}"]


class PythonTask(ScriptTask):
    """Python properties: `dependencies` go into a cached venv; `pythonVersion`/image tag pick the interpreter."""

    python: ClassVar[bool] = True
    default_image: ClassVar[str] = "python:3.13-slim"
    dependencies: list[str] | str | None = None
    python_version: str | None = None
    dependency_cache_enabled: bool | str | None = None
    package_manager: str | None = None


class PythonScript(_ScriptMixin, PythonTask):
    """Run an inline Python `script` (written to a `.py` file in the working dir) with `python`."""

    script_runner: ClassVar[str | None] = "python"
    script_suffix: ClassVar[str] = ".py"
    script: str


class PythonCommands(_CommandsMixin, PythonTask):
    """Run shell `commands` with Python available as `python`/`python3` (and `dependencies` installed)."""

    commands: list[str] | str


class ShellScript(_ScriptMixin, ScriptTask):
    """Run an inline shell `script` with the interpreter (default `/bin/sh -c`)."""

    script: str


class ShellCommands(_CommandsMixin, ScriptTask):
    """Run shell `commands`, one per line, with the interpreter (default `/bin/sh -c`)."""

    commands: list[str] | str


class NodeScript(_ScriptMixin, ScriptTask):
    """Run an inline Node.js `script` (written to a `.js` file in the working dir) with `node`."""

    script_runner: ClassVar[str | None] = "node"
    script_suffix: ClassVar[str] = ".js"
    default_image: ClassVar[str] = "node"
    script: str


class NodeCommands(_CommandsMixin, ScriptTask):
    """Run shell `commands` that call `node`/`npm` found on the PATH."""

    default_image: ClassVar[str] = "node"
    commands: list[str] | str
