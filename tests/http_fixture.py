"""A scriptable local HTTP server on 127.0.0.1: any method, status, headers and body per path, requests recorded."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class Seen:
    """One request as the server received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


#: a route answers (status, headers, body); a callable route computes it from the request
Reply = tuple[int, dict[str, str | list[str]], bytes | str | Iterable[bytes]]
Route = Reply | Callable[[Seen], Reply]


class HttpServer:
    """`server.routes["/a.csv"] = (200, {"Content-Type": "text/csv"}, b"a,b")`, then fetch `server.url("/a.csv")`.

    A header given as a list is sent once per value. Content-Length is set from the body unless the route's
    headers set it (to test short bodies). A body given as an iterable of chunks is sent chunk by chunk.
    """

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Seen] = []
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def reply(self, seen: Seen) -> Reply:
        self.requests.append(seen)
        route = self.routes.get(seen.path.split("?", 1)[0])
        if route is None:
            return 404, {"Content-Type": "text/plain"}, f"no route for {seen.path}"
        return route(seen) if callable(route) else route


def _handler(server: HttpServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            seen = Seen(self.command, self.path, dict(self.headers.items()), self.rfile.read(length))
            status, headers, body = server.reply(seen)
            data = body.encode() if isinstance(body, str) else body
            self.send_response(status)
            for key, value in headers.items():
                for item in value if isinstance(value, list) else [value]:
                    self.send_header(key, item)
            if isinstance(data, bytes) and not any(k.lower() == "content-length" for k in headers):
                self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            try:
                for chunk in [data] if isinstance(data, bytes) else data:
                    self.wfile.write(chunk)
                    self.wfile.flush()
            except OSError:
                pass  # the client hung up (a test of a cancelled download)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve  # noqa: N815 - http.server API

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    return Handler


@pytest.fixture
def http_server() -> Iterator[HttpServer]:
    server = HttpServer()
    server.thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()
