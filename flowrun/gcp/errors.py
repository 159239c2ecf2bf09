"""Turn Google API failures into one-line TaskErrors naming the task, the resource and the reason."""

from __future__ import annotations

import json
import re
from typing import Any

from flowrun.errors import TaskError

_NETWORK = re.compile(r"\[Errno -?\d+\] ([^'\")]+)")
_HOST = re.compile(r"host='([^']+)', port=(\d+)")


def api_failures() -> tuple[type[BaseException], ...]:
    """The exception types a Google client call raises for a remote or network failure (imported lazily)."""
    import requests
    from google.api_core import exceptions
    from google.auth import exceptions as auth_exceptions

    return exceptions.GoogleAPIError, requests.RequestException, auth_exceptions.TransportError


def describe(exc: BaseException) -> tuple[int | None, str | None, str]:
    """(HTTP status, Google reason, first line of the message) of a google-api-core, resumable-media or network error."""
    cause = getattr(exc, "cause", None)  # api_core's RetryError wraps the last failure
    if type(exc).__name__ == "RetryError" and isinstance(cause, BaseException):
        return describe(cause)
    refused = _NETWORK.search(str(exc))
    if refused or isinstance(exc, ConnectionError) or "ConnectionError" in type(exc).__name__:
        host = _HOST.search(str(exc))
        where = f" {host.group(1)}:{host.group(2)}" if host else ""
        return None, None, f"cannot reach{where}: {refused.group(1) if refused else _short(str(exc))}"
    code = getattr(exc, "code", None)
    errors = getattr(exc, "errors", None) or []
    first = errors[0] if errors and isinstance(errors[0], dict) else {}
    reason = first.get("reason") or getattr(exc, "reason", None)
    message = first.get("message") or getattr(exc, "message", None) or str(exc)
    response = getattr(exc, "response", None)
    if code is None and response is not None:  # google.resumable_media.InvalidResponse
        code = getattr(response, "status_code", None)
        message = _body_message(response) or message
    return (code if isinstance(code, int) else None), reason, _short(str(message))


def api_error(task_id: str, action: str, resource: str, exc: BaseException, **evidence: Any) -> TaskError:
    """`task `x`: <action> <resource> failed: <message> (<status> <reason>)` with the details as evidence."""
    code, reason, message = describe(exc)
    tail = " ".join(str(p) for p in (code, reason) if p)
    text = f"task `{task_id}`: {action} {resource} failed: {message}" + (f" ({tail})" if tail else "")
    details = {"resource": resource, "status": code, "reason": reason, "message": message, **evidence}
    return TaskError(text, evidence={k: v for k, v in details.items() if v is not None})


def _body_message(response: Any) -> str | None:
    try:
        body = json.loads(response.text)
    except (ValueError, AttributeError, TypeError):
        return None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("message") or "") or None
    return None


def _short(text: str) -> str:
    """The first meaningful line, without the `Location:`/`Job ID:` trailer google-api-core appends."""
    for line in text.strip().splitlines():
        line = line.strip()
        if line and not line.startswith(("Location:", "Job ID:")):
            return line[:500]
    return text.strip()[:500]
