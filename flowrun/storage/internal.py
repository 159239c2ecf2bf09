"""Internal storage: `kestra:///<path>` URIs backed by files under one local root directory."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import unicodedata
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote

from flowrun.errors import FlowrunError

SCHEME = "kestra://"
_URI_SAFE = "/!$&'()*+,;=:@-._~"  # RFC 3986 path characters kept as is; everything else is %-encoded
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


class StorageError(FlowrunError):
    """A `kestra://` URI or a stored file could not be used."""


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
    """Files addressed by `kestra:///a/b/c`, stored at `<root>/a/b/c`."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    # -- paths -------------------------------------------------------------------------------------

    def _base(self) -> Path:
        return self.root.resolve()

    def _resolve(self, path: str, what: str) -> Path:
        """`root/path`, refusing anything that would land outside the root."""
        base = self._base()
        target = (base / path.lstrip("/")).resolve()
        if not target.is_relative_to(base):
            raise StorageError(f"{what} escapes the internal storage root {base}",
                               hint="use paths below the execution's prefix, without `..`")
        return target

    def _path_of_uri(self, uri: str) -> Path:
        if not isinstance(uri, str) or not uri.startswith(SCHEME + "/"):
            raise StorageError(f"`{uri}` is not an internal storage URI",
                               hint="internal storage URIs look like kestra:///namespace/flow/executions/...")
        return self._resolve(unquote(uri[len(SCHEME):]), f"URI `{uri}`")

    def uri_of(self, path: Path) -> str:
        """The URI of a file below the root."""
        target = Path(path).resolve()
        base = self._base()
        if not target.is_relative_to(base):
            raise StorageError(f"{path} is not inside the internal storage root {base}")
        return to_uri(target.relative_to(base).as_posix())

    def local_path(self, uri: str, allowed_prefix: str | Sequence[str] | None = None,
                   *, must_exist: bool = True) -> Path:
        """The file behind `uri`, checked: `kestra://` scheme, no escape from the root, inside
        `allowed_prefix` (one prefix or several) when given, and existing unless `must_exist=False`."""
        target = self._path_of_uri(uri)
        if allowed_prefix is not None:
            self._check_allowed(uri, target, allowed_prefix)
        if must_exist and not target.is_file():
            raise StorageError(f"file `{uri}` does not exist in internal storage ({target})",
                               hint="it may have been purged, or the URI comes from another project")
        return target

    def _check_allowed(self, uri: str, target: Path, allowed: str | Sequence[str]) -> None:
        prefixes = [allowed] if isinstance(allowed, str) else list(allowed)
        if any(target.is_relative_to(self._resolve(p, f"prefix `{p}`")) for p in prefixes):
            return
        raise StorageError(f"`{uri}` is outside this execution's storage ({', '.join(prefixes)})",
                           hint="a task may only read files of its own execution (or its parent's)")

    # -- writing -----------------------------------------------------------------------------------

    def new_file(self, prefix: str, name: str) -> tuple[Path, str]:
        """A fresh location `<prefix>/<name>` (parent dirs created): write to the path, publish the URI."""
        clean = _clean_name(name)
        target = self._resolve(f"{prefix.strip('/')}/{clean}", f"file `{prefix}/{name}`")
        target.parent.mkdir(parents=True, exist_ok=True)
        return target, self.uri_of(target)

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
        target, uri = self.new_file(prefix, name)
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
        try:
            shutil.copyfile(local, tmp)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        return uri

    # -- reading and deleting ----------------------------------------------------------------------

    def exists(self, uri: str) -> bool:
        return self._path_of_uri(uri).is_file()

    def size(self, uri: str, allowed_prefix: str | Sequence[str] | None = None) -> int:
        return self.local_path(uri, allowed_prefix).stat().st_size

    def read_bytes(self, uri: str, allowed_prefix: str | Sequence[str] | None = None) -> bytes:
        return self.local_path(uri, allowed_prefix).read_bytes()

    def delete(self, uri: str) -> bool:
        """Delete one file; False if it did not exist."""
        target = self._path_of_uri(uri)
        if not target.is_file():
            return False
        target.unlink()
        return True

    def list_prefix(self, prefix: str) -> list[str]:
        """URIs of every file below `prefix`, sorted."""
        top = self._resolve(prefix, f"prefix `{prefix}`")
        if top == self._base():
            raise StorageError("refusing to list or delete the whole internal storage",
                               hint="pass an execution or task prefix")
        if not top.is_dir():
            return []
        return sorted(self.uri_of(p) for p in top.rglob("*") if p.is_file())

    def delete_prefix(self, prefix: str) -> list[str]:
        """Delete everything below `prefix`; return the URIs of the files deleted."""
        uris = self.list_prefix(prefix)
        top = self._resolve(prefix, f"prefix `{prefix}`")
        if top.is_dir():
            shutil.rmtree(top)
        return uris

    def purge_executions(self, prefixes: Iterable[str]) -> list[str]:
        """Delete the storage of several executions (their `execution_prefix`es)."""
        deleted: list[str] = []
        for prefix in prefixes:
            deleted.extend(self.delete_prefix(prefix))
        return deleted

    def scoped(self, prefix: str, readable: Sequence[str]) -> ScopedStorage:
        """The storage one task run sees: writes under `prefix`, reads under the `readable` prefixes."""
        return ScopedStorage(self, prefix, list(readable))


@dataclass
class ScopedStorage:
    """One task run's view of internal storage (implements `flowrun.tasks.base.Storage`)."""

    storage: InternalStorage
    prefix: str
    readable: list[str] = field(default_factory=list)

    def put_file(self, local_path: Path, name: str | None = None, *, hashed: bool = False) -> str:
        return self.storage.put_file(local_path, self.prefix, name, hashed=hashed)

    def new_file(self, name: str) -> tuple[Path, str]:
        return self.storage.new_file(self.prefix, name)

    def local_path(self, uri: str) -> Path:
        return self.storage.local_path(uri, [self.prefix, *self.readable])


def _clean_name(name: str) -> str:
    clean = name.replace("\\", "/").strip("/")
    if not clean or any(part in ("", ".", "..") for part in clean.split("/")):
        raise StorageError(f"`{name}` is not a valid file name for internal storage",
                           hint="use a plain file name such as data.csv")
    return clean
