"""The polling http.Trigger in `flowrun tick`: call each endpoint at its interval, start one run per new response."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flowrun.engine.services import StartExecution
from flowrun.errors import FlowrunError, TaskError
from flowrun.model.triggers import HttpTrigger
from flowrun.schedule.plan import render_for, trigger_labels, utc_text
from flowrun.schedule.runner import Job, JobResult, run_job
from flowrun.state.protocol import StateStore

#: the claim `date` of a response: its status code and body, hashed (the same response never runs twice)
PREFIX = "response:"


@dataclass
class HttpSpec:
    """One enabled http.Trigger of a valid, enabled flow."""

    flow: Any
    trigger: HttpTrigger

    @property
    def key(self) -> tuple[str, str, str]:
        return self.flow.namespace, self.flow.id, self.trigger.id

    @property
    def path(self) -> Path:
        return Path(self.flow.path).resolve()

    @property
    def interval(self) -> timedelta:
        from flowrun.durations import parse_duration

        return parse_duration(self.trigger.interval)


def http_specs(project: Any) -> list[HttpSpec]:
    """The http.Triggers of the project's flows (flows that do not load are reported by the schedule scan)."""
    from flowrun.load import load_project_flow

    specs: list[HttpSpec] = []
    for path in project.flow_files():
        try:
            flow = load_project_flow(path, project)
        except FlowrunError:
            continue
        if not flow.doc.disabled:
            specs += [HttpSpec(flow, t) for t in flow.triggers if isinstance(t, HttpTrigger) and not t.disabled]
    return specs


def take_poll(db: StateStore, spec: HttpSpec, now: datetime) -> bool:
    """One store transaction: True (and the poll recorded at `now`) when the trigger is enabled and its interval
    has passed since its last poll."""
    due: list[bool] = []

    def plan(last_tick: str | None) -> tuple[list[str], str | None]:
        last = datetime.fromisoformat(last_tick) if last_tick else None
        if last is not None and now < last + spec.interval:
            return [], None
        due.append(True)
        return [], utc_text(now)

    db.enqueue_due(spec.key, str(spec.path), plan)
    return bool(due)


class PollContext:
    """The little of a task's RunContext that the Request task needs to send the trigger's request."""

    def __init__(self, spec: HttpSpec, services: Any) -> None:
        from flowrun.engine.context import TemplateRuntime

        self.services, self.spec = services, spec
        self.runtime = TemplateRuntime(services, spec.flow.namespace, None)
        self.variables = {"flow": {"id": spec.flow.id, "namespace": spec.flow.namespace},
                          "envs": services.envs, "globals": services.globals}
        self.cancel = threading.Event()
        self.logger = self
        self.lines: list[str] = []

    def _render(self, value: Any, typed: bool, extra: dict[str, Any]) -> Any:
        from flowrun.templating import TemplateError, render_value

        try:
            return render_value(value, {**self.variables, **extra}, self.runtime, typed=typed)
        except TemplateError as exc:
            raise TaskError(f"trigger `{self.spec.trigger.id}`: {exc.message}") from None

    def render(self, value: Any, **extra: Any) -> Any:
        return self._render(value, False, extra)

    def render_typed(self, value: Any, **extra: Any) -> Any:
        return self._render(value, True, extra)

    def log(self, level: str, message: str) -> None:
        self.lines.append(f"{level} {message}")

    def trace(self, message: str) -> None:
        self.log("TRACE", message)

    debug = info = warn = error = trace

    def register_secret(self, value: Any) -> None:
        self.services.masker.add(value)

    def metric(self, *args: Any, **kwargs: Any) -> None:
        return None

    @property
    def storage(self) -> Any:
        raise TaskError("an http.Trigger cannot send internal-storage files")


def _request(spec: HttpSpec) -> Any:
    from flowrun.tasks.http import HttpOptions, Request, SslSpec

    trigger = spec.trigger
    uri = trigger.uri
    if trigger.params:
        from urllib.parse import urlencode

        uri += ("&" if "?" in uri else "?") + urlencode(trigger.params, doseq=True)
    options = HttpOptions.model_validate({**(trigger.options or {}), "allowFailed": True})
    return Request(id=trigger.id, type="io.kestra.plugin.core.http.Request", uri=uri, method=trigger.method,
                   body=trigger.body, form_data=trigger.form_data, content_type=trigger.content_type,
                   headers=trigger.headers, options=options, encrypt_body=trigger.encrypt_body,
                   ssl_options=SslSpec.model_validate(trigger.ssl_options) if trigger.ssl_options else None)


def poll(spec: HttpSpec, services: Any) -> dict[str, Any] | None:
    """Call the endpoint; the Request outputs (the `trigger` variables) when `responseCondition` holds."""
    from flowrun.templating.truth import is_true

    ctx = PollContext(spec, services)
    output = _request(spec).run(ctx)  # type: ignore[arg-type]
    body = output.get("body", output.get("encryptedBody"))
    response = {"statusCode": output["code"], "body": body, "headers": output["headers"]}
    if not is_true(ctx.render(spec.trigger.response_condition, response=response)):
        return None
    return output


def response_key(output: dict[str, Any]) -> str:
    body = output.get("body", output.get("encryptedBody"))
    digest = hashlib.sha256(json.dumps([output["code"], body]).encode()).hexdigest()
    return PREFIX + digest[:32]


def fire(db: StateStore, spec: HttpSpec, output: dict[str, Any], home: str, start: StartExecution) -> JobResult | None:
    """Start the flow for this response unless the same response already started it (None then)."""
    claim = db.take_date_claim(spec.key, response_key(output), None, "http", str(spec.path))
    if claim is None:
        return None
    variables = dict(output)
    inputs = render_for(spec.flow, spec.trigger.id, spec.trigger.inputs or {}, variables)
    job = Job(claim, str(spec.path), home, dict(inputs), trigger_labels(spec.flow, spec.trigger, variables),
              variables, spec.trigger.stop_after)
    try:
        result = run_job(job, start)
    except KeyboardInterrupt:
        db.release_claim(claim)
        raise
    if result.interrupted or result.execution_id is None:
        db.release_claim(claim)  # not run: the next poll that sees this response starts it
    return result


def poll_due(project: Any, db: StateStore, now: datetime, start: StartExecution,
             services: Callable[[], Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """Poll every http.Trigger whose interval has passed; the runs started and the problems met.

    `services()` opens the project's services (secrets for the request), only when some trigger is due.
    """
    runs: list[dict[str, Any]] = []
    problems: list[str] = []
    specs = [spec for spec in http_specs(project) if take_poll(db, spec, now)]
    opened = services() if specs else None
    for spec in specs:
        where = f"trigger `{spec.trigger.id}` of {spec.flow.namespace}/{spec.flow.id}"
        try:
            output = poll(spec, opened)
        except (FlowrunError, TaskError) as exc:
            problems.append(f"{where}: {exc.message}")
            continue
        if output is None:
            continue
        result = fire(db, spec, output, str(project.home), start)
        if result is not None:
            runs.append({"flow": f"{spec.key[0]}/{spec.key[1]}", "trigger": spec.key[2], "date": utc_text(now),
                         "executionId": result.execution_id, "state": result.state, "error": result.error})
    return runs, problems
