"""The web UI's pages: one sandboxed, autoescaping Jinja2 environment and the helpers its templates use."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse

from flowrun.report.html import template_env
from flowrun.report.labels import shown_labels

TEMPLATES = Path(__file__).parent / "templates"


@cache
def environment() -> Any:
    env = template_env(TEMPLATES)
    env.globals.update(shown_labels=shown_labels, trigger_text=trigger_text)
    return env


def trigger_text(trigger: Any) -> str:
    """The trigger column of the executions table: the trigger's id (or type), else `manual`."""
    if not isinstance(trigger, dict):
        return "manual"
    return str(trigger.get("id") or trigger.get("type") or ("schedule" if "date" in trigger else "trigger"))


def page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    """Render template `name` with the CSRF token (for its forms) and the request's path."""
    access = request.app.state.access
    html = environment().get_template(name).render(csrf=access.csrf, path=request.url.path,
                                                   query=request.query_params, **context)
    return HTMLResponse(html, status_code=status)


def error_page(request: Request, message: str, hint: str | None = None, status: int = 400) -> HTMLResponse:
    return page(request, "error.html", status=status, message=message, hint=hint or "")
