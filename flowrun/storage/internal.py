"""Internal storage: `kestra:///<path>` URIs, their Kestra layout, and the files behind them in a storage backend."""

from __future__ import annotations

import hashlib
import re
import threading
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from urllib.parse import quote, unquote

from flowrun.plain import Plain
from flowrun.storage.backend import (
    LocalBackend,
    MissingFile,
    StorageBackend,
    StorageError,
    below,
    clean_key,
    write_atomically,
)
from flowrun.storage.cache import process_cache_dir

SCHEME = "kestra://"
_URI_SAFE = "/!$&'()*+,;=:@-._~"  # RFC 3986 path characters kept as is; everything else is %-encoded
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def slugify(text: str) -> str:
    """Kestra's slug of a flow or task id: `My_Flow 1` -> `my-flow-1`."""
    slug = re.sub(r"\s", "-", text)
    slug = unicodedata.normalize("NFD", slug)
    slug = re.sub(r"[^A-Za-z0-9_-]", "", slug).replace("_", "-")
    slug = re.sub(r"-{2,}", "-", slug).strip("-")
    return slug.lower()


def namespace_path(namespace: str) -> str:
    """`company.team` -> `/company/team`."""
    return "/" + namespace.replace(".", "/")


def execution_prefix(namespace: str, flow_id: str, execution_id: str) -> str:
    """`/<ns>/<flow-slug>/executions/<id>`: everything an execution stores lives below it."""
    return f"{namespace_path(namespace)}/{slugify(flow_id)}/executions/{execution_id}"


def task_prefix(namespace: str, flow_id: str, execution_id: str, task_id: str, taskrun_id: str) -> str:
    """`.../executions/<id>/tasks/<task-slug>/<taskRunId>`: the files one task run produced."""
    return f"{execution_prefix(namespace, flow_id, execution_id)}/tasks/{slugify(task_id)}/{taskrun_id}"


def input_prefix(namespace: str, flow_id: str, execution_id: str, input_id: str) -> str:
    """`.../executions/<id>/inputs/<inputId>`: where a FILE input is uploaded."""
    return f"{execution_prefix(namespace, flow_id, execution_id)}/inputs/{input_id}"


def trigger_prefix(namespace: str, flow_id: str, execution_id: str, trigger_id: str) -> str:
    """`.../executions/<id>/trigger/<triggerId>`: files produced by the trigger of an execution."""
    return f"{execution_prefix(namespace, flow_id, execution_id)}/trigger/{trigger_id}"


def short_hash(text: str, length: int = 22) -> str:
    """A deterministic base62 id of `text`, shaped like Kestra's ids."""
    number = int.from_bytes(hashlib.sha256(text.encode()).digest(), "big")
    chars: list[str] = []
    while len(chars) < length:
        number, digit = divmod(number, 62)
        chars.append(_BASE62[digit])
    return "".join(chars)


def to_uri(path: str) -> str:
    """The `kestra:///...` URI of a storage path (percent-encoding characters URIs cannot hold)."""
    return SCHEME + quote("/" + path.lstrip("/"), safe=_URI_SAFE)


def is_uri(value: object) -> bool:
    return isinstance(value, str) and value.startswith(SCHEME)


class InternalStorage:
    """Files addressed by `kestra:///a/b/c`: the key `a/b/c` of a storage backend (by default `<root>/a/b/c`).

    On a remote backend (GCS), a file a task needs as a local path is downloaded once into this process's cache
    dir, and a file reserved with `new_file` is uploaded by `commit`. No key ever climbs out of the backend's root.
    """

    def __init__(self, root: Path | StorageBackend, cache_dir: Path | Callable[[], Path] | None = None) -> None:
        self.backend: StorageBackend = LocalBackend(root) if isinstance(root, str | Path) else root
        self._cache_dir = cache_dir
        self._pending: set[str] = set()
        self._lock = threading.Lock()

    @property
    def location(self) -> str:
        return self.backend.location

    # -- keys --------------------------------------------------------------------------------------

    def _key_of_uri(self, uri: str) -> str:
        if not isinstance(uri, str) or not uri.startswith(SCHEME + "/"):
            raise StorageError(f"`{uri}` is not an internal storage URI",
                               hint="internal storage URIs look like kestra:///namespace/flow/executions/...")
        return clean_key(unquote(uri[len(SCHEME):]), f"URI `{uri}`")

    def _cached(self, key: str) -> Path:
        """Where this process keeps its copy of a remote file (`key` is clean: it stays inside the cache dir)."""
        if self._cache_dir is None:
            import tempfile

            self._cache_dir = process_cache_dir(Path(tempfile.gettempdir()) / "flowrun")
        base = self._cache_dir() if callable(self._cache_dir) else self._cache_dir
        return Path(base) / "files" / key

    def uri_of(self, path: Path) -> str:
        """The URI of a file below the root of a local backend."""
        target = Path(path).resolve()
        base = Path(self.location).resolve()
        if self.backend.local_file("") is None or not target.is_relative_to(base):
            raise StorageError(f"{path} is not inside the internal storage root {base}")
        return to_uri(target.relative_to(base).as_posix())

    def local_path(self, uri: str, allowed_prefix: str | Sequence[str] | None = None,
                   *, must_exist: bool = True) -> Path:
        """The local file behind `uri`, checked: `kestra://` scheme, no escape from the root, inside
        `allowed_prefix` (one prefix or several) when given, and existing unless `must_exist=False`."""
        key = self._key_of_uri(uri)
        if allowed_prefix is not None:
            self._check_allowed(uri, key, allowed_prefix)
        direct = self.backend.local_file(key)
        if direct is not None:
            if must_exist and not direct.is_file():
                raise _missing(uri, str(direct))
            return direct
        cached = self._cached(key)
        if not cached.is_file() and must_exist:
            try:
                self.backend.get(key, cached)
            except MissingFile:
                raise _missing(uri, self.location) from None
        return cached

    def _check_allowed(self, uri: str, key: str, allowed: str | Sequence[str]) -> None:
        prefixes = [allowed] if isinstance(allowed, str) else list(allowed)
        if any(below(key, clean_key(p, f"prefix `{p}`")) for p in prefixes):
            return
        raise StorageError(f"`{uri}` is outside this execution's storage ({', '.join(prefixes)})",
                           hint="a task may only read files of its own execution (or its parent's)")

    # -- writing -----------------------------------------------------------------------------------

    def new_file(self, prefix: str, name: str) -> tuple[Path, str]:
        """A fresh location `<prefix>/<name>` (parent dirs created): write to the path, publish the URI.

        On a remote backend the path is in the local cache: `commit` uploads it once written."""
        key = clean_key(f"{prefix}/{_clean_name(name)}", f"file `{prefix}/{name}`")
        target = self.backend.local_file(key)
        if target is None:
            target = self._cached(key)
            with self._lock:
                self._pending.add(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        return target, to_uri(key)

    def commit(self, uris: Iterable[str] | None = None) -> None:
        """Upload the files reserved with `new_file` (those of `uris`, or all) that were written."""
        with self._lock:
            keys = set(self._pending) if uris is None else {self._key_of_uri(u) for u in uris} & self._pending
            self._pending -= keys
        for key in sorted(keys):
            cached = self._cached(key)
            if cached.is_file():
                self.backend.put(key, cached)

    def put_file(self, local: Path, prefix: str, name: str | None = None, *, hashed: bool = False) -> str:
        """Copy `local` to `<prefix>/<name>` (default name: the file's own) and return its URI.

        `hashed=True` names it `<short-hash>-<name>` like Kestra's script `outputFiles`, so that two files
        with the same name from different directories do not collide.
        """
        local = Path(local)
        if not local.is_file():
            raise StorageError(f"cannot store {local}: it is not a file",
                               hint="check that the task really produced this file")
        name = _clean_name(name or local.name)
        if hashed:
            name = f"{short_hash(str(local.resolve()))}-{name}"
        key = clean_key(f"{prefix}/{name}", f"file `{prefix}/{name}`")
        self.backend.put(key, local)
        if self.backend.local_file(key) is None:  # keep a copy: a later task in this process reads it locally
            import shutil

            write_atomically(self._cached(key), lambda tmp: shutil.copyfile(local, tmp))
        return to_uri(key)

    # -- reading and deleting ----------------------------------------------------------------------

    def exists(self, uri: str) -> bool:
        key = self._key_of_uri(uri)
        return key in self._pending and self._cached(key).is_file() or self.backend.exists(key)

    def size(self, uri: str, allowed_prefix: str | Sequence[str] | None = None) -> int:
        key = self._key_of_uri(uri)
        if allowed_prefix is not None:
            self._check_allowed(uri, key, allowed_prefix)
        if self.backend.local_file(key) is None and not self._cached(key).is_file():
            size = self.backend.size(key)
            if size is None:
                raise _missing(uri, self.location)
            return size
        return self.local_path(uri).stat().st_size

    def read_bytes(self, uri: str, allowed_prefix: str | Sequence[str] | None = None) -> bytes:
        return self.local_path(uri, allowed_prefix).read_bytes()

    def delete(self, uri: str) -> bool:
        """Delete one file; False if it did not exist."""
        key = self._key_of_uri(uri)
        self._forget(key)
        return self.backend.delete(key)

    def _top(self, prefix: str) -> str:
        key = clean_key(prefix, f"prefix `{prefix}`")
        if not key:
            raise StorageError("refusing to list or delete the whole internal storage",
                               hint="pass an execution or task prefix")
        return key

    def list_prefix(self, prefix: str) -> list[str]:
        """URIs of every file below `prefix`, sorted."""
        return sorted(to_uri(key) for key in self.backend.list(self._top(prefix)))

    def delete_prefix(self, prefix: str) -> list[str]:
        """Delete everything below `prefix`; return the URIs of the files deleted."""
        top = self._top(prefix)
        self._forget(top)
        return sorted(to_uri(key) for key in self.backend.delete_prefix(top))

    def _forget(self, key: str) -> None:
        """Drop this process's copies of `key` and below (a remote backend's cache)."""
        if self.backend.local_file(key) is not None:
            return
        with self._lock:
            self._pending = {k for k in self._pending if not below(k, key)}
        cached = self._cached(key)
        if cached.is_dir():
            import shutil

            shutil.rmtree(cached, ignore_errors=True)
        cached.unlink(missing_ok=True)

    def purge_executions(self, prefixes: Iterable[str]) -> list[str]:
        """Delete the storage of several executions (their `execution_prefix`es)."""
        deleted: list[str] = []
        for prefix in prefixes:
            deleted.extend(self.delete_prefix(prefix))
        return deleted

    def scoped(self, prefix: str, readable: Sequence[str]) -> ScopedStorage:
        """The storage one task run sees: writes under `prefix`, reads under the `readable` prefixes."""
        return ScopedStorage(self, prefix, list(readable))


class ScopedStorage(Plain):
    """One task run's view of internal storage (implements `flowrun.tasks.base.Storage`)."""

    FIELDS = ("storage", "prefix", "readable")

    def __init__(self, storage: InternalStorage, prefix: str, readable: list[str] | None = None) -> None:
        self.storage = storage
        self.prefix = prefix
        self.readable: list[str] = [] if readable is None else readable

    def put_file(self, local_path: Path, name: str | None = None, *, hashed: bool = False) -> str:
        return self.storage.put_file(local_path, self.prefix, name, hashed=hashed)

    def new_file(self, name: str) -> tuple[Path, str]:
        return self.storage.new_file(self.prefix, name)

    def local_path(self, uri: str) -> Path:
        return self.storage.local_path(uri, [self.prefix, *self.readable])

    def commit(self) -> None:
        self.storage.commit()


def _missing(uri: str, where: str) -> StorageError:
    return StorageError(f"file `{uri}` does not exist in internal storage ({where})",
                        hint="it may have been purged, or the URI comes from another project")


def _clean_name(name: str) -> str:
    clean = name.replace("\\", "/").strip("/")
    if not clean or any(part in ("", ".", "..") for part in clean.split("/")):
        raise StorageError(f"`{name}` is not a valid file name for internal storage",
                           hint="use a plain file name such as data.csv")
    return clean
