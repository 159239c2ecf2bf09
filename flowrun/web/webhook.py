"""Kestra's webhook endpoint: a request whose key matches a flow's Webhook trigger starts one execution.

Answers as Kestra does: 200 with the execution, 204 when the trigger's conditions do not hold, 404 for an
unknown flow or key; with the trigger's `wait`, 200 once the execution ended, and with `returnOutputs`, its
outputs instead of the execution.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from flowrun.web import jobs

MAX_BODY = 10 * 1024 * 1024
#: request headers kept out of `trigger.headers` (and so out of the state DB)
PRIVATE_HEADERS = ("authorization", "cookie", "proxy-authorization")


async def _body(request: Request) -> bytes | None:
    """The request body, read no further than MAX_BODY (the endpoint needs no credentials); None past it."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def _request_variables(request: Request) -> dict[str, Any]:
    raw = await _body(request)
    if raw is None:
        return {"error": f"body too large (at most {MAX_BODY // (1024 * 1024)} MiB)"}
    text = raw.decode("utf-8", "replace")
    try:
        body: Any = json.loads(text) if text.strip() else None
    except ValueError:
        body = text
    headers = {k: v for k, v in request.headers.items() if k not in PRIVATE_HEADERS}
    return {"body": body, "headers": headers,
            "parameters": {k: request.query_params.getlist(k) for k in request.query_params.keys()}}


def _not_found(message: str) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=404)


async def webhook(request: Request) -> Response:
    from flowrun.app.inspect import show_execution
    from flowrun.app.webhook import find_webhook

    home = request.app.state.home
    namespace, flow_id, key = (request.path_params[k] for k in ("namespace", "flow_id", "key"))
    match = await run_in_threadpool(find_webhook, home, namespace, flow_id, key)
    if match is None:
        return _not_found("Webhook not found")
    variables = await _request_variables(request)
    if "error" in variables:
        return JSONResponse({"message": variables["error"]}, status_code=413)
    action = {"kind": "webhook", "namespace": namespace, "flowId": flow_id, "key": key, "request": variables}
    started = await run_in_threadpool(jobs.start, action, home, None)
    if started.reply.get("skipped"):
        return Response(status_code=204)
    if started.error:
        return JSONResponse({"message": started.error}, status_code=500)
    execution_id = str(started.execution_id)
    if match.trigger.wait:
        await run_in_threadpool(started.wait)
    data = await run_in_threadpool(show_execution, home, execution_id)
    if match.trigger.wait and match.trigger.return_outputs:
        return JSONResponse(data.get("outputs") or {})
    return JSONResponse(data)
