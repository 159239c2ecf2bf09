"""Running the web UI: bind the socket (port 0 picks a free one), say where it listens, serve until Ctrl-C."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

from flowrun.web.security import Access


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on (host, port); a UsageError naming the address when it is taken."""
    from flowrun.errors import UsageError

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                         hint="choose another --port (0 picks a free one)") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def serve(host: str, port: int, access: Access, home: str | None, notify: Callable[[str], None]) -> None:
    """Serve until interrupted; once it accepts connections, `notify` gets `flowrun server: http://HOST:PORT/`."""
    import uvicorn

    from flowrun.web.app import build_app

    sock = bind(host, port)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{sock.getsockname()[1]}/"
    config = uvicorn.Config(build_app(home, access), log_level="warning", access_log=False, lifespan="off",
                            timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)

    def announce() -> None:
        while not server.started and not server.should_exit:
            time.sleep(0.01)
        if server.started:
            notify(f"flowrun server: {url} (Ctrl-C to stop)")

    threading.Thread(target=announce, daemon=True).start()
    server.run(sockets=[sock])
