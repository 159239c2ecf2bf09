"""The Starlette application of `flowrun server`: its routes, error pages and the authentication middleware."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from flowrun.errors import FlowrunError
from flowrun.web import actions, live, pages, webhook
from flowrun.web.render import error_page
from flowrun.web.security import Access, AuthMiddleware

WEBHOOK_METHODS = ["GET", "POST", "PUT"]


async def index(request: Request) -> Response:
    return RedirectResponse("/executions", status_code=302)


async def static(request: Request) -> Response:
    from pathlib import Path

    from flowrun.report.html import stylesheet

    name = request.path_params["name"]
    if name == "style.css":
        return PlainTextResponse(stylesheet(), media_type="text/css")
    if name == "app.js":
        script = (Path(__file__).parent / "static" / "app.js").read_text(encoding="utf-8")
        return PlainTextResponse(script, media_type="text/javascript")
    return PlainTextResponse("not found", status_code=404)


async def flowrun_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, FlowrunError)
    missing = exc.message.startswith("no ")  # "no execution `x`", "no flow a/b under ..."
    return error_page(request, exc.message, exc.hint, status=404 if missing else 400)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return PlainTextResponse(str(exc.detail), status_code=exc.status_code)


class ServerTiming:
    """ASGI middleware: a `Server-Timing: app;dur=MS` header on each response (the time to its first byte)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        import time

        start = time.perf_counter()

        async def timed_send(message: Any) -> None:
            if message["type"] == "http.response.start":
                took = (time.perf_counter() - start) * 1000
                message = {**message, "headers": [*message.get("headers", []),
                                                  (b"server-timing", f"app;dur={took:.2f}".encode())]}
            await send(message)

        await self.app(scope, receive, timed_send)


def routes() -> list[Route]:
    execution = "/executions/{execution_id}"
    flow = "/flows/{namespace}/{flow_id}"
    hook = "/executions/webhook/{namespace}/{flow_id}/{key}"
    return [
        Route("/", index), Route("/static/{name}", static),
        Route("/flows", pages.flows_page), Route(flow, pages.flow_page),
        Route(flow + "/run", actions.run_flow, methods=["POST"]),
        Route(flow + "/backfill", actions.backfill_form), Route(flow + "/backfill", actions.backfill, methods=["POST"]),
        Route("/executions", pages.executions_page), Route(execution, pages.execution_page),
        Route(execution + "/report", pages.report_page), Route(execution + "/file", live.download),
        Route(execution + "/logs/stream", live.log_stream), Route(execution + "/fragments", pages.fragments),
        Route(execution + "/restart", actions.restart, methods=["POST"]),
        Route(execution + "/replay", actions.replay, methods=["POST"]),
        Route(execution + "/resume", actions.resume, methods=["POST"]),
        Route(execution + "/kill", actions.kill, methods=["POST"]),
        Route("/backfills", pages.backfills_page), Route("/kv", pages.kv_page),
        Route("/api/v1/main" + hook, webhook.webhook, methods=WEBHOOK_METHODS),
        Route("/api/v1" + hook, webhook.webhook, methods=WEBHOOK_METHODS),
    ]


def build_app(home: str | None, access: Access) -> Any:
    """The ASGI app over the project of the current directory (or `home`)."""
    app = Starlette(routes=routes(), middleware=[Middleware(ServerTiming), Middleware(AuthMiddleware, access=access)],
                    exception_handlers={FlowrunError: flowrun_error, HTTPException: http_error})
    app.state.home, app.state.access = home, access
    return app
