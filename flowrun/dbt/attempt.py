"""One attempt of a dbt task: profile, manifest and venv before its commands; logs, nodes and artifacts after."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from flowrun.dbt import adapters, profiles
from flowrun.dbt.logs import parse_line
from flowrun.dbt.nodes import NodeTracker
from flowrun.errors import TaskError
from flowrun.scripts.environment import activate_venv
from flowrun.scripts.interpreters import default_python
from flowrun.scripts.venvs import VenvError, VenvSpec, ensure_venv

#: where a profile given by the task goes when the task does not say (the legacy tasks use `.profile/`)
PROFILE_PLACES = ("profiles.yml", ".profile/profiles.yml")
_ENV_DEFAULTS = {"PYTHONUNBUFFERED": "true", "PIP_ROOT_USER_ACTION": "ignore",
                 "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DBT_USE_COLORS": "false"}


class DbtAttempt:
    """The attempt hooks of a dbt task (see flowrun.tasks.scripts.AttemptHooks)."""

    def __init__(self, task: Any, ctx: Any, wd: Path) -> None:
        self.task, self.ctx, self.wd = task, ctx, wd
        rel = str(ctx.render(task.project_dir)).strip() if task.project_dir else ""
        self.project = (wd / rel) if rel else wd
        self.started = time.time()
        self.track = task.parses_results and task._bool(ctx, task.parse_run_results)
        self.tracker = NodeTracker(ctx)
        self.warnings = 0
        self.last_error: str | None = None

    @classmethod
    def prepare(cls, task: Any, ctx: Any, wd: Path, env: dict[str, str]) -> DbtAttempt:
        attempt = cls(task, ctx, wd)
        for key, value in _ENV_DEFAULTS.items():
            env.setdefault(key, value)
        text = attempt._write_profiles()
        inherited = env.get("DBT_PROFILES_DIR") == os.environ.get("DBT_PROFILES_DIR")  # not from the task's `env`
        if text is not None and task.profiles_file == "profiles.yml" and inherited:
            env["DBT_PROFILES_DIR"] = str(wd)  # the profile written here wins over a DBT_PROFILES_DIR of the shell
        attempt._load_manifest()
        attempt._install(env, text)
        return attempt

    # -- before the commands ------------------------------------------------------------------------
    def _write_profiles(self) -> str | None:
        if not self.task.profiles:
            return None
        rendered = str(self.ctx.render(self.task.profiles))
        if not rendered.strip():
            return None
        from flowrun.gcp.clients import emulator_endpoint, project_emulators

        local = profiles.localize(rendered, emulator_endpoint("bigquery", project_emulators(self.ctx)))
        for note in local.notes:
            self.ctx.logger.info(note)
        target = self.wd / self.task.profiles_file
        if target.exists():
            self.ctx.logger.info(f"a `{self.task.profiles_file}` already exists in the working directory; "
                                 f"the task's `profiles` overrides it")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(local.text, encoding="utf-8")
        return local.text

    def _load_manifest(self) -> None:
        spec = getattr(self.task, "load_manifest", None)
        if spec is None:
            return
        namespace, key = spec.where(self.ctx)
        value = self.ctx.kv().get(namespace, key)
        if value is None or (isinstance(value, str) and not value.strip()):
            self.ctx.logger.warn(f"loadManifest: no manifest under KV key `{key}` of namespace `{namespace}`")
            return
        target = self.project / "target" / "manifest.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(value if isinstance(value, str) else json.dumps(value), encoding="utf-8")

    def _adapter_types(self, text: str | None) -> list[str]:
        if text is not None:
            found = profiles.adapter_types(profiles.parse_profiles(text))
            if found:
                return found
        for place in (self.wd / "profiles.yml", self.project / "profiles.yml", self.wd / PROFILE_PLACES[1]):
            if place.is_file():
                found = profiles.adapter_types(profiles.parse_profiles(place.read_text(errors="replace")))
                if found:
                    return found
        image = adapters.image_adapter(self.task.image())
        return [image] if image else []

    def _install(self, env: dict[str, str], text: str | None) -> None:
        types = self._adapter_types(text)
        extra = self.task._list(self.ctx, self.task.dependencies, {})
        if not types and not any(r.strip().lower().startswith("dbt-") and "dbt-core" not in r for r in extra):
            raise TaskError("no dbt adapter to install: the profile names no adapter `type` and the container image "
                            f"`{self.task.image() or '-'}` names none (add `profiles`, or a profiles.yml to the "
                            "project, or list the adapter in `dependencies`)")
        interp = default_python(env.get("PATH"))
        if interp is None:
            raise TaskError("no Python interpreter found for dbt (looked for python3 and python on PATH)")
        spec = VenvSpec(interp, adapters.requirements(types, extra))
        try:
            info = ensure_venv(self.ctx.state_dir, spec, self.ctx.logger.info)
        except VenvError as exc:
            raise TaskError(f"dbt could not be installed: {exc.message}", evidence=exc.evidence) from exc
        if info.built:
            self.ctx.logger.info(f"dbt: built venv {info.key} with {list(spec.requirements)} using {info.log[0]} "
                                 f"in {info.seconds:.1f}s")
        else:
            self.ctx.logger.debug(f"dbt: venv {info.key} with {list(spec.requirements)} served from the cache")
        activate_venv(env, info.path)

    # -- while they run -----------------------------------------------------------------------------
    def on_line(self, line: str, is_err: bool) -> bool:
        parsed = parse_line(line)
        if parsed is None:
            return False
        if parsed.stats:
            for name, value in parsed.stats.items():
                self.ctx.metric(name, "counter", float(value))
        if parsed.level == "WARN":
            self.warnings += 1
        elif parsed.level == "ERROR" and parsed.message:
            self.last_error = parsed.message
        if parsed.node is not None and self.track:
            self.tracker.on_event(parsed.node)
        if parsed.message:
            self.ctx.logger.log(parsed.level, parsed.message)
        return True

    # -- after them ---------------------------------------------------------------------------------
    def finish(self, wd: Path, result: Any, outputs: dict[str, Any]) -> None:
        files = outputs.setdefault("outputFiles", {})
        if self.track:
            self.tracker.close_unfinished()
        manifest = self.project / "target" / "manifest.json"
        if manifest.is_file():
            self._store_manifest(manifest)
            files["manifest.json"] = self.ctx.storage.put_file(manifest)
        results = self.project / "target" / "run_results.json"
        if self.track and results.is_file() and results.stat().st_mtime >= self.started - 1:
            try:
                self.tracker.read_run_results(results)
            except (OSError, ValueError) as exc:
                self.ctx.logger.warn(f"cannot read dbt's {results.name}: {exc}")
            files["run_results.json"] = self.ctx.storage.put_file(results)
        if self.track:
            outputs["nodes"] = self.tracker.summaries()
        if result.exit_code == 0 and self.warnings:
            self.ctx.mark_warning()
            self.ctx.logger.warn(f"dbt logged {self.warnings} warning(s), so the task ends WARNING as in Kestra "
                                 f"(set `allowWarning: true` to end SUCCESS)")

    def _store_manifest(self, manifest: Path) -> None:
        spec = getattr(self.task, "store_manifest", None)
        if spec is None:
            return
        namespace, key = spec.where(self.ctx)
        try:
            value = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise TaskError(f"storeManifest: cannot read {manifest}: {exc}") from exc
        from flowrun.errors import FlowrunError

        try:
            self.ctx.kv().set(namespace, key, value, kv_type="JSON")
        except FlowrunError as exc:
            raise TaskError(f"storeManifest: {exc.message}") from exc
        self.ctx.logger.info(f"dbt manifest stored in KV key `{key}` of namespace `{namespace}`")

    def failure(self, error: TaskError) -> TaskError:
        if "failedBeforeCommand" in error.evidence or error.message.startswith("timed out"):
            return error
        failed = self.tracker.failed()
        code = error.evidence.get("exitCode")
        if failed:
            shown = "; ".join(f"{n.unique_id} ({n.status}: {_first_line(n.message or n.status)})" for n in failed[:3])
            more = f" and {len(failed) - 3} more" if len(failed) > 3 else ""
            detail = f"{len(failed)} node{'s' if len(failed) != 1 else ''} failed: {shown}{more}"
        elif self.last_error:
            detail = " ".join(x.strip() for x in self.last_error.splitlines()[:3] if x.strip())
        else:
            return error
        evidence = dict(error.evidence)
        if failed:
            evidence["failedNodes"] = [n.unique_id for n in failed]
        return TaskError(f"dbt failed with exit code {code}: {detail}", evidence=evidence, outputs=error.outputs)


def _first_line(text: str) -> str:
    return next((x.strip() for x in text.splitlines() if x.strip()), text)
