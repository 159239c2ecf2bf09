"""dbt tasks (`DbtCLI` and the older `Build`, `Run`, `Test`...): dbt commands in a cached venv, nodes as task runs."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any, ClassVar

from flowrun.model.lite import field_validator
from flowrun.tasks.base import RunContext, Strict
from flowrun.tasks.scripts import AttemptHooks, ScriptTask

_DBT_LINE = re.compile(r"^\s*dbt(\s|$)")
LOG_FORMATS = ("JSON", "TEXT", "DEBUG", "NONE")


class KvManifest(Strict):
    """`storeManifest` / `loadManifest`: the KV key and namespace of dbt's `manifest.json`."""

    key: str
    namespace: str

    def where(self, ctx: RunContext) -> tuple[str, str]:
        return str(ctx.render(self.namespace)), str(ctx.render(self.key))


class DbtTask(ScriptTask):
    """What every dbt task shares: the venv (dbt-core and the adapter the profile's `type` or the image names),
    the profile, dbt's JSON logs as log lines, and each dbt node as a child task run."""

    default_image: ClassVar[str] = "ghcr.io/kestra-io/dbt"
    #: where `profiles` is written, relative to the working directory
    profiles_file: ClassVar[str] = "profiles.yml"
    #: whether the command writes run_results.json worth reading (not `deps`, `list`, `source freshness`)
    parses_results: ClassVar[bool] = True

    profiles: str | None = None
    project_dir: str | None = None
    parse_run_results: bool | str = True
    #: flowrun's own: Python requirements for the dbt venv; one naming dbt-core or an adapter replaces its default
    dependencies: list[str] | str | None = None

    def attempt_hooks(self, ctx: RunContext, wd: Path, env: dict[str, str],
                      extra: dict[str, Any]) -> AttemptHooks | None:
        from flowrun.dbt.attempt import DbtAttempt

        return DbtAttempt.prepare(self, ctx, wd, env)


class DbtCLI(DbtTask):
    """Run dbt `commands` (with `dbt` on the PATH) in the working directory, where the namespace files are.

    Lines that start with `dbt` get `--project-dir` (when `projectDir` is set), `--log-format json` (see
    `logFormat`) and `--log-path logs`, as Kestra adds them. `profiles` is written to `profiles.yml` in the
    working directory. dbt runs in a cached venv holding dbt-core (default `dbt-core>=1.11,<1.12`) and the adapter
    that the profile's `type` names (else the one `containerImage` names, `ghcr.io/kestra-io/dbt-postgres` ->
    dbt-postgres); flowrun's own `dependencies` replaces those pins. dbt's log lines keep their levels, a warning
    makes the task WARNING, and each dbt node becomes a child task run with its status, timing and message.
    `storeManifest` puts `target/manifest.json` in the KV store; `loadManifest` puts it back before the commands.
    """

    commands: list[str] | str
    store_manifest: KvManifest | None = None
    load_manifest: KvManifest | None = None
    log_format: str = "JSON"
    engine: str = "CORE"

    @field_validator("log_format")
    @classmethod
    def _format(cls, value: str) -> str:
        if "{" not in value and value.upper() not in LOG_FORMATS:
            raise ValueError(f"logFormat must be one of {', '.join(LOG_FORMATS)}, got {value!r}")
        return value

    @field_validator("engine")
    @classmethod
    def _engine(cls, value: str) -> str:
        if value.upper() != "CORE":
            raise ValueError(f"engine {value} is not supported: flowrun runs dbt Core (engine: CORE) from PyPI")
        return value

    def main_commands(self, ctx: RunContext, extra: dict[str, Any], own: list[Path]) -> list[str]:
        project = str(ctx.render(self.project_dir)).strip() if self.project_dir else ""
        fmt = str(ctx.render(self.log_format)).strip().upper()
        return [_dbt_flags(line, project, fmt) for line in self._list(ctx, self.commands, extra)]


def _dbt_flags(line: str, project: str, fmt: str) -> str:
    """Kestra's additions to a `dbt ...` command line (each only when the line does not already say it)."""
    if not _DBT_LINE.match(line):
        return line
    if project and "--project-dir" not in line:
        line += f" --project-dir {shlex.quote(project)}"
    if fmt != "NONE" and "--log-format" not in line:
        line += f" --log-format {fmt.lower()}"
    if "--log-path" not in line:
        line += " --log-path logs"
    return line


class LegacyDbt(DbtTask):
    """The older one-command dbt tasks: properties become dbt flags, the profile goes to `.profile/`."""

    profiles_file: ClassVar[str] = ".profile/profiles.yml"
    command: ClassVar[str] = ""

    fail_fast: bool | str = False
    warn_error: bool | str = False
    debug: bool | str = False
    dbt_path: str = "./bin/dbt"
    docker_options: dict[str, Any] | None = None

    def image(self) -> str | None:
        if self.docker_options and self.docker_options.get("image"):
            return str(self.docker_options["image"])
        return super().image()

    def uses_docker(self) -> bool:
        return super().uses_docker() or self.docker_options is not None

    def _program(self, ctx: RunContext) -> str:
        """`dbtPath` when it exists here; the venv's `dbt` otherwise (the default `./bin/dbt` is Kestra's)."""
        path = str(ctx.render(self.dbt_path)).strip()
        return path if path.startswith("/") and Path(path).is_file() else "dbt"

    def dbt_args(self, ctx: RunContext, wd: Path) -> list[str]:
        return [*self.command.split(), "--profiles-dir", str(wd / ".profile")]

    def main_commands(self, ctx: RunContext, extra: dict[str, Any], own: list[Path]) -> list[str]:
        wd = Path(extra["workingDir"])
        args = [self._program(ctx), "--log-format", "json"]
        args += [flag for flag, on in (("--debug", self.debug), ("--fail-fast", self.fail_fast),
                                       ("--warn-error", self.warn_error)) if self._bool(ctx, on)]
        args += self.dbt_args(ctx, wd)
        project = str(ctx.render(self.project_dir)).strip() if self.project_dir else ""
        args += ["--project-dir", str(wd / project) if project else str(wd)]
        return [shlex.join(args)]


class LegacyRun(LegacyDbt):
    """Selection and target flags shared by `Build`, `Run`, `Test`, `Seed`, `Snapshot`, `Compile`..."""

    thread: int | str | None = None
    full_refresh: bool | str = False
    target: str | None = None
    selector: str | None = None
    select: list[str] | str | None = None
    exclude: list[str] | str | None = None

    def dbt_args(self, ctx: RunContext, wd: Path) -> list[str]:
        args = super().dbt_args(ctx, wd)
        if self.thread is not None:
            args += ["--threads", str(ctx.render(self.thread))]
        if self._bool(ctx, self.full_refresh):
            args.append("--full-refresh")
        for flag, value in (("--target", self.target), ("--selector", self.selector)):
            if value:
                args += [flag, str(ctx.render(value))]
        for flag, values in (("--select", self.select), ("--exclude", self.exclude)):
            listed = self._list(ctx, values, {})
            if listed:
                args += [flag, *listed]
        return args


class Build(LegacyRun):
    """Run `dbt build` (the older task; prefer DbtCLI)."""

    command: ClassVar[str] = "build"


class Run(LegacyRun):
    """Run `dbt run` (the older task; prefer DbtCLI)."""

    command: ClassVar[str] = "run"


class Test(LegacyRun):
    """Run `dbt test` (the older task; prefer DbtCLI)."""

    command: ClassVar[str] = "test"


class Seed(LegacyRun):
    """Run `dbt seed` (the older task; prefer DbtCLI)."""

    command: ClassVar[str] = "seed"


class Snapshot(LegacyRun):
    """Run `dbt snapshot` (the older task; prefer DbtCLI)."""

    command: ClassVar[str] = "snapshot"


class Compile(LegacyRun):
    """Run `dbt compile` (the older task; prefer DbtCLI)."""

    command: ClassVar[str] = "compile"


class Deps(LegacyRun):
    """Run `dbt deps` (the older task; prefer DbtCLI). It writes no run results."""

    command: ClassVar[str] = "deps"
    parses_results: ClassVar[bool] = False


class Freshness(LegacyRun):
    """Run `dbt source freshness` (the older task; prefer DbtCLI). Its results are not read."""

    command: ClassVar[str] = "source freshness"
    parses_results: ClassVar[bool] = False


class List(LegacyRun):
    """Run `dbt list` (the older task; prefer DbtCLI). It writes no run results."""

    command: ClassVar[str] = "list"
    parses_results: ClassVar[bool] = False
