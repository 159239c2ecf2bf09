"""Encryption of sensitive values at rest with a per-project Fernet key in `<state_dir>/secret.key`."""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

from flowrun.errors import FlowrunError

MARKER = "flowrun:enc:v1:"
SEALED_KEY = "$secret"
MASK = "******"
KEY_FILE = "secret.key"


class CryptoError(FlowrunError):
    """The key file is unusable or a value cannot be decrypted."""


def is_encrypted(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(MARKER)


def is_sealed(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and is_encrypted(value.get(SEALED_KEY))


def mask_sealed(obj: Any) -> Any:
    """A copy of `obj` where every sealed value (`{"$secret": token}`) becomes `******`."""
    return _walk(obj, lambda _sealed: MASK)


def _walk(obj: Any, on_sealed: Any) -> Any:
    if is_sealed(obj):
        return on_sealed(obj)
    if isinstance(obj, dict):
        return {k: _walk(v, on_sealed) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_walk(v, on_sealed) for v in obj]
    return obj


class Cipher:
    """Encrypts text to `flowrun:enc:v1:<fernet token>` and back.

    The key is created on first use with mode 0600. Creation is race-free across processes: the key is
    written to a private temporary file, then hard-linked into place (which fails if another process won),
    and whatever ends up at `secret.key` is read back.
    """

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = Path(state_dir)
        self._fernet: Any = None

    @property
    def key_path(self) -> Path:
        return self.state_dir / KEY_FILE

    def encrypt(self, text: str) -> str:
        token = self._cipher().encrypt(text.encode("utf-8"))
        return MARKER + token.decode("ascii")

    def decrypt(self, token: str) -> str:
        from cryptography.fernet import InvalidToken

        if not is_encrypted(token):
            raise CryptoError("value is not a flowrun-encrypted token", hint=f"tokens start with {MARKER}")
        try:
            return self._cipher().decrypt(token[len(MARKER):].encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError) as exc:
            raise CryptoError(f"cannot decrypt a value with the key in {self.key_path}",
                              hint="the value was encrypted with another key (was secret.key replaced?)") from exc

    def seal(self, value: Any) -> dict[str, str]:
        """`{"$secret": token}` holding `value` (any JSON value), safe to store."""
        return {SEALED_KEY: self.encrypt(json.dumps(value))}

    def unseal(self, obj: Any) -> Any:
        """A copy of `obj` where every sealed value is replaced by its plaintext value."""
        return _walk(obj, lambda sealed: json.loads(self.decrypt(sealed[SEALED_KEY])))

    def _cipher(self) -> Any:
        if self._fernet is None:
            from cryptography.fernet import Fernet

            self._fernet = Fernet(self._load_or_create_key())
        return self._fernet

    def _load_or_create_key(self) -> bytes:
        if not self.key_path.exists():
            self._create_key()
        return self._read_key()

    def _create_key(self) -> None:
        from cryptography.fernet import Fernet

        self.state_dir.mkdir(parents=True, exist_ok=True)
        key = Fernet.generate_key()
        tmp = self.state_dir / f".{KEY_FILE}.{os.getpid()}.{uuid.uuid4().hex}"
        try:
            _write_exclusive(tmp, key)
            os.link(tmp, self.key_path)
        except FileExistsError:
            pass  # another process published its key first: use that one
        except OSError:  # no hard links on this filesystem: create the key file itself exclusively
            try:
                _write_exclusive(self.key_path, key)
            except FileExistsError:
                pass
        finally:
            tmp.unlink(missing_ok=True)

    def _read_key(self) -> bytes:
        deadline = time.monotonic() + 2
        while True:
            try:
                key = self.key_path.read_bytes().strip()
            except OSError as exc:
                raise CryptoError(f"cannot read the encryption key {self.key_path}: {exc.strerror}",
                                  hint="check the state dir's permissions") from exc
            if key or time.monotonic() > deadline:
                break
            time.sleep(0.01)  # another process is still writing it (no-hard-link fallback)
        if len(key) != 44:
            raise CryptoError(f"the encryption key {self.key_path} is corrupt",
                              hint="restore it from a backup; values encrypted with it cannot be read otherwise")
        return key


def _write_exclusive(path: Path, data: bytes) -> None:
    """Create `path` (mode 0600, failing if it exists) holding `data`, flushed to disk."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
