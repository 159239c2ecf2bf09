"""Encryption of sensitive values at rest with a per-project Fernet key (`<state_dir>/secret.key`, or a shared key file)."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from flowrun.errors import FlowrunError

MARKER = "flowrun:enc:v1:"
SEALED_KEY = "$secret"
MASK = "******"
KEY_FILE = "secret.key"
NEW_KEY_FILE = "secret.key.new"  # rotate-key: the next key, until it replaces secret.key
OLD_KEY_FILE = "secret.key.old"  # rotate-key: the previous key, until every value is re-encrypted


class CryptoError(FlowrunError):
    """The key file is unusable or a value cannot be decrypted."""


class KeyGuard(Protocol):
    """What the state DB knows about its key (flowrun.state.keys.KeyLedger implements it)."""

    def recorded_fingerprint(self) -> str | None: ...

    def record_fingerprint(self, fingerprint: str) -> None: ...

    def encrypted_values(self) -> int: ...

    @property
    def shared(self) -> bool:
        """Whether processes on other machines use this state (each with its own copy of the key file)."""
        ...

    def record_first_fingerprint(self, fingerprint: str) -> str: ...


def fingerprint(key: bytes) -> str:
    """A short, non-secret name of a key (the start of its SHA-256)."""
    return hashlib.sha256(key).hexdigest()[:16]


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

    With a `guard` (the state DB), a missing or replaced key is refused while the DB holds values encrypted
    with the old one, instead of silently starting a new key that cannot read them.
    """

    def __init__(self, state_dir: Path, guard: KeyGuard | None = None, key_file: Path | None = None) -> None:
        self.state_dir = Path(state_dir)
        self.key_file = Path(key_file) if key_file is not None else None
        self.guard = guard
        self._fernet: Any = None
        #: one thread loads or creates the key: a second one checking at the same time would find the first one's
        #: value encrypted, no key file yet, and refuse the key as lost
        self._loading = threading.Lock()

    @property
    def key_path(self) -> Path:
        return self.key_file if self.key_file is not None else self.state_dir / KEY_FILE

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

    def key_fingerprint(self) -> str:
        """The fingerprint of the key in use (loading and checking the key, or creating it, first)."""
        self._cipher()
        return fingerprint(self.key_path.read_bytes().strip())

    def seal(self, value: Any) -> dict[str, str]:
        """`{"$secret": token}` holding `value` (any JSON value), safe to store."""
        return {SEALED_KEY: self.encrypt(json.dumps(value))}

    def unseal(self, obj: Any) -> Any:
        """A copy of `obj` where every sealed value is replaced by its plaintext value."""
        return _walk(obj, lambda sealed: json.loads(self.decrypt(sealed[SEALED_KEY])))

    def _cipher(self) -> Any:
        if self._fernet is None:
            with self._loading:
                if self._fernet is None:
                    self._fernet = _fernet(self._load_or_create_key(), self.key_path)
        return self._fernet

    def _load_or_create_key(self) -> bytes:
        if not self.key_path.exists():
            self._refuse_if_shared(f"the encryption key {self.key_path} is missing")
            self._refuse_if_values(f"the encryption key {self.key_path} is missing", "create a new key")
            self._create_key()
        key = self._read_key()
        if self.guard is not None:
            key = self._checked(key)
        return key

    def _checked(self, key: bytes) -> bytes:
        """The key, once it is known to be the state DB's (finishing an interrupted rotate-key if needed)."""
        assert self.guard is not None
        recorded, current = self.guard.recorded_fingerprint(), fingerprint(key)
        if recorded == current:
            return key
        pending = self.key_path.with_name(NEW_KEY_FILE)
        if recorded is not None and pending.is_file():
            new = pending.read_bytes().strip()
            if fingerprint(new) == recorded:  # rotate-key committed but did not move its new key in place
                try:
                    os.replace(pending, self.key_path)
                except FileNotFoundError:  # another process just did it
                    pass
                return new
        if recorded is not None:
            self._refuse_if_shared(f"the encryption key {self.key_path} (fingerprint {current}) is not the key of "
                                   f"this shared state (fingerprint {recorded})")
            self._refuse_if_values(f"the encryption key {self.key_path} (fingerprint {current}) is not the key "
                                   f"this state DB's values were encrypted with (fingerprint {recorded})", "use it")
        if self.guard.shared:  # the first machine's key wins; any other one is refused
            if self.guard.record_first_fingerprint(current) != current:
                self._refuse_if_shared(f"the encryption key {self.key_path} (fingerprint {current}) is not the key "
                                       "another machine has just recorded for this shared state")
            return key
        self.guard.record_fingerprint(current)
        return key

    def _refuse_if_shared(self, problem: str) -> None:
        """On a state shared by several machines, a key other than the recorded one is always refused: another
        machine may be encrypting with the recorded key right now, even if no value is encrypted yet."""
        if self.guard is None or not self.guard.shared or self.guard.recorded_fingerprint() is None:
            return
        raise CryptoError(
            f"{problem}; every machine that shares a Postgres state must use the same secret key",
            hint=f"copy {KEY_FILE} from a machine that runs against this state to {self.key_path}, or point "
                 "FLOWRUN_SECRET_KEY_FILE (or `secretKeyFile` in flowrun.yaml) at the shared key file")

    def _refuse_if_values(self, problem: str, refused: str) -> None:
        count = self.guard.encrypted_values() if self.guard is not None else 0
        if count:
            raise CryptoError(
                f"{problem}; {count} value(s) in the state DB are encrypted with the lost key and another key "
                f"cannot read them, so flowrun will not {refused}",
                hint=f"restore {KEY_FILE} from a backup into {self.key_path.parent}; if it is lost for good, so are "
                     "those values: move the state dir aside to start afresh")

    def _create_key(self) -> None:
        from cryptography.fernet import Fernet

        self.key_path.parent.mkdir(parents=True, exist_ok=True)
        key = Fernet.generate_key()
        tmp = self.key_path.parent / f".{KEY_FILE}.{os.getpid()}.{os.urandom(16).hex()}"
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
            raise corrupt_key(self.key_path)
        _fernet(key, self.key_path)  # 44 characters that are not a key are corrupt too
        return key


def corrupt_key(key_path: Path) -> CryptoError:
    return CryptoError(f"the encryption key {key_path} is corrupt (a key is 44 url-safe base64 characters)",
                       hint="restore it from a backup: values encrypted with it cannot be read otherwise. If no value "
                            "was encrypted with it, delete it: flowrun then creates a new key (it refuses to while "
                            "the state DB holds encrypted values)")


def _fernet(key: bytes, key_path: Path) -> Any:
    from cryptography.fernet import Fernet

    try:
        return Fernet(key)
    except (ValueError, TypeError) as exc:  # binascii.Error is a ValueError
        raise corrupt_key(key_path) from exc


def rotate_key(cipher: Cipher, rewrite: Callable[[Callable[[str], str], str], int]) -> tuple[str, str, int]:
    """Replace the key of `cipher` with a new one and re-encrypt every value; (old, new fingerprint, count).

    `rewrite(transform, new_fingerprint)` applies `transform` (old token -> new token) to every encrypted value
    and records the new fingerprint in one transaction: that commit is the switch. Until it, secret.key is
    untouched; the new key waits in secret.key.new and a copy of the old one in secret.key.old. After it, the
    new key replaces secret.key (a process that loads the key in between finishes that move itself).
    """
    from cryptography.fernet import Fernet, InvalidToken

    old_fernet = cipher._cipher()  # the current key, checked against the state DB
    old_key = cipher.key_path.read_bytes().strip()
    new_key = Fernet.generate_key()
    new_fernet = Fernet(new_key)
    old_path, new_path = cipher.key_path.with_name(OLD_KEY_FILE), cipher.key_path.with_name(NEW_KEY_FILE)
    _write_replacing(old_path, old_key)
    _write_replacing(new_path, new_key)

    def transform(token: str) -> str:
        try:
            plain = old_fernet.decrypt(token[len(MARKER):].encode("ascii"))
        except InvalidToken as exc:
            raise CryptoError(f"a value cannot be decrypted with the key in {cipher.key_path}",
                              hint="it was encrypted with another key; nothing was changed") from exc
        return MARKER + new_fernet.encrypt(plain).decode("ascii")

    count = rewrite(transform, fingerprint(new_key))
    try:
        os.replace(new_path, cipher.key_path)
    except FileNotFoundError:  # another process loaded the key after the commit and moved it already
        pass
    _fsync_dir(cipher.key_path.parent)
    old_path.unlink(missing_ok=True)
    cipher._fernet = new_fernet
    return fingerprint(old_key), fingerprint(new_key), count


def _write_replacing(path: Path, data: bytes) -> None:
    """Write `path` (mode 0600) atomically: a private temporary file, flushed, then renamed over it."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(16).hex()}")
    _write_exclusive(tmp, data)
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_exclusive(path: Path, data: bytes) -> None:
    """Create `path` (mode 0600, failing if it exists) holding `data`, flushed to disk."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
