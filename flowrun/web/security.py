"""Who may use `flowrun server`: loopback by default, else HTTP basic (bcrypt-hashed) or a bearer token; CSRF."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import os
import secrets
from dataclasses import dataclass, field
from typing import Any

from flowrun.errors import UsageError

TOKEN_ENV = "FLOWRUN_SERVER_TOKEN"
LOOPBACK_NAMES = ("localhost",)
#: paths served without credentials: a Webhook trigger's `key` is its secret (as in Kestra)
PUBLIC_PREFIXES = ("/api/v1/main/executions/webhook/", "/api/v1/executions/webhook/")


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass
class Access:
    """The credentials a request must carry: none (loopback without --auth), basic user + bcrypt hash, and/or a
    token (as `Authorization: Bearer TOKEN`, or as the basic password). The CSRF token signs state changes."""

    user: str | None = None
    password_hash: bytes | None = None
    token_digest: bytes | None = None
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    loopback: bool = False  # bound to loopback: only requests addressed to a loopback name (no DNS rebinding)
    _accepted: set[bytes] = field(default_factory=set)  # digests of headers that passed bcrypt once

    @property
    def required(self) -> bool:
        return self.password_hash is not None or self.token_digest is not None

    def allows(self, authorization: str | None) -> bool:
        """Whether an `Authorization` header value carries valid credentials (always True when none are set)."""
        if not self.required:
            return True
        if not authorization:
            return False
        digest = hashlib.sha256(authorization.encode()).digest()
        if digest in self._accepted:
            return True
        scheme, _, value = authorization.partition(" ")
        ok = self._bearer(value) if scheme.lower() == "bearer" else scheme.lower() == "basic" and self._basic(value)
        if ok:
            self._accepted.add(digest)
        return ok

    def _bearer(self, token: str) -> bool:
        return self.token_digest is not None and hmac.compare_digest(
            hashlib.sha256(token.strip().encode()).digest(), self.token_digest)

    def _basic(self, value: str) -> bool:
        import bcrypt

        try:
            user, _, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        if self._bearer(password):
            return True
        if self.password_hash is None or self.user is None:
            return False
        same_user = hmac.compare_digest(user.encode(), self.user.encode())
        return bcrypt.checkpw(password.encode(), self.password_hash) and same_user

    def csrf_ok(self, submitted: Any) -> bool:
        return isinstance(submitted, str) and hmac.compare_digest(submitted.encode(), self.csrf.encode())


def access_from(host: str, auth: str | None, env: dict[str, str] | None = None) -> Access:
    """The access rule of a server bound to `host`; a UsageError for a non-loopback bind without credentials."""
    import bcrypt

    token = (env if env is not None else os.environ).get(TOKEN_ENV) or None
    access = Access(loopback=is_loopback(host))
    if auth is not None:
        user, sep, password = auth.partition(":")
        if not sep or not user or not password:
            raise UsageError("--auth must look like user:password", hint="e.g. --auth admin:'a long passphrase'")
        access.user, access.password_hash = user, bcrypt.hashpw(password.encode(), bcrypt.gensalt())
    if token:
        access.token_digest = hashlib.sha256(token.encode()).digest()
    if not is_loopback(host) and not access.required:
        raise UsageError(f"refusing to serve on {host} without authentication: only 127.0.0.1, ::1 and localhost "
                         "are served without it",
                         hint=f"pass --auth user:password (HTTP basic) or set {TOKEN_ENV}, or bind --host 127.0.0.1")
    return access


def host_name(header: bytes | None) -> str:
    """The name part of a Host header (`[::1]:8080` -> `::1`, `localhost:80` -> `localhost`)."""
    text = (header or b"").decode("latin-1").strip().lower()
    if text.startswith("["):
        return text[1:].partition("]")[0]
    return text.rpartition(":")[0] if text.count(":") == 1 else text


async def _refuse(send: Any, status: int, text: str, extra: list[tuple[bytes, bytes]] | None = None) -> None:
    body = text.encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode()),
                            *(extra or [])]})
    await send({"type": "http.response.body", "body": body})


class AuthMiddleware:
    """ASGI middleware: 401 with a basic-auth challenge for a request without valid credentials; on a loopback
    bind, 403 for a request addressed to another host name (a DNS-rebinding page cannot read the UI)."""

    def __init__(self, app: Any, access: Access) -> None:
        self.app, self.access = app, access

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        if self.access.loopback and not self.access.required and not is_loopback(host_name(headers.get(b"host"))):
            await _refuse(send, 403, "403 Forbidden: this flowrun server answers only requests to 127.0.0.1, "
                                     "::1 or localhost\n")
            return
        if not self.access.required or scope["path"].startswith(PUBLIC_PREFIXES):
            await self.app(scope, receive, send)
            return
        header = headers.get(b"authorization")
        if self.access.allows(header.decode("latin-1") if header else None):
            await self.app(scope, receive, send)
            return
        await _refuse(send, 401, "401 Unauthorized: this flowrun server needs credentials (HTTP basic, or Bearer "
                                 "token)\n", [(b"www-authenticate", b'Basic realm="flowrun", charset="UTF-8"')])
