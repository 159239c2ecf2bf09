"""Namespace files: `<namespace>/<path>` files of a local dir or a shared storage, selected with Kestra's globs."""

from __future__ import annotations

import builtins
import re
from collections.abc import Callable
from pathlib import Path

from flowrun.storage.backend import LocalBackend, MissingFile, StorageBackend, StorageError, below, clean_key
from flowrun.storage.cache import process_cache_dir

Matcher = Callable[[str], bool]
_NAMESPACE = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*")


def glob_to_regex(glob: str) -> str:
    """Translate a Java NIO glob: `*` and `?` stay within one path segment, `**` crosses `/`,
    `[...]`/`[!...]` are character classes and `{a,b}` alternatives."""
    out: list[str] = []
    i, n, in_group = 0, len(glob), False
    while i < n:
        char = glob[i]
        if char == "*":
            double = glob.startswith("**", i)
            out.append(".*" if double else "[^/]*")
            i += 2 if double else 1
            continue
        if char == "[":
            end = glob.find("]", i + 2)
            if end != -1:
                body = glob[i + 1:end].replace("\\", "\\\\")
                out.append("[^/" + body[1:] + "]" if body.startswith("!") else "[" + body + "]")
                i = end + 1
                continue
        out.append(_glob_char(glob, i, char, in_group))
        if char == "\\" and i + 1 < n:
            i += 1
        in_group = (in_group or char == "{") and char != "}"
        i += 1
    return "".join(out)


def _glob_char(glob: str, i: int, char: str, in_group: bool) -> str:
    if char == "?":
        return "[^/]"
    if char == "{":
        return "(?:"
    if char == "}" and in_group:
        return ")"
    if char == "," and in_group:
        return "|"
    if char == "\\" and i + 1 < len(glob):
        return re.escape(glob[i + 1])
    return re.escape(char)


def compile_pattern(pattern: str) -> Matcher:
    """A matcher of `/relative/path` strings for one include/exclude pattern (Kestra's PathMatcherPredicate).

    `regex:` patterns must match the whole `/relative/path`. Globs (`glob:` or no prefix) starting with a
    word character get an implicit `**/` in front. Deliberate leniency: a glob may also match the path
    without its leading `/`, so that `*.py` selects top-level Python files (in Kestra it selects nothing).
    """
    try:
        if pattern.startswith("regex:"):
            regex = re.compile(pattern[len("regex:"):])
            return lambda path: regex.fullmatch(path) is not None
        explicit = pattern.startswith("glob:")
        glob = pattern[len("glob:"):] if explicit else pattern
        if not explicit and re.match(r"[A-Za-z0-9_]", glob):
            glob = "**/" + glob
        compiled = re.compile(glob_to_regex(glob), re.DOTALL)
    except re.error as exc:
        raise StorageError(f"invalid file pattern `{pattern}`: {exc}",
                           hint="use a glob such as scripts/**.py, or regex:<expression>") from exc
    return lambda path: compiled.fullmatch(path) is not None or compiled.fullmatch(path[1:]) is not None


def build_filter(include: list[str] | None, exclude: list[str] | None) -> Matcher:
    """True for `/relative/path`s selected by `include` (all when empty) and not by `exclude`."""
    includes = [compile_pattern(p) for p in include or []]
    excludes = [compile_pattern(p) for p in exclude or []]

    def selected(path: str) -> bool:
        if includes and not any(m(path) for m in includes):
            return False
        return not any(m(path) for m in excludes)

    return selected


class NamespaceFiles:
    """Files of namespace `a.b`, addressed by relative paths like `scripts/etl.py`: keys `a.b/<path>` of a backend.

    The backend is the project's `namespace_files/` dir, or, with a shared storage, its `namespace_files/`
    prefix. There a file a template reads is fetched afresh (namespace files change; task outputs do not).
    """

    def __init__(self, root: Path | StorageBackend, cache_dir: Path | Callable[[], Path] | None = None) -> None:
        self.backend: StorageBackend = LocalBackend(root) if isinstance(root, str | Path) else root
        self._cache_dir = cache_dir

    def namespace_dir(self, namespace: str) -> str:
        """Where the namespace's files live (a directory or a `gs://` prefix), for messages."""
        return f"{self.backend.location}/{_checked_namespace(namespace)}"

    def _key(self, namespace: str, rel: str) -> str:
        """`<namespace>/<rel>`, refusing a path that leaves the namespace."""
        inside = _checked_namespace(namespace)
        try:
            key = clean_key(f"{inside}/{rel}", "path")
        except StorageError:
            key = ""
        if not below(key, inside) or key == inside:
            raise StorageError(f"namespace file path `{rel}` escapes namespace `{namespace}`",
                               hint="use a path relative to the namespace, without `..`")
        return key

    def path(self, namespace: str, rel: str) -> Path:
        """A local path of namespace file `rel` (need not exist): the file itself in a local dir, else a fresh copy."""
        key = self._key(namespace, rel)
        direct = self.backend.local_file(key)
        if direct is not None:
            base = self.backend.local_file(_checked_namespace(namespace))
            if base is None or not direct.is_relative_to(base) or direct == base:  # a symlink out of the namespace
                raise StorageError(f"namespace file path `{rel}` escapes namespace `{namespace}`",
                                   hint="use a path relative to the namespace, without `..`")
            return direct
        copy = self._copy_path(key)
        copy.unlink(missing_ok=True)
        try:
            self.backend.get(key, copy)
        except MissingFile:
            pass
        return copy

    def _copy_path(self, key: str) -> Path:
        if self._cache_dir is None:
            import tempfile

            self._cache_dir = process_cache_dir(Path(tempfile.gettempdir()) / "flowrun")
        base = self._cache_dir() if callable(self._cache_dir) else self._cache_dir
        return Path(base) / "namespace_files" / key

    def exists(self, namespace: str, rel: str) -> bool:
        return self.backend.exists(self._key(namespace, rel))

    def read_bytes(self, namespace: str, rel: str) -> bytes:
        key = self._key(namespace, rel)
        try:
            with self.backend.open(key) as handle:
                return handle.read()
        except MissingFile:
            raise StorageError(
                f"namespace file `{rel}` does not exist in namespace `{namespace}` (looked in "
                f"{self.namespace_dir(namespace)})",
                hint=f"add it under {self.namespace_dir(namespace)}/ or fix the path",
            ) from None

    def read(self, namespace: str, rel: str) -> str:
        return self.read_bytes(namespace, rel).decode("utf-8")

    def write(self, namespace: str, rel: str, data: bytes) -> str:
        """Create or overwrite a namespace file; returns its key."""
        key = self._key(namespace, rel)
        self.backend.put(key, data)
        return key

    def copy_from(self, namespace: str, rel: str, source: Path) -> str:
        """Create or overwrite namespace file `rel` with a copy of the local file `source`; returns its key."""
        key = self._key(namespace, rel)
        self.backend.put(key, Path(source))
        return key

    def prune_empty_dirs(self, namespace: str, rels: builtins.list[str]) -> builtins.list[str]:
        """Remove the parent folders of `rels` left empty, deepest first; return those folders.

        In an object store a folder is only a name prefix: one with no file left is gone already."""
        inside = _checked_namespace(namespace)
        folders = {parent for rel in rels for parent in _parents(self._key(namespace, rel), inside)}
        removed = []
        for folder in sorted(folders, key=lambda key: key.count("/"), reverse=True):
            local = self.backend.local_file(folder)
            if local is None:
                empty = not self.backend.list(folder)
            elif empty := local.is_dir() and not any(local.iterdir()):
                local.rmdir()
            if empty:
                removed.append(folder[len(inside) + 1:])
        return removed

    def delete(self, namespace: str, rel: str) -> bool:
        """Delete one file; False if it did not exist."""
        return self.backend.delete(self._key(namespace, rel))

    def copy_into(self, namespace: str, dest_dir: Path, include: list[str] | None = None,
                  exclude: list[str] | None = None) -> list[str]:
        """Copy the selected files into `dest_dir`, keeping their relative paths; return those paths."""
        copied = self.list(namespace, include, exclude)
        for rel in copied:
            self.backend.get(f"{namespace}/{rel}", Path(dest_dir) / rel)
        return copied

    def list(self, namespace: str, include: list[str] | None = None,
             exclude: list[str] | None = None) -> list[str]:
        """Relative paths (sorted, `/`-separated) of the files selected by `include`/`exclude`."""
        inside = _checked_namespace(namespace)
        selected = build_filter(include, exclude)
        files = (key[len(inside) + 1:] for key in self.backend.list(inside))
        return sorted(rel for rel in files if selected("/" + rel))

    def publish(self, local_root: Path) -> builtins.list[str]:
        """Upload the files of a local `namespace_files/` dir that this storage lacks or holds another version of.

        Files only in the storage stay (a task may have written them). Returns the keys uploaded.
        """
        local = LocalBackend(local_root)
        if not Path(local_root).is_dir():
            return []
        uploaded = []
        for entry in sorted(Path(local_root).iterdir()):
            if not entry.is_dir() or not _NAMESPACE.fullmatch(entry.name):
                continue
            theirs = self.backend.md5s(entry.name)
            for key, digest in local.md5s(entry.name).items():
                if theirs.get(key) != digest:
                    self.backend.put(key, Path(local_root) / key)
                    uploaded.append(key)
        return sorted(uploaded)


def _parents(key: str, inside: str) -> builtins.list[str]:
    """The folder keys between `key` and its namespace folder `inside` (both excluded)."""
    parts = key.split("/")
    folders = ["/".join(parts[:n]) for n in range(len(parts) - 1, 0, -1)]
    return [folder for folder in folders if below(folder, inside) and folder != inside]


def _checked_namespace(namespace: str) -> str:
    if not _NAMESPACE.fullmatch(namespace or ""):
        raise StorageError(f"`{namespace}` is not a valid namespace",
                           hint="namespaces are dot-separated words, e.g. company.team")
    return namespace
