"""HTTP tasks (Kestra's `http.Download` and `http.Request`) over `requests`, imported only when a task runs."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlsplit

from flowrun.durations import DurationError, parse_duration
from flowrun.errors import TaskError, TaskKilled
from flowrun.model.base import Strict
from flowrun.model.lite import Field
from flowrun.tasks.base import RunContext, Task

if TYPE_CHECKING:
    import requests

CHUNK = 1024 * 1024
MAX_BODY = 10 * 1024 * 1024  # Request keeps its body in the outputs: Kestra caps it at 10 MB by default
_LOGS = {"TRACE": ["REQUEST_HEADERS", "REQUEST_BODY", "RESPONSE_HEADERS", "RESPONSE_BODY"],
         "DEBUG": ["REQUEST_HEADERS", "RESPONSE_HEADERS"], "INFO": ["RESPONSE_HEADERS"]}


class TimeoutSpec(Strict):
    connect_timeout: str | None = None
    read_idle_timeout: str | None = None


class ProxySpec(Strict):
    type: str = "DIRECT"
    address: str | None = None
    port: int | str | None = None
    username: str | None = None
    password: str | None = None


class AuthSpec(Strict):
    type: str
    username: str | None = None
    password: str | None = None
    token: str | None = None


class SslSpec(Strict):
    insecure_trust_all_certificates: bool | str | None = None


class HttpOptions(Strict):
    """`options`: Kestra's `HttpConfiguration`, with its deprecated flat properties still accepted."""

    timeout: TimeoutSpec | None = None
    proxy: ProxySpec | None = None
    auth: AuthSpec | None = None
    ssl: SslSpec | None = None
    follow_redirects: bool | str = True
    allow_failed: bool | str = False
    allowed_response_codes: list[int] | str | None = None
    default_charset: str = "UTF-8"
    enabled_tcp_extended_keep_alive: bool | str = True  # a JVM socket tuning: accepted, no effect here
    logs: list[str] | None = None
    # deprecated in Kestra, mapped onto the properties above
    connect_timeout: str | None = None
    read_timeout: str | None = None
    read_idle_timeout: str | None = None
    connection_pool_idle_timeout: str | None = None
    max_content_length: int | str | None = None
    proxy_type: str | None = None
    proxy_address: str | None = None
    proxy_port: int | str | None = None
    proxy_username: str | None = None
    proxy_password: str | None = None
    basic_auth_user: str | None = None
    basic_auth_password: str | None = None
    log_level: str | None = None


@dataclass
class Call:
    """One rendered HTTP call: what `requests` is given, plus the knobs the task checks afterwards."""

    method: str
    url: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    allow_failed: bool = False
    allowed_codes: list[int] | None = None
    logs: list[str] = field(default_factory=list)


def _flag(ctx: RunContext, value: Any) -> bool:
    rendered = ctx.render(value) if isinstance(value, str) else value
    return rendered.strip().lower() == "true" if isinstance(rendered, str) else bool(rendered)


def _text(ctx: RunContext, value: Any) -> str | None:
    return None if value is None else str(ctx.render(value))


def _seconds(ctx: RunContext, value: str | None, name: str) -> float | None:
    text = _text(ctx, value)
    try:
        return None if text is None else parse_duration(text).total_seconds()
    except DurationError as exc:
        raise TaskError(f"options.{name}: {exc.message}") from None


class HttpTask(Task):
    """Request properties shared by `Download` and `Request` (Kestra's `AbstractHttp`)."""

    uri: str
    method: str = "GET"
    body: Any = None
    form_data: dict[str, Any] | None = None
    content_type: str = "application/json"
    headers: dict[str, Any] | None = None
    options: HttpOptions = Field(default_factory=HttpOptions)
    ssl_options: SslSpec | None = None
    allow_failed: bool | str = False

    def prepare(self, ctx: RunContext, files: ExitStack) -> Call:
        """Render everything into a `Call`; multipart files are opened on `files`."""
        opts = self.options
        call = Call(method=str(ctx.render(self.method)).upper(),
                    url=str(ctx.render(self.uri)).strip().replace(" ", "%20"),
                    allow_failed=_flag(ctx, opts.allow_failed) or _flag(ctx, self.allow_failed))
        codes = ctx.render_typed(opts.allowed_response_codes)
        call.allowed_codes = [int(c) for c in codes] if codes else None
        kw = call.kwargs
        headers: dict[str, str] = {}
        content_type = _text(ctx, self.content_type)
        charset = _text(ctx, opts.default_charset) or "UTF-8"
        form = ctx.render(self.form_data) if self.form_data else None
        if form and content_type == "multipart/form-data":
            kw["files"] = {k: self._part(ctx, v, files) for k, v in form.items()}
        elif form:
            kw["data"] = {k: v if isinstance(v, str) else json.dumps(v) for k, v in form.items()}
        elif self.body is not None:
            body = ctx.render(self.body)
            kw["data"] = (body if isinstance(body, str) else json.dumps(body)).encode(charset)
            if content_type:
                has_charset = "charset=" in content_type.lower()
                headers["Content-Type"] = content_type if has_charset else f"{content_type}; charset={charset}"
        elif content_type:
            headers["Content-Type"] = content_type
        headers.update({str(k): str(v) for k, v in (ctx.render(self.headers) or {}).items()})
        kw["headers"] = headers
        self._auth(ctx, call)
        timeout = opts.timeout or TimeoutSpec()
        read = timeout.read_idle_timeout or opts.read_idle_timeout or opts.read_timeout
        kw["timeout"] = (_seconds(ctx, timeout.connect_timeout or opts.connect_timeout, "connectTimeout"),
                         _seconds(ctx, read, "readIdleTimeout") or 300.0)
        kw["allow_redirects"] = _flag(ctx, opts.follow_redirects)
        ssl = opts.ssl or self.ssl_options
        if ssl and _flag(ctx, ssl.insecure_trust_all_certificates):
            import urllib3

            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
            kw["verify"] = False
        self._proxy(ctx, call)
        level = (_text(ctx, opts.log_level) or "").upper()
        call.logs = [str(x).upper() for x in (ctx.render(opts.logs) or _LOGS.get(level, []))]
        return call

    def _part(self, ctx: RunContext, value: Any, files: ExitStack) -> tuple[str | None, Any]:
        if isinstance(value, str) and value.startswith("kestra://"):
            path = ctx.storage.local_path(value)
            return path.name, files.enter_context(path.open("rb"))
        if isinstance(value, dict) and {"name", "content"} <= value.keys():
            path = ctx.storage.local_path(str(value["content"]))
            return str(value["name"]), files.enter_context(path.open("rb"))
        return None, value if isinstance(value, str) else json.dumps(value)

    def _auth(self, ctx: RunContext, call: Call) -> None:
        opts = self.options
        auth = opts.auth or (AuthSpec(type="BASIC", username=opts.basic_auth_user,
                                      password=opts.basic_auth_password)
                             if opts.basic_auth_user or opts.basic_auth_password else None)
        if auth is None:
            return
        kind = str(ctx.render(auth.type)).upper()
        if kind == "BASIC":
            user, password = _text(ctx, auth.username) or "", _text(ctx, auth.password) or ""
            if password:
                ctx.register_secret(password)
            call.kwargs["auth"] = (user, password)
        elif kind == "BEARER":
            token = _text(ctx, auth.token) or ""
            if token:
                ctx.register_secret(token)
            call.kwargs["headers"]["Authorization"] = f"Bearer {token}"
        else:
            raise TaskError(f"options.auth.type `{kind}` is not BASIC or BEARER")

    def _proxy(self, ctx: RunContext, call: Call) -> None:
        opts = self.options
        spec = opts.proxy or ProxySpec(type=opts.proxy_type or "DIRECT", address=opts.proxy_address,
                                       port=opts.proxy_port, username=opts.proxy_username,
                                       password=opts.proxy_password)
        kind, address = str(ctx.render(spec.type)).upper(), _text(ctx, spec.address)
        if kind == "DIRECT" or not address:
            return
        scheme = {"HTTP": "http", "SOCKS": "socks5h"}.get(kind)
        if scheme is None:
            raise TaskError(f"options.proxy.type `{kind}` is not DIRECT, HTTP or SOCKS")
        user, password = _text(ctx, spec.username), _text(ctx, spec.password)
        if password:
            ctx.register_secret(password)
        creds = f"{quote(user or '', safe='')}:{quote(password or '', safe='')}@" if user else ""
        port = f":{_text(ctx, spec.port)}" if spec.port is not None else ""
        url = f"{scheme}://{creds}{address}{port}"
        call.kwargs["proxies"] = {"http": url, "https": url}

    def send(self, ctx: RunContext, stack: ExitStack) -> tuple[Call, requests.Response]:
        """Render and send the request (body streamed); transport failures become one-line `TaskError`s."""
        import requests

        call = self.prepare(ctx, stack)
        if "REQUEST_HEADERS" in call.logs:
            ctx.logger.info(f"request headers: {call.kwargs['headers']}")
        if "REQUEST_BODY" in call.logs and isinstance(call.kwargs.get("data"), bytes | str):
            ctx.logger.info(f"request body: {call.kwargs['data']!r:.2000}")
        connect, read = call.kwargs["timeout"]
        session = stack.enter_context(requests.Session())
        try:
            response = stack.enter_context(session.request(call.method, call.url, stream=True, **call.kwargs))
        except requests.exceptions.SSLError as exc:
            raise TaskError(f"TLS error talking to {call.url}: {_reason(exc)}", evidence={
                "hint": "for a self-signed test server set options.ssl.insecureTrustAllCertificates: true"}) from None
        except requests.exceptions.ConnectTimeout:
            raise TaskError(f"cannot connect to {call.url}: no answer within {connect}s") from None
        except requests.exceptions.ReadTimeout:
            raise TaskError(f"{call.url} sent nothing for {read}s (options.timeout.readIdleTimeout)") from None
        except requests.exceptions.ConnectionError as exc:
            raise TaskError(f"cannot connect to {call.url}: {_reason(exc)}") from None
        except requests.exceptions.RequestException as exc:
            raise TaskError(f"cannot send {call.method} {call.url}: {exc}") from None
        if "RESPONSE_HEADERS" in call.logs:
            ctx.logger.info(f"response {response.status_code} headers: {dict(response.headers)}")
        code = response.status_code
        if (code not in call.allowed_codes) if call.allowed_codes else (code >= 400 and not call.allow_failed):
            snippet = _snippet(response)
            first = snippet.strip().splitlines()[0][:200] if snippet.strip() else ""
            raise TaskError(f"{call.method} {call.url} failed with HTTP {response.status_code} {response.reason}"
                            + (f": {first}" if first else ""),
                            evidence={"code": response.status_code, "body": snippet,
                                      "hint": "set allowFailed: true (options.allowFailed) to accept it"})
        return call, response

    def chunks(self, ctx: RunContext, call: Call, response: requests.Response) -> Iterator[bytes]:
        """The body in 1 MB chunks; a cut-off body (shorter than its Content-Length) fails the task."""
        import requests

        size, announced = 0, response.headers.get("Content-Length")
        try:
            for chunk in response.iter_content(CHUNK):
                if ctx.cancel.is_set():
                    raise TaskKilled(f"reading {call.url} interrupted")
                size += len(chunk)
                yield chunk
        except requests.exceptions.RequestException as exc:
            expected = f" of the {announced} bytes announced by Content-Length" if announced else ""
            raise TaskError(f"the response of {call.url} broke off after {size} bytes{expected}: {_reason(exc)}",
                            evidence={"url": call.url, "code": response.status_code}) from None


class Download(HttpTask):
    """Download a file over HTTP into internal storage; outputs `uri`, `code`, `length` and `headers`.

    The stored name is `saveAs`, else the Content-Disposition file name, else random with the URL's extension.
    HTTP errors (>= 400, unless `allowFailed`), an empty body (unless `failOnEmptyResponse: false`) and a body
    shorter than its Content-Length fail the task.
    """

    fail_on_empty_response: bool | str = True
    save_as: str | None = None

    def run(self, ctx: RunContext) -> dict[str, Any]:
        with ExitStack() as stack:
            call, response = self.send(ctx, stack)
            disposition = response.headers.get("Content-Disposition")
            path, uri = ctx.storage.new_file(_file_name(call.url, _text(ctx, self.save_as), disposition))
            size = 0
            try:
                with path.open("wb") as out:
                    for chunk in self.chunks(ctx, call, response):
                        out.write(chunk)
                        size += len(chunk)
                if size == 0 and _flag(ctx, self.fail_on_empty_response) and not call.allow_failed:
                    raise TaskError(f"{call.url} returned an empty body (HTTP {response.status_code})", evidence={
                        "url": call.url, "code": response.status_code,
                        "hint": "set failOnEmptyResponse: false to accept empty files"})
            except BaseException:
                path.unlink(missing_ok=True)
                raise
            if size == 0:
                ctx.logger.warn(f"File '{call.url}' is empty")
            ctx.logger.debug(f"File '{call.url}' downloaded with size '{size}'")
            ctx.metric("response.length", "counter", float(size))
            return {"uri": uri, "code": response.status_code, "length": size, "headers": _headers(response)}


class Request(HttpTask):
    """Call an HTTP API; outputs `uri`, `code`, `headers` (name -> list) and `body` (UTF-8 text, not parsed).

    With `encryptBody: true` the body is output as `encryptedBody` instead, stored encrypted and masked in logs.
    """

    encrypt_body: bool | str = False

    def run(self, ctx: RunContext) -> dict[str, Any]:
        with ExitStack() as stack:
            call, response = self.send(ctx, stack)
            limit, data = int(_text(ctx, self.options.max_content_length) or MAX_BODY), bytearray()
            for chunk in self.chunks(ctx, call, response):
                data += chunk
                if len(data) > limit:
                    raise TaskError(f"the response of {call.url} exceeds {limit} bytes (options.maxContentLength)",
                                    evidence={"url": call.url, "hint": "use the Download task for large payloads"})
        try:
            body = data.decode("utf-8") if data else None
        except UnicodeDecodeError:
            raise TaskError(f"the response of {call.url} is not UTF-8 text", evidence={
                "url": call.url, "hint": "use the Download task for binary content"}) from None
        if "RESPONSE_BODY" in call.logs:
            ctx.logger.info(f"response body: {body!r:.2000}")
        encrypt = _flag(ctx, self.encrypt_body)
        if encrypt and body:
            ctx.register_secret(body)  # masked in logs and sealed in the state DB, readable downstream
        return {"uri": call.url, "code": response.status_code, "headers": _headers(response),
                "encryptedBody" if encrypt else "body": body}


def _headers(response: requests.Response) -> dict[str, list[str]]:
    raw = getattr(response.raw, "headers", None)
    if raw is not None and hasattr(raw, "getlist"):
        return {str(k): [str(v) for v in raw.getlist(k)] for k in raw.keys()}  # noqa: SIM118
    return {k: [v] for k, v in response.headers.items()}


def _snippet(response: requests.Response, limit: int = 2000) -> str:
    try:
        return next(response.iter_content(limit), b"")[:limit].decode("utf-8", "replace")
    except Exception:  # the error body is evidence only: never mask the HTTP error itself
        return ""


def _reason(exc: BaseException) -> str:
    """The innermost OS reason ('Connection refused', 'Name or service not known') of a requests error."""
    todo, seen = [exc], set()
    while todo:
        err = todo.pop(0)
        if id(err) in seen:
            continue
        seen.add(id(err))
        if isinstance(err, OSError) and err.strerror:
            return err.strerror[0].lower() + err.strerror[1:]
        todo += [e for e in (getattr(err, "reason", None), err.__cause__, err.__context__, *err.args)
                 if isinstance(e, BaseException)]
    return str(exc)


def _file_name(url: str, save_as: str | None, disposition: str | None) -> str:
    """The base name of `saveAs` or else of Content-Disposition (spaces as `+`, as Kestra encodes them), else a
    random name with the URL's extension."""
    name = save_as or None
    for part in (disposition or "").split(";") if name is None else ():
        key, _, value = part.strip().partition("=")
        key = key.strip().lower()
        if key == "filename*":
            charset, _, rest = value.strip().partition("'")
            name = unquote(rest.partition("'")[2], encoding=charset or "utf-8", errors="replace")
        elif key == "filename" and name is None:
            name = value.strip().strip('"')
    name = re.split(r"[\\/]", name)[-1].strip() if name else None
    if name and name not in (".", ".."):
        return name.replace(" ", "+")
    segment = urlsplit(url).path.rsplit("/", 1)[-1]
    ext = segment[segment.rfind("."):] if "." in segment else ""
    return secrets.token_hex(8) + (ext if re.fullmatch(r"\.[\w-]{1,16}", ext) else "")
