"""What a push sends: a namespace's files, or its flows, as paths under `gitDirectory` with their bytes."""

from __future__ import annotations

import re
from collections.abc import Callable

from flowrun.gitops.flows import in_scope
from flowrun.project import Project, peek_ids
from flowrun.storage.namespace_files import NamespaceFiles, build_filter, glob_to_regex

_REVISION = re.compile(r"(?m)^revision:\s*\d+\n?")
Export = tuple[dict[str, bytes], Callable[[str], bool]]


def child_namespaces(store: NamespaceFiles, namespace: str) -> list[str]:
    """The namespaces below `namespace` that have namespace files."""
    return sorted({key.split("/", 1)[0] for key in store.backend.list("") if key.startswith(namespace + ".")})


def export_namespace_files(store: NamespaceFiles, namespace: str, globs: list[str] | None,
                           include_children: bool) -> Export:
    """The selected files of `namespace` (a child namespace's under a directory named after it), and which
    files already under `gitDirectory` the selection covers (those a push may remove)."""
    children = child_namespaces(store, namespace) if include_children else []
    files: dict[str, bytes] = {}
    for ns in [namespace, *children]:
        prefix = "" if ns == namespace else ns + "/"
        for rel in store.list(ns, include=globs or None):
            files[prefix + rel] = store.read_bytes(ns, rel)
    selected = build_filter(globs or None, None)

    def removable(rel: str) -> bool:
        head, _, rest = rel.partition("/")
        return selected("/" + (rest if rest and head in children else rel))

    return files, removable


def export_flows(project: Project, source: str, target: str | None, globs: list[str] | None,
                 include_children: bool) -> Export:
    """The flows of `source` (and its children) whose id matches `globs`, as `<child path>/<id>.yml` with
    `namespace: source...` rewritten to `target` and `revision:` lines removed, as Kestra's PushFlows writes them."""
    matchers = [re.compile(glob_to_regex(glob)) for glob in globs or []]

    def chosen(flow_id: str) -> bool:
        return not matchers or any(m.fullmatch(flow_id) for m in matchers)

    files: dict[str, bytes] = {}
    for path in project.flow_files():
        namespace, flow_id = peek_ids(path)
        if not flow_id or not in_scope(namespace, source, include_children) or not chosen(flow_id):
            continue
        sub = str(namespace)[len(source) + 1:].replace(".", "/")
        text = _REVISION.sub("", path.read_text(encoding="utf-8"))
        if target and target != source:
            text = re.sub(rf"(?m)^(\s*namespace:\s*){re.escape(source)}", lambda m: m.group(1) + target, text)
        files[f"{sub}/{flow_id}.yml" if sub else f"{flow_id}.yml"] = text.encode()

    def removable(rel: str) -> bool:
        folder, _, name = rel.rpartition("/")
        top_level = include_children or not folder
        return top_level and name.endswith((".yml", ".yaml")) and chosen(name.rsplit(".", 1)[0])

    return files, removable
