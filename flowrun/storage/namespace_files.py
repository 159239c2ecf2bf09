"""Namespace files: the project's `namespace_files/<namespace>/` tree, selected with Kestra's globs."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

from flowrun.storage.internal import StorageError

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
    """Files of namespace `a.b` live in `<root>/a.b/`, addressed by relative paths like `scripts/etl.py`."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def namespace_dir(self, namespace: str) -> Path:
        if not _NAMESPACE.fullmatch(namespace or ""):
            raise StorageError(f"`{namespace}` is not a valid namespace",
                               hint="namespaces are dot-separated words, e.g. company.team")
        return self.root / namespace

    def path(self, namespace: str, rel: str) -> Path:
        """The local path of namespace file `rel` (need not exist); refuses paths leaving the namespace."""
        base = self.namespace_dir(namespace).resolve()
        target = (base / str(rel).replace("\\", "/").lstrip("/")).resolve()
        if target == base or not target.is_relative_to(base):
            raise StorageError(f"namespace file path `{rel}` escapes namespace `{namespace}`",
                               hint="use a path relative to the namespace, without `..`")
        return target

    def exists(self, namespace: str, rel: str) -> bool:
        return self.path(namespace, rel).is_file()

    def read_bytes(self, namespace: str, rel: str) -> bytes:
        target = self.path(namespace, rel)
        if not target.is_file():
            raise StorageError(
                f"namespace file `{rel}` does not exist in namespace `{namespace}` (looked for {target})",
                hint=f"add it under {self.namespace_dir(namespace)}/ or fix the path",
            )
        return target.read_bytes()

    def read(self, namespace: str, rel: str) -> str:
        return self.read_bytes(namespace, rel).decode("utf-8")

    def write(self, namespace: str, rel: str, data: bytes) -> Path:
        """Create or overwrite a namespace file."""
        target = self.path(namespace, rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        return target

    def copy_from(self, namespace: str, rel: str, source: Path) -> Path:
        """Create or overwrite namespace file `rel` with a copy of the local file `source`."""
        target = self.path(namespace, rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        return target

    def prune_empty_dirs(self, namespace: str, rels: list[str]) -> list[str]:
        """Remove the parent folders of `rels` that are empty, deepest first; return the folders removed."""
        base = self.namespace_dir(namespace).resolve()
        folders = {parent for rel in rels for parent in self.path(namespace, rel).parents
                   if parent != base and parent.is_relative_to(base)}
        removed = []
        for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
                removed.append(folder.relative_to(base).as_posix())
        return removed

    def delete(self, namespace: str, rel: str) -> bool:
        """Delete one file; False if it did not exist."""
        target = self.path(namespace, rel)
        if not target.is_file():
            return False
        target.unlink()
        return True

    def copy_into(self, namespace: str, dest_dir: Path, include: list[str] | None = None,
                  exclude: list[str] | None = None) -> list[str]:
        """Copy the selected files into `dest_dir`, keeping their relative paths; return those paths."""
        copied = self.list(namespace, include, exclude)
        base = self.namespace_dir(namespace)
        for rel in copied:
            target = Path(dest_dir) / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(base / rel, target)
        return copied

    def list(self, namespace: str, include: list[str] | None = None,
             exclude: list[str] | None = None) -> list[str]:
        """Relative paths (sorted, `/`-separated) of the files selected by `include`/`exclude`."""
        base = self.namespace_dir(namespace)
        if not base.is_dir():
            return []
        selected = build_filter(include, exclude)
        files = (p.relative_to(base).as_posix() for p in base.rglob("*") if p.is_file())
        return sorted(rel for rel in files if selected("/" + rel))
