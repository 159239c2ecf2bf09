"""Real git remotes for tests: bare repositories in tmp_path, served over file://, `git http-backend` (CGI behind
a local HTTP server, optionally with basic auth) and `git daemon`."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

IDENTITY = {"GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
            "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com"}


def git(*args: str, cwd: Path | None = None, check: bool = True) -> str:
    env = {**os.environ, **IDENTITY, "GIT_TERMINAL_PROMPT": "0"}
    done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)
    if check and done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {done.stderr}")
    return done.stdout


class Remote:
    """A bare repository with a scratch clone to commit through."""

    def __init__(self, root: Path, name: str = "repo.git", branch: str = "main") -> None:
        self.root = root
        self.bare = root / name
        self.branch = branch
        git("init", "--quiet", "--bare", f"--initial-branch={branch}", str(self.bare))
        git("config", "http.receivepack", "true", cwd=self.bare)
        self.work = root / f"{name}.work"
        git("clone", "--quiet", str(self.bare), str(self.work))
        git("checkout", "--quiet", "-B", branch, cwd=self.work)

    @property
    def url(self) -> str:
        return self.bare.as_uri()

    def commit(self, files: dict[str, str | bytes | None], message: str = "change", branch: str | None = None) -> str:
        """Write (or, for None, delete) files on `branch`, commit and push; returns the commit SHA."""
        branch = branch or self.branch
        git("fetch", "--quiet", "origin", cwd=self.work)
        exists = git("ls-remote", "--heads", "origin", branch, cwd=self.work).strip()
        git("checkout", "--quiet", "-B", branch, *([f"origin/{branch}"] if exists else []), cwd=self.work)
        for rel, content in files.items():
            path = self.work / rel
            if content is None:
                git("rm", "--quiet", "-r", rel, cwd=self.work)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content if isinstance(content, bytes) else content.encode())
        git("add", "--all", cwd=self.work)
        git("commit", "--quiet", "--allow-empty", "-m", message, cwd=self.work)
        git("push", "--quiet", "origin", f"HEAD:refs/heads/{branch}", cwd=self.work)
        return git("rev-parse", "HEAD", cwd=self.work).strip()

    def show(self, path: str, branch: str | None = None) -> str:
        return git("show", f"{branch or self.branch}:{path}", cwd=self.bare)

    def files(self, branch: str | None = None) -> list[str]:
        return sorted(git("ls-tree", "-r", "--name-only", branch or self.branch, cwd=self.bare).split())

    def head(self, branch: str | None = None) -> str:
        return git("rev-parse", branch or self.branch, cwd=self.bare).strip()

    def log(self, branch: str | None = None) -> list[str]:
        return git("log", "--format=%an <%ae>|%s", branch or self.branch, cwd=self.bare).splitlines()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class GitHttpServer:
    """`git http-backend` behind a ThreadingHTTPServer on 127.0.0.1: `url(name)` of a repo under `root`.

    With `credentials=(user, password)`, every request needs that basic auth (401 otherwise)."""

    def __init__(self, root: Path, credentials: tuple[str, str] | None = None) -> None:
        self.root = root
        self.credentials = credentials
        self.requests: list[tuple[str, str, str | None]] = []  # method, path, Authorization
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def do_GET(self) -> None:  # noqa: N802 - http.server API
                server.handle(self)

            def do_POST(self) -> None:  # noqa: N802 - http.server API
                server.handle(self)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, name: str, user: str | None = None) -> str:
        auth = f"{user}@" if user else ""
        return f"http://{auth}127.0.0.1:{self.port}/{name}"

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        authorization = request.headers.get("Authorization")
        self.requests.append((request.command, request.path, authorization))
        user = self._user(authorization)
        if self.credentials and user is None:
            request.send_response(401)
            request.send_header("WWW-Authenticate", 'Basic realm="git"')
            request.send_header("Content-Length", "0")
            request.end_headers()
            return
        body = self._body(request)
        path, _, query = request.path.partition("?")
        env = {"PATH": os.environ["PATH"], "GIT_PROJECT_ROOT": str(self.root), "GIT_HTTP_EXPORT_ALL": "1",
               "REQUEST_METHOD": request.command, "PATH_INFO": path, "QUERY_STRING": query,
               "CONTENT_TYPE": request.headers.get("Content-Type", ""), "CONTENT_LENGTH": str(len(body)),
               "REMOTE_ADDR": "127.0.0.1", "REMOTE_USER": user or "anonymous"}
        for key, value in request.headers.items():
            env["HTTP_" + key.upper().replace("-", "_")] = value
        done = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True)
        head, _, payload = done.stdout.partition(b"\r\n\r\n")
        headers = [line.split(":", 1) for line in head.decode().split("\r\n") if ":" in line]
        status = next((v.strip() for k, v in headers if k.lower() == "status"), "200 OK")
        request.send_response(int(status.split()[0]))
        for key, value in headers:
            if key.lower() != "status":
                request.send_header(key, value.strip())
        request.end_headers()
        request.wfile.write(payload)

    def _user(self, authorization: str | None) -> str | None:
        if not authorization or not authorization.startswith("Basic "):
            return None
        user, _, password = base64.b64decode(authorization[6:]).decode().partition(":")
        if self.credentials and (user, password) != self.credentials:
            return None
        return user

    @staticmethod
    def _body(request: BaseHTTPRequestHandler) -> bytes:
        if request.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(request.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    request.rfile.readline()
                    return b"".join(chunks)
                chunks.append(request.rfile.read(size))
                request.rfile.readline()
        return request.rfile.read(int(request.headers.get("Content-Length") or 0))

    def __enter__(self) -> GitHttpServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class GitDaemon:
    """`git daemon` serving the repos under `root` (read and push) on a free loopback port."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def url(self, name: str) -> str:
        return f"git://127.0.0.1:{self.port}/{name}"

    def __enter__(self) -> GitDaemon:
        self.proc = subprocess.Popen(
            ["git", "daemon", "--reuseaddr", "--export-all", "--enable=receive-pack", f"--base-path={self.root}",
             "--listen=127.0.0.1", f"--port={self.port}", str(self.root)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.02)
        raise RuntimeError("git daemon did not start")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


class SshServer:
    """OpenSSH's sshd on a free loopback port, for the current user, accepting one public key; repos under
    `root` are `url(name)`. It needs the openssh-server package (.ci/run installs it)."""

    def __init__(self, root: Path, public_key: str) -> None:
        import getpass

        self.root, self.port, self.user = root, free_port(), getpass.getuser()
        self.dir = root.parent / f"{root.name}.sshd"
        self.dir.mkdir(parents=True)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.dir / "host_key")], check=True)
        (self.dir / "authorized_keys").write_text(public_key)
        (self.dir / "sshd_config").write_text("\n".join([
            f"Port {self.port}", "ListenAddress 127.0.0.1", f"HostKey {self.dir / 'host_key'}",
            f"AuthorizedKeysFile {self.dir / 'authorized_keys'}", "PermitRootLogin prohibit-password",
            "StrictModes no", "UsePAM no", "PasswordAuthentication no", "KbdInteractiveAuthentication no",
            f"PidFile {self.dir / 'sshd.pid'}", ""]))
        self.proc: subprocess.Popen[bytes] | None = None

    def url(self, name: str) -> str:
        return f"ssh://{self.user}@127.0.0.1:{self.port}{self.root}/{name}"

    def __enter__(self) -> SshServer:
        Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege-separation directory
        self.proc = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", str(self.dir / "sshd_config")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.proc.poll() is None:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.02)
        raise RuntimeError(f"sshd did not start: {self.proc.stderr.read().decode() if self.proc.stderr else ''}")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def ssh_key(path: Path, passphrase: str = "") -> tuple[str, str]:
    """A new ed25519 key pair (OpenSSH format, encrypted with `passphrase` when given): (private, public)."""
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-f", str(path)], check=True)
    return path.read_text(), Path(f"{path}.pub").read_text()


@pytest.fixture
def remote(tmp_path: Path) -> Remote:
    return Remote(tmp_path / "remotes")


@pytest.fixture
def git_http(tmp_path: Path) -> Iterator[GitHttpServer]:
    with GitHttpServer(tmp_path / "remotes") as server:
        yield server
