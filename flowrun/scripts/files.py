"""Files around a script run: inputFiles, `kestra://` URIs in commands, and outputFiles globs."""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flowrun.errors import TaskError

if TYPE_CHECKING:
    from flowrun.tasks.base import Storage

KESTRA_URI = re.compile(r"kestra://[-a-zA-Z0-9%._+~#=/]*")


def _inside(wd: Path, rel: str) -> Path:
    target = (wd / rel).resolve()
    if target != wd.resolve() and wd.resolve() not in target.parents:
        raise TaskError(f"inputFiles: path {rel!r} points outside the working directory")
    return target


def parse_input_files(value: Any) -> dict[str, Any]:
    """`inputFiles` is a map, or a string holding a JSON map (as Kestra accepts)."""
    if value is None or value == "":
        return {}
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError as exc:
            raise TaskError(f"inputFiles: a string value must be a JSON map of path to content ({exc})") from exc
        if isinstance(parsed, dict):
            return parsed
    raise TaskError(f"inputFiles must be a map of path to content or kestra:// URI, got {type(value).__name__}")


def write_input_files(storage: Storage, wd: Path, files: dict[str, Any]) -> list[str]:
    """Write each entry: `kestra://` values are copied from storage, anything else is inline content."""
    written = []
    for rel, content in files.items():
        if content is None:
            continue
        target = _inside(wd, str(rel))
        target.parent.mkdir(parents=True, exist_ok=True)
        text = content if isinstance(content, str) else json.dumps(content)
        if text.startswith("kestra://"):
            shutil.copyfile(_local(storage, text.strip()), target)
        else:
            target.write_text(text, encoding="utf-8")
        written.append(str(rel))
    return written


def _local(storage: Storage, uri: str) -> Path:
    try:
        return Path(storage.local_path(uri))
    except Exception as exc:  # noqa: BLE001 - any storage failure is a task failure with the URI named
        raise TaskError(f"cannot read {uri}: {exc}", evidence={"uri": uri}) from exc


def localize_uris(storage: Storage, wd: Path, text: str, copies: dict[str, Path]) -> str:
    """Replace every `kestra://` URI in `text` by the absolute path of a local copy inside `wd`."""
    def replace(match: re.Match[str]) -> str:
        uri = match.group(0)
        if uri not in copies:
            source = _local(storage, uri)
            digest = hashlib.sha1(uri.encode()).hexdigest()[:10]
            target = wd / f"{digest}-{source.name}"
            shutil.copyfile(source, target)
            copies[uri] = target
        return str(copies[uri])

    return KESTRA_URI.sub(replace, text)


def glob_to_regex(pattern: str) -> re.Pattern[str]:
    """Java PathMatcher glob semantics: `*` stays within a path segment, `**` crosses `/`."""
    if pattern.startswith("regex:"):
        return re.compile(pattern[len("regex:"):])
    if pattern.startswith("glob:"):
        pattern = pattern[len("glob:"):]
    out, i, depth = [], 0, 0
    while i < len(pattern):
        ch = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "{":
            depth += 1
            out.append("(?:")
        elif ch == "}" and depth:
            depth -= 1
            out.append(")")
        elif ch == "," and depth:
            out.append("|")
        elif ch == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(ch))
            else:
                body = pattern[i + 1:end].replace("\\", "\\\\")
                out.append("[^" + body[1:] + "]" if body.startswith("!") else "[" + body + "]")
                i = end
        elif ch == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(ch))
        i += 1
    return re.compile("".join(out))


Warn = Callable[[str], None]


def _relative_pattern(wd: Path, pattern: str) -> str | None:
    """The glob relative to `wd` (an absolute path inside it is made relative); None when it points outside."""
    pattern = pattern.strip()
    if pattern.startswith("regex:"):
        return pattern
    body = pattern[len("glob:"):] if pattern.startswith("glob:") else pattern
    if body.startswith(str(wd) + "/"):
        body = body[len(str(wd)) + 1:]
    elif body.startswith("/"):
        return None
    body = posixpath.normpath(body)
    if body == ".." or body.startswith("../"):
        return None
    return body


def _may_reach(glob: str, rel_dir: str) -> bool:
    """Whether a glob could match something below directory `rel_dir`."""
    if "**" in glob:  # judged on the literal prefix before the first wildcard
        literal = re.split(r"[*?\\[{]", glob, maxsplit=1)[0]
        return literal.startswith(rel_dir + "/") or (rel_dir + "/").startswith(literal)
    dir_parts, glob_parts = rel_dir.split("/"), glob.split("/")
    return len(glob_parts) > len(dir_parts) and all(
        glob_to_regex(g).fullmatch(d) for g, d in zip(glob_parts, dir_parts, strict=False))


def match_output_files(wd: Path, patterns: list[str], skip: set[Path] | None = None,
                       warn: Warn | None = None) -> list[str]:
    """Paths (relative to `wd`, `/`-separated, sorted) of regular files matching any glob; symlinks not followed.

    `warn` hears, naming the pattern, of each pattern that points outside `wd` and of each symlink that a
    pattern matches (or may match files below): neither is uploaded.
    """
    say = warn or (lambda message: None)
    globs: list[tuple[str, str, re.Pattern[str]]] = []
    for pattern in patterns:
        rel = _relative_pattern(wd, pattern)
        if rel is None:
            say(f"outputFiles: pattern `{pattern.strip()}` points outside the working directory {wd}; "
                "only files inside it are uploaded")
            continue
        globs.append((pattern.strip(), rel, glob_to_regex(rel)))
    skip = skip or set()
    found = []
    for root, dirs, names in os.walk(wd):
        for name in [d for d in dirs if os.path.islink(os.path.join(root, d))]:
            dirs.remove(name)
            _warn_link(Path(root, name).relative_to(wd).as_posix(), True, globs, say)
        for name in names:
            full = Path(root, name)
            rel = full.relative_to(wd).as_posix()
            if full in skip:
                continue
            if full.is_symlink():
                _warn_link(rel, False, globs, say)
            elif full.is_file() and any(rx.fullmatch(rel) for _, _, rx in globs):
                found.append(rel)
    return sorted(found)


def _warn_link(rel: str, is_dir: bool, globs: list[tuple[str, str, re.Pattern[str]]], say: Warn) -> None:
    for pattern, glob, rx in globs:
        if rx.fullmatch(rel):
            say(f"outputFiles: pattern `{pattern}` matches `{rel}`, a symlink; symlinks are not uploaded")
        elif is_dir and not pattern.startswith("regex:") and _may_reach(glob, rel):
            say(f"outputFiles: pattern `{pattern}` may match files under `{rel}`, a symlinked directory; "
                "flowrun does not follow symlinks")
        else:
            continue
        return


def upload_output_files(storage: Storage, wd: Path, rels: list[str]) -> dict[str, str]:
    """Put each file into storage; the map is relative path → `kestra://` URI."""
    names = [Path(rel).name for rel in rels]
    uris = {}
    for rel, name in zip(rels, names, strict=True):
        if names.count(name) > 1:
            name = f"{hashlib.sha1(rel.encode()).hexdigest()[:10]}-{name}"
        uris[rel] = storage.put_file(wd / rel, name)
    return uris
