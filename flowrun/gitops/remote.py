"""One git session: the real `git` run through GitPython with a task's credentials, its errors explained and masked.

Credentials never reach a command line or `.git/config`: a password (token) is answered by a throwaway
GIT_ASKPASS script reading it from the environment, and a private key is written (decrypted when it has a
passphrase) to a 0600 file named in GIT_SSH_COMMAND. Every message built from git's output is masked.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from flowrun.errors import ExitCode, FlowrunError

MASK = "******"
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^/@:\s]*):(?P<password>[^/@\s]*)@")
_WRAPPED = re.compile(r"\s*std(?:err|out): '(?P<body>.*)'\s*", re.DOTALL)
_ASKPASS = """#!/bin/sh
case "$1" in
  Username*|username*) printf '%s\\n' "$FLOWRUN_GIT_USERNAME" ;;
  *) printf '%s\\n' "$FLOWRUN_GIT_PASSWORD" ;;
esac
"""
_UNKNOWN_BRANCH = ("remote branch", "not found in upstream")
_AUTH = ("authentication failed", "could not read username", "could not read password", "terminal prompts disabled",
         "permission denied (publickey", "access denied", "invalid username or password", "returned error: 401",
         "returned error: 403", "permission denied, please try again")
_REJECTED = ("[rejected]", "non-fast-forward", "fetch first", "[remote rejected]", "failed to push some refs")
_UNREACHABLE = ("could not resolve host", "connection refused", "failed to connect", "couldn't connect",
                "does not appear to be a git repository", "repository not found", "returned error: 404",
                "connection timed out", "could not read from remote repository", "unable to access",
                "no route to host", "network is unreachable", "unable to connect")


class GitError(FlowrunError):
    """A git operation failed: an unreachable remote, refused credentials, an unknown branch, a rejected push..."""

    exit_code = ExitCode.FLOW_FAILED


@dataclass
class GitAuth:
    """Kestra's `username`/`password` (a token) for http(s), `privateKey` (or flowrun's `privateKeyPath`) and
    `passphrase` for ssh."""

    username: str | None = None
    password: str | None = None
    private_key: str | None = None
    private_key_path: str | None = None
    passphrase: str | None = None

    def secrets(self) -> list[str]:
        values = [v for v in (self.password, self.passphrase, self.private_key) if v]
        return values + [quote(v, safe="") for v in values if quote(v, safe="") != v]


@dataclass
class GitOptions:
    """How every git command of one task reaches the remote (Kestra's AbstractGitTask properties)."""

    auth: GitAuth = field(default_factory=GitAuth)
    config: dict[str, str] = field(default_factory=dict)
    trusted_ca_pem_path: str | None = None
    no_proxy: bool = False
    connect_timeout_ms: int = 10000
    read_timeout_ms: int = 60000
    #: where ssh records hosts it sees first (accept-new); the user's ~/.ssh/known_hosts is read too
    known_hosts: str | None = None


def url_password(url: str | None) -> str | None:
    match = _USERINFO.search(url or "")
    return match["password"] if match and match["password"] else None


def redact_url(url: str) -> str:
    """The URL as it may be shown: a password in its user info replaced by ******."""
    return _USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", url)


def mask_text(text: str, secrets: list[str]) -> str:
    """`text` with URL passwords and every secret value replaced by ******."""
    text = redact_url(text)
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


class GitSession:
    """Runs git commands for one task with its credentials; use as a context manager (it owns temp files)."""

    def __init__(self, url: str | None, options: GitOptions | None = None) -> None:
        self.url = url
        self.options = options or GitOptions()
        self.secrets = self.options.auth.secrets() + [p for p in [url_password(url)] if p]
        self.env: dict[str, str] = {}
        self._dir: Path | None = None

    @property
    def shown_url(self) -> str:
        return redact_url(self.url or "")

    def __enter__(self) -> GitSession:
        self._dir = Path(tempfile.mkdtemp(prefix="flowrun-git-"))
        self.env = self._environment(self._dir)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)

    def mask(self, text: str) -> str:
        return mask_text(text, self.secrets)

    # -- running ----------------------------------------------------------------------------------
    def run(self, args: list[str], cwd: Path | None = None) -> str:
        """Run `git <args>` (stdout returned); a failure raises GitError with git's own words, masked."""
        import git

        command = ["git", *self._config_args(), *args]
        try:
            return str(git.Git(str(cwd) if cwd else None).execute(command, env=self.env))
        except git.GitCommandNotFound:
            raise GitError("the `git` program is not installed", hint="install git, e.g. apt-get install git") from None
        except git.GitCommandError as exc:
            raise self._error(args, exc) from None

    def _config_args(self) -> list[str]:
        opts = self.options
        pairs = {"http.lowSpeedLimit": "1", "http.lowSpeedTime": str(max(1, -(-opts.read_timeout_ms // 1000)))}
        if opts.auth.password:
            pairs["credential.helper"] = ""  # no helper reads or stores the task's credentials
        if opts.trusted_ca_pem_path:
            pairs["http.sslCAInfo"] = opts.trusted_ca_pem_path
        if opts.no_proxy:
            pairs["http.proxy"] = ""
        pairs.update({str(k): _config_value(v) for k, v in opts.config.items()})
        return [part for key, value in pairs.items() for part in ("-c", f"{key}={value}")]

    def _environment(self, tmp: Path) -> dict[str, str]:
        auth, env = self.options.auth, {"GIT_TERMINAL_PROMPT": "0"}
        if auth.password:
            askpass = tmp / "askpass.sh"
            askpass.write_text(_ASKPASS, encoding="utf-8")
            askpass.chmod(0o700)
            env.update(GIT_ASKPASS=str(askpass), FLOWRUN_GIT_USERNAME=auth.username or "git",
                       FLOWRUN_GIT_PASSWORD=auth.password)
        key = self._key_file(tmp)
        if key is not None or "GIT_SSH_COMMAND" not in os.environ:
            ssh = ["ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=accept-new",
                   "-o", f"ConnectTimeout={max(1, -(-self.options.connect_timeout_ms // 1000))}"]
            if key is not None:
                ssh += ["-i", str(key), "-o", "IdentitiesOnly=yes"]
            if self.options.known_hosts:
                Path(self.options.known_hosts).parent.mkdir(parents=True, exist_ok=True)
                ssh += ["-o", f"UserKnownHostsFile={self.options.known_hosts} ~/.ssh/known_hosts"]
            env["GIT_SSH_COMMAND"] = " ".join(shlex.quote(part) for part in ssh)
        if self.options.no_proxy:
            env.update(no_proxy="*", NO_PROXY="*")
        return env

    def _key_file(self, tmp: Path) -> Path | None:
        auth = self.options.auth
        if not auth.private_key and not auth.private_key_path:
            return None
        if auth.private_key:
            data = auth.private_key.replace("\\n", "\n").strip().encode() + b"\n"
        else:
            path = Path(str(auth.private_key_path)).expanduser()
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise GitError(f"privateKeyPath: cannot read {path}: {exc.strerror}") from None
            if not auth.passphrase:
                return path
        if auth.passphrase:
            data = _decrypt_key(data, auth.passphrase)
        target = tmp / "id_key"
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        return target

    # -- errors -----------------------------------------------------------------------------------
    def _error(self, args: list[str], exc: Any) -> GitError:
        text = self.mask(_as_text(exc.stderr) or _as_text(exc.stdout))
        low = text.lower()
        lines = [line.strip() for line in text.splitlines()
                 if line.strip() and not line.startswith(("Cloning into", "hint:", "To "))]
        detail = "; ".join(lines[-3:]) or f"exit status {exc.status}"
        where = f" {self.shown_url}" if self.url else ""
        if all(marker in low for marker in _UNKNOWN_BRANCH):
            return GitError(f"the git remote{where} has no branch named in `branch`: {detail}",
                            hint="check `branch` (it names a branch, not origin/... or refs/heads/...)")
        if any(marker in low for marker in _AUTH):
            return GitError(f"the git remote{where} refused the credentials: {detail}",
                            hint="check username and password (a token with access to the repository), "
                                 "or privateKey and passphrase for an ssh URL")
        if any(marker in low for marker in _REJECTED):
            return GitError(f"the git remote{where} rejected the push: {detail}",
                            hint="the branch moved since it was cloned (a non-fast-forward): run the push "
                                 "again to start from the remote's new state, or push to another branch")
        if any(marker in low for marker in _UNREACHABLE):
            return GitError(f"cannot reach the git remote{where}: {detail}",
                            hint="check the url, the network, and that the repository exists")
        return GitError(f"git {args[0] if args else ''} failed: {detail}")

    # -- operations -------------------------------------------------------------------------------
    def remote_heads(self) -> dict[str, str]:
        """Branch name -> commit of every branch of the remote."""
        out = self.run(["ls-remote", "--heads", "--", str(self.url)])
        heads = {}
        for line in out.splitlines():
            sha, _, ref = line.partition("\t")
            if ref.startswith("refs/heads/"):
                heads[ref[len("refs/heads/"):]] = sha
        return heads

    def clone(self, dest: Path, branch: str | None = None, depth: int | None = None,
              single_branch: bool | None = None, no_tags: bool = False, submodules: bool = False) -> None:
        """`git clone` the session's URL into `dest` (which must not exist or be empty)."""
        args = ["clone", "--quiet"]
        if branch:
            args += ["--branch", branch]
        if depth:
            args += ["--depth", str(depth)]
        if single_branch is not None:
            args.append("--single-branch" if single_branch else "--no-single-branch")
        if no_tags:
            args.append("--no-tags")
        if submodules:
            args += ["--recurse-submodules"] + (["--shallow-submodules"] if depth else [])
        self.run([*args, "--", str(self.url), str(dest)])

    def unknown_branch(self, branch: str) -> GitError:
        heads = sorted(self.remote_heads())
        known = ", ".join(heads) if heads else "none: the repository is empty"
        return GitError(f"branch `{branch}` does not exist on the git remote {self.shown_url} (its branches: "
                        f"{known})", hint="set `branch` to one of the remote's branches")


def _config_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _as_text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    match = _WRAPPED.fullmatch(str(value or ""))  # GitPython wraps the streams as "\n  stderr: '...'"
    return match["body"] if match else str(value or "")


def _decrypt_key(data: bytes, passphrase: str) -> bytes:
    """The private key without its passphrase, in OpenSSH format (ssh itself would have to prompt for it).
    OpenSSH-format keys need bcrypt, their key derivation."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization

    loaders = (serialization.load_ssh_private_key, serialization.load_pem_private_key)
    for load in loaders:
        try:
            key = load(data, password=passphrase.encode())
        except (ValueError, TypeError, UnsupportedAlgorithm):
            continue
        return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                 serialization.NoEncryption())
    raise GitError("privateKey: cannot read the private key with the given passphrase",
                   hint="check the passphrase, and that the key is a PEM or OpenSSH private key")
