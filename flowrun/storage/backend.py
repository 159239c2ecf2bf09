"""Where stored files live: the `StorageBackend` protocol, checked object keys, and the local-directory backend."""

from __future__ import annotations

import builtins
import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

from flowrun.errors import FlowrunError


class StorageError(FlowrunError):
    """A `kestra://` URI or a stored file could not be used."""


class MissingFile(StorageError):
    """The file asked for is not in the storage."""


class StorageBackend(Protocol):
    """Files addressed by keys: clean relative `/`-separated paths (`a/b/file.csv`, see `clean_key`).

    A prefix is a key naming a "directory"; `""` is the backend's root. Every method raises `StorageError`
    for a storage failure, naming the file and the storage's `location`.
    """

    #: where the files live, for messages: a directory, or `gs://bucket/prefix`
    location: str

    def put(self, key: str, source: Path | bytes) -> None:
        """Store a local file (or bytes) as `key`, replacing it when it exists."""
        ...

    def get(self, key: str, dest: Path) -> None:
        """Copy `key` into the local file `dest` (written atomically); StorageError when it does not exist."""
        ...

    def open(self, key: str) -> BinaryIO:
        """A binary reader of `key`."""
        ...

    def list(self, prefix: str) -> list[str]:
        """The keys of every file below `prefix`, sorted."""
        ...

    def delete(self, key: str) -> bool:
        """Delete one file; False when it did not exist."""
        ...

    def delete_prefix(self, prefix: str) -> builtins.list[str]:
        """Delete every file below `prefix`; return their keys."""
        ...

    def exists(self, key: str) -> bool: ...

    def size(self, key: str) -> int | None:
        """The size in bytes; None when `key` does not exist."""
        ...

    def md5s(self, prefix: str) -> dict[str, str]:
        """Hex MD5 digests of the files below `prefix`, by key (to skip uploading unchanged files)."""
        ...

    def local_file(self, key: str) -> Path | None:
        """The file itself when the backend is a local directory (None for a remote store)."""
        ...


def clean_key(path: str, what: str) -> str:
    """`path` as a key: `.` and empty segments dropped, `..` applied, and refused when it climbs above the root."""
    if "\x00" in path:
        raise StorageError(f"{what} holds a NUL character", hint="use plain file names")
    parts: list[str] = []
    for part in path.replace("\\", "/").split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                raise StorageError(f"{what} escapes the internal storage root",
                                   hint="use paths below the execution's prefix, without `..`")
            parts.pop()
            continue
        parts.append(part)
    return "/".join(parts)


def below(key: str, prefix: str) -> bool:
    """Whether `key` is `prefix` itself or inside it (`a/bc` is not inside `a/b`)."""
    return not prefix or key == prefix or key.startswith(prefix + "/")


def file_md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_atomically(dest: Path, fill: Callable[[Path], object]) -> None:
    """Create `dest` (parents too) through a temporary sibling: `fill(tmp_path)` writes it, then it is renamed."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.urandom(16).hex()}.tmp")
    try:
        fill(tmp)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


class LocalBackend:
    """Files under one local (or network-mounted) directory: key `a/b` is the file `<root>/a/b`."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.location = str(self.root)

    def path(self, key: str) -> Path:
        """`<root>/<key>`, refusing one that a symlink leads outside the root."""
        base = self.root.resolve()
        target = (base / key).resolve()
        if not target.is_relative_to(base):
            raise StorageError(f"`{key}` escapes the internal storage root {base}",
                               hint="use paths below the execution's prefix, without `..`")
        return target

    def local_file(self, key: str) -> Path | None:
        return self.path(key)

    def put(self, key: str, source: Path | bytes) -> None:
        if isinstance(source, bytes):
            write_atomically(self.path(key), lambda tmp: tmp.write_bytes(source))
        else:
            import shutil

            write_atomically(self.path(key), lambda tmp: shutil.copyfile(source, tmp))

    def get(self, key: str, dest: Path) -> None:
        import shutil

        source = self._existing(key)
        write_atomically(dest, lambda tmp: shutil.copyfile(source, tmp))

    def open(self, key: str) -> BinaryIO:
        return open(self._existing(key), "rb")

    def _existing(self, key: str) -> Path:
        target = self.path(key)
        if not target.is_file():
            raise MissingFile(f"file `{key}` does not exist in {self.location}",
                               hint="it may have been purged, or it comes from another project")
        return target

    def _files(self, prefix: str) -> Iterator[tuple[str, Path]]:
        top = self.path(prefix)
        if not top.is_dir():
            return
        base = self.root.resolve()
        for found in top.rglob("*"):
            if found.is_file():
                yield found.relative_to(base).as_posix(), found

    def list(self, prefix: str) -> list[str]:
        return sorted(key for key, _ in self._files(prefix))

    def md5s(self, prefix: str) -> dict[str, str]:
        return {key: file_md5(path) for key, path in self._files(prefix)}

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def size(self, key: str) -> int | None:
        target = self.path(key)
        return target.stat().st_size if target.is_file() else None

    def delete(self, key: str) -> bool:
        target = self.path(key)
        if not target.is_file():
            return False
        target.unlink()
        return True

    def delete_prefix(self, prefix: str) -> builtins.list[str]:
        keys = self.list(prefix)
        top = self.path(prefix)
        if prefix and top.is_dir():
            import shutil

            shutil.rmtree(top)
        return keys
