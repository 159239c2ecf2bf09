"""An execution's log lines as server-sent events while it runs, and downloads of its output files."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse

from flowrun.app.inspect import ENDED
from flowrun.app.report import GONE
from flowrun.errors import FlowrunError
from flowrun.web.render import error_page

#: how often a live page's stream looks for new lines (the ≤ 1 s latency budget includes this)
POLL_SECONDS = 0.2


def _event(name: str, data: str) -> bytes:
    lines = "".join(f"data: {part}\n" for part in data.split("\n"))
    return f"event: {name}\n{lines}\n".encode()


async def _follow(follower: Any, after: int, request: Request) -> AsyncIterator[bytes]:
    state = ""
    try:
        while True:
            rows, now = await run_in_threadpool(follower.poll, after)
            for row in rows:
                after = max(after, int(row["id"]))
                yield _event("log", json.dumps({k: row.get(k) for k in ("id", "timestamp", "level", "task_id",
                                                                        "message")}, default=str))
            if now != state:
                state = now
                yield _event("state", now)
            if (now in ENDED or now == GONE) and not rows:
                yield _event("end", now)
                return
            if await request.is_disconnected():
                return
            await asyncio.sleep(POLL_SECONDS if not rows else 0)
    finally:
        await run_in_threadpool(follower.close)


async def log_stream(request: Request) -> Response:
    """`text/event-stream`: `log` events (JSON lines after `?after=ID`), `state` changes, then `end`."""
    from flowrun.app.report import LogFollower

    try:
        after = int(request.query_params.get("after") or 0)
    except ValueError:
        after = 0
    try:
        follower = await run_in_threadpool(LogFollower, request.app.state.home, request.path_params["execution_id"])
    except FlowrunError as exc:
        return error_page(request, exc.message, exc.hint, status=404)
    return StreamingResponse(_follow(follower, after, request), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


async def download(request: Request) -> Response:
    """One output file of the execution (`?uri=kestra:///...`); 404 for a URI outside its storage."""
    from flowrun.app.report import execution_file

    uri = request.query_params.get("uri") or ""
    try:
        path = await run_in_threadpool(execution_file, request.app.state.home, request.path_params["execution_id"], uri)
    except FlowrunError as exc:
        return error_page(request, exc.message, exc.hint, status=404)
    return FileResponse(path, filename=path.name)
