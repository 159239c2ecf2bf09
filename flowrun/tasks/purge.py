"""The purge tasks: PurgeExecutions, PurgeLogs and PurgeKV, Kestra's system tasks that delete old data."""

from __future__ import annotations

import re
from typing import Any

from flowrun.errors import TaskError
from flowrun.tasks.base import RunContext, Task


def _text(ctx: RunContext, value: Any) -> str | None:
    rendered = None if value is None else ctx.render(value)
    return None if rendered is None or str(rendered).strip() == "" else str(rendered).strip()


def _flag(task: Task, ctx: RunContext, value: Any, name: str) -> bool:
    rendered = ctx.render_typed(value) if isinstance(value, str) else value
    if isinstance(rendered, bool):
        return rendered
    if isinstance(rendered, str) and rendered.strip().lower() in ("true", "false"):
        return rendered.strip().lower() == "true"
    raise TaskError(f"task `{task.id}`: `{name}` must be true or false, got {rendered!r}")


def _integer(task: Task, ctx: RunContext, value: Any, name: str) -> int:
    rendered = ctx.render_typed(value) if isinstance(value, str) else value
    try:
        number = int(rendered)
    except (TypeError, ValueError):
        raise TaskError(f"task `{task.id}`: `{name}` must be an integer, got {rendered!r}") from None
    if number < 1:
        raise TaskError(f"task `{task.id}`: `{name}` must be at least 1, got {number}")
    return number


def _strings(ctx: RunContext, value: Any) -> list[str]:
    rendered = ctx.render_typed(value) if isinstance(value, str) else ctx.render(value)
    if rendered is None or rendered == "":
        return []
    items = rendered if isinstance(rendered, list) else [rendered]
    return [str(item).strip() for item in items if str(item).strip()]


def _stamp(task: Task, ctx: RunContext, value: Any, name: str) -> str | None:
    from flowrun.state.cutoff import CutoffError, parse_moment, utc_stamp

    text = _text(ctx, value)
    if text is None:
        return None
    try:
        return utc_stamp(parse_moment(text))
    except CutoffError as exc:
        raise TaskError(f"task `{task.id}`: `{name}`: {exc}; write an ISO date-time such as "
                        "2026-01-31T00:00:00Z, e.g. {{ now() | dateAdd(-1, 'MONTHS') }}") from None


def glob_match(pattern: str) -> Any:
    """A predicate for a wildcard pattern (`*` any run of characters, `?` one), case-sensitive, whole text."""
    regex = re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern),
                       re.DOTALL)
    return lambda text: regex.fullmatch(text) is not None


class PurgeExecutions(Task):
    """Delete finished executions and, per flag, their logs, metrics and internal-storage files.

    An execution is purged when it ended at or before `endDate` (required) and, if set, started at or after
    `startDate`. `namespace` also takes its child namespaces unless `flowId` is set; `states` restricts the
    states. Unfinished executions (RUNNING, PAUSED, QUEUED, CREATED, RETRYING, KILLING, RESTARTED) are never
    purged, even when `states` names them. Outputs: `executionsCount`, `taskOutputsCount`, `logsCount`,
    `storagesCount`, `metricsCount`.
    """

    namespace: str | None = None
    flow_id: str | None = None
    start_date: str | None = None
    end_date: str
    states: list[str] | str | None = None
    purge_execution: bool | str = True
    purge_log: bool | str = True
    purge_metric: bool | str = True
    purge_storage: bool | str = True
    batch_size: int | str = 100

    def run(self, ctx: RunContext) -> dict[str, Any]:
        from flowrun.state.records import ExecutionFilter
        from flowrun.storage.purge import PurgeParts, purge_executions

        states = self._states(ctx)
        counts = {"executionsCount": 0, "taskOutputsCount": 0, "logsCount": 0, "storagesCount": 0,
                  "metricsCount": 0}
        if states is None:
            return counts
        spec = ExecutionFilter(ended_before=_stamp(self, ctx, self.end_date, "endDate"),
                               started_after=_stamp(self, ctx, self.start_date, "startDate"),
                               namespace=_text(ctx, self.namespace), flow_id=_text(ctx, self.flow_id), states=states)
        parts = PurgeParts(executions=_flag(self, ctx, self.purge_execution, "purgeExecution"),
                           logs=_flag(self, ctx, self.purge_log, "purgeLog"),
                           metrics=_flag(self, ctx, self.purge_metric, "purgeMetric"),
                           storage=_flag(self, ctx, self.purge_storage, "purgeStorage"))
        services = ctx.services()
        selection = services.db.select_executions(spec)
        if selection.unfinished:
            ctx.logger.info(f"kept {len(selection.unfinished)} unfinished execution(s): they are never purged")
        purged = purge_executions(services.db, services.storage, selection.purgeable, parts,
                                  _integer(self, ctx, self.batch_size, "batchSize"))
        found = purged.counts()
        counts.update(executionsCount=found["executions"], taskOutputsCount=found["taskOutputs"],
                      logsCount=found["logs"], storagesCount=found["files"], metricsCount=found["metrics"])
        ctx.logger.info(f"purged {found['executions']} execution(s), {found['logs']} log line(s), "
                        f"{found['metrics']} metric(s) and {found['files']} file(s)")
        return counts

    def _states(self, ctx: RunContext) -> tuple[str, ...] | None:
        """The finished states asked for; () for any; None when only unfinished states were named."""
        from flowrun.model.execution import STATES
        from flowrun.state.purge import FINISHED

        wanted = [s.upper() for s in _strings(ctx, self.states)] if self.states is not None else []
        unknown = [s for s in wanted if s not in STATES]
        if unknown:
            raise TaskError(f"task `{self.id}`: `states`: unknown state `{unknown[0]}`; use {', '.join(FINISHED)}")
        kept = [s for s in wanted if s not in FINISHED]
        if kept:
            ctx.logger.warn(f"states {', '.join(kept)} are never purged: unfinished executions always stay")
        finished = tuple(s for s in wanted if s in FINISHED)
        return None if wanted and not finished else finished


class PurgeLogs(Task):
    """Delete log lines written at or before `endDate` (required) and, if set, at or after `startDate`.

    Filters: `namespace` and `flowId` (matched through the line's execution), `executionId`, `logLevels`.
    Logs of unfinished executions are kept. flowrun writes no logs outside executions, so
    `purgeNonExecutionLogs` finds none. `batchSize` is accepted (Kestra uses it on MySQL only). Outputs:
    `count`, `executionLogsCount`, `nonExecutionLogsCount`.
    """

    namespace: str | None = None
    flow_id: str | None = None
    execution_id: str | None = None
    log_levels: list[str] | str | None = None
    start_date: str | None = None
    end_date: str
    purge_execution_logs: bool | str = True
    purge_non_execution_logs: bool | str = True
    batch_size: int | str | None = None

    def run(self, ctx: RunContext) -> dict[str, Any]:
        from flowrun.state.records import LogFilter

        end = _stamp(self, ctx, self.end_date, "endDate")
        if end is None:
            raise TaskError(f"task `{self.id}`: `endDate` rendered empty")
        _flag(self, ctx, self.purge_non_execution_logs, "purgeNonExecutionLogs")
        if self.batch_size is not None:
            _integer(self, ctx, self.batch_size, "batchSize")
        deleted = 0
        if _flag(self, ctx, self.purge_execution_logs, "purgeExecutionLogs"):
            spec = LogFilter(end=end, start=_stamp(self, ctx, self.start_date, "startDate"),
                             namespace=_text(ctx, self.namespace), flow_id=_text(ctx, self.flow_id),
                             execution_id=_text(ctx, self.execution_id), levels=self._levels(ctx))
            deleted = ctx.services().db.delete_logs(spec)
        ctx.logger.info(f"purged {deleted} log line(s)")
        return {"count": deleted, "executionLogsCount": deleted, "nonExecutionLogsCount": 0}

    def _levels(self, ctx: RunContext) -> tuple[str, ...]:
        from flowrun.state.purge import LOG_LEVELS

        levels = tuple("WARN" if s.upper() == "WARNING" else s.upper() for s in _strings(ctx, self.log_levels))
        unknown = [s for s in levels if s not in LOG_LEVELS]
        if unknown:
            raise TaskError(f"task `{self.id}`: `logLevels`: unknown level `{unknown[0]}`; "
                            f"use {', '.join(LOG_LEVELS)}")
        return levels


class PurgeKV(Task):
    """Delete KV entries: only expired ones by default (`behavior: {type: key, expiredOnly: true}`).

    `namespaces` (with their child namespaces unless `includeChildNamespaces: false`) or `namespacePattern`
    (a `*`/`?` wildcard) choose the namespaces, all of them when neither is set; `keyPattern` keeps only
    matching keys. The deprecated `expiredOnly` overrides `behavior`. flowrun keeps one version per key, so
    `behavior.type: version` is not available. Output: `size`, the number of entries deleted.
    """

    key_pattern: str | None = None
    namespaces: list[str] | str | None = None
    namespace_pattern: str | None = None
    behavior: dict[str, Any] | None = None
    include_child_namespaces: bool | str = True
    expired_only: bool | str | None = None

    def run(self, ctx: RunContext) -> dict[str, Any]:
        store = ctx.kv()
        namespaces = self._namespaces(ctx, store.namespaces())
        expired_only = self._expired_only(ctx)
        pattern = _text(ctx, self.key_pattern)
        matches = glob_match(pattern) if pattern else None
        ctx.logger.info(f"purging {len(namespaces)} namespace(s): {', '.join(namespaces) or '-'}")
        size = sum(store.purge(namespace, expired_only=expired_only, key_matches=matches) for namespace in namespaces)
        ctx.logger.info(f"purged {size} key(s)")
        return {"size": size}

    def _namespaces(self, ctx: RunContext, known: list[str]) -> list[str]:
        given = _strings(ctx, self.namespaces) if self.namespaces is not None else []
        pattern = _text(ctx, self.namespace_pattern)
        if given and pattern:
            raise TaskError(f"task `{self.id}`: `namespaces` and `namespacePattern` can't be used at the same "
                            "time; use one or the other")
        if pattern:
            matches = glob_match(pattern)
            return [ns for ns in known if matches(ns)]
        if not given:
            return known
        children = _flag(self, ctx, self.include_child_namespaces, "includeChildNamespaces")
        chosen = [ns for ns in known if ns in given or children and any(ns.startswith(g + ".") for g in given)]
        return chosen + [ns for ns in given if ns not in chosen]

    def _expired_only(self, ctx: RunContext) -> bool:
        if self.expired_only is not None:
            return _flag(self, ctx, self.expired_only, "expiredOnly")
        behavior = ctx.render_typed(self.behavior) if self.behavior is not None else {"type": "key"}
        if not isinstance(behavior, dict) or str(behavior.get("type", "")).lower() != "key":
            kind = behavior.get("type") if isinstance(behavior, dict) else behavior
            raise TaskError(f"task `{self.id}`: `behavior.type` `{kind}` is not supported; flowrun keeps one "
                            "version per key, so use `type: key` (with `expiredOnly`)")
        unknown = sorted(set(behavior) - {"type", "expiredOnly"})
        if unknown:
            raise TaskError(f"task `{self.id}`: `behavior.{unknown[0]}` is not a property of behavior type `key`; "
                            "it takes `expiredOnly`")
        return _flag(self, ctx, behavior.get("expiredOnly", True), "behavior.expiredOnly")
