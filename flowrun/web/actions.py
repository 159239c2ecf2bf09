"""The state-changing requests (POST with a CSRF token): run, restart, replay, kill, resume, backfill."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from flowrun.errors import FlowrunError
from flowrun.web import jobs
from flowrun.web.pages import execution_page, flow_page, home_of
from flowrun.web.render import page


async def checked_form(request: Request) -> FormData:
    """The submitted form; 403 unless it carries this server's CSRF token."""
    form = await request.form()
    if not request.app.state.access.csrf_ok(form.get("csrf")):
        raise HTTPException(403, "403 Forbidden: missing or wrong CSRF token; reload the page and submit again")
    return form


def _state_dir(request: Request) -> Path:
    from flowrun.project import open_project

    return open_project(home_of(request)).home


def _log_path(request: Request) -> str:
    state = _state_dir(request)
    state.mkdir(parents=True, exist_ok=True)
    return str(state / "server-jobs.log")


async def _start(request: Request, action: dict[str, Any]) -> jobs.Started:
    return await run_in_threadpool(jobs.start, action, home_of(request), _log_path(request))


def _message(started: jobs.Started) -> str:
    hint = started.reply.get("hint")
    return f"{started.error}\nhint: {hint}" if hint else str(started.error)


async def run_flow(request: Request) -> Response:
    from flowrun.app.browse import flow_detail
    from flowrun.web.forms import labels_of, submitted_inputs

    form = await checked_form(request)
    namespace, flow_id = request.path_params["namespace"], request.path_params["flow_id"]
    detail = await run_in_threadpool(flow_detail, home_of(request), namespace, flow_id)
    if detail.flow is None:
        return await flow_page(request, error="the flow is invalid: fix its problems first", status=400)
    saved: list[Path] = []
    try:
        inputs = await submitted_inputs(form, detail.flow.inputs, _state_dir(request) / "uploads", saved)
        started = await _start(request, {"kind": "run", "flow": str(detail.entry.path), "inputs": inputs,
                                         "labels": labels_of(form)})
    finally:
        _discard(saved)
    if started.error:
        return await flow_page(request, error=_message(started), status=400)
    return RedirectResponse(f"/executions/{started.execution_id}", status_code=303)


async def _continue(request: Request, kind: str, **extra: Any) -> Response:
    execution_id = request.path_params["execution_id"]
    started = await _start(request, {"kind": kind, "execution": execution_id, **extra})
    if started.error:
        return await execution_page(request, error=_message(started), status=400)
    return RedirectResponse(f"/executions/{started.execution_id}", status_code=303)


async def restart(request: Request) -> Response:
    form = await checked_form(request)
    return await _continue(request, "restart", latest=form.get("latest") == "true")


async def replay(request: Request) -> Response:
    form = await checked_form(request)
    return await _continue(request, "replay", fromTask=str(form.get("from") or ""))


async def resume(request: Request) -> Response:
    from flowrun.app.report import execution_report
    from flowrun.web.forms import submitted_inputs
    from flowrun.web.pages import resume_specs

    form = await checked_form(request)
    report = await run_in_threadpool(execution_report, home_of(request), request.path_params["execution_id"], False)
    saved: list[Path] = []
    try:
        inputs = await submitted_inputs(form, resume_specs(report), _state_dir(request) / "uploads", saved)
        return await _continue(request, "resume", inputs=inputs)
    finally:
        _discard(saved)


def _discard(saved: list[Path]) -> None:
    """Remove the uploads of one request: the action's process answers once its execution is created, and
    by then it has copied its FILE inputs into the execution's storage."""
    for folder in saved:
        shutil.rmtree(folder, ignore_errors=True)


async def kill(request: Request) -> Response:
    from flowrun.app.kill import kill_execution

    await checked_form(request)
    try:
        execution_id = await run_in_threadpool(kill_execution, home_of(request), request.path_params["execution_id"])
    except FlowrunError as exc:
        return await execution_page(request, error=exc.message, status=400)
    return RedirectResponse(f"/executions/{execution_id}", status_code=303)


def _backfill_request(request: Request, form: Any, dry_run: bool) -> Any:
    from flowrun.app.backfill import BackfillRequest

    try:
        parallel = int(form.get("parallel") or 1)
    except ValueError:
        parallel = 1
    flow = f"{request.path_params['namespace']}/{request.path_params['flow_id']}"
    return BackfillRequest(flow=flow, start=str(form.get("start") or ""), end=str(form.get("end") or ""),
                           parallel=parallel, reprocess=str(form.get("reprocess") or "missing"), dry_run=dry_run,
                           home=home_of(request))


async def backfill_form(request: Request) -> Response:
    flow = f"{request.path_params['namespace']}/{request.path_params['flow_id']}"
    form = {"start": "", "end": "", "reprocess": "missing", "parallel": 1}
    return page(request, "backfill.html", flow=flow, form=form, plans=None, error=None, to_run=0)


async def backfill(request: Request) -> Response:
    """Step `preview`: the dry-run table of the window. Step `start`: run it in a child process."""
    from flowrun.app.backfill import backfill as plan_or_run

    form = await checked_form(request)
    flow = f"{request.path_params['namespace']}/{request.path_params['flow_id']}"
    values = {k: form.get(k) or "" for k in ("start", "end", "reprocess", "parallel")}
    preview = _backfill_request(request, form, dry_run=True)
    try:
        result = await run_in_threadpool(plan_or_run, preview)
    except FlowrunError as exc:
        return page(request, "backfill.html", status=400, flow=flow, form=values, plans=None, error=exc.message,
                    to_run=0)
    if form.get("step") != "start":
        to_run = sum(plan.action == "run" for plan in result.plans)
        return page(request, "backfill.html", flow=flow, form=values, plans=result.plans, error=None, to_run=to_run)
    fields = dataclasses.asdict(_backfill_request(request, form, dry_run=False))
    started = await _start(request, {"kind": "backfill", "request": fields})
    if started.error:
        return page(request, "backfill.html", status=400, flow=flow, form=values, plans=None,
                    error=_message(started), to_run=0)
    return RedirectResponse("/backfills", status_code=303)
