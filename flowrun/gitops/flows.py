"""Flows from Git into the project's flows/: moved into the target namespace, validated, planned against flows/."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flowrun.errors import InvalidFlowError, Problem
from flowrun.gitops.checkout import GitTree
from flowrun.gitops.remote import GitError
from flowrun.gitops.tree import Change, plan_changes
from flowrun.project import Project, peek_ids

#: Kestra's SyncFlows finds the flow's namespace with this pattern and replaces its first match.
NAMESPACE_LINE = re.compile(r"(?m)^namespace: (.*)$")
ID_LINE = re.compile(r"(?m)^id:[ \t]*(.+?)[ \t]*$")


@dataclass
class GitFlow:
    """One flow file of `gitDirectory`, its source already moved into its target namespace."""

    git_path: str
    namespace: str
    flow_id: str
    source: bytes


def read_git_flows(tree: GitTree, git_prefix: str, target_namespace: str) -> tuple[list[GitFlow], list[str]]:
    """The YAML files of the tree as flows of `target_namespace` (a subdirectory adds a child namespace, as
    in Kestra); returns them and the files that are not flows."""
    flows, skipped = [], []
    for rel, path in sorted(tree.files.items()):
        git_path = f"{git_prefix}/{rel}" if git_prefix else rel
        if not rel.endswith((".yml", ".yaml")):
            skipped.append(f"{git_path} (not a .yml or .yaml file)")
            continue
        subdir = rel.rpartition("/")[0]
        namespace = target_namespace + ("." + subdir.replace("/", ".") if subdir else "")
        text = path.read_text(encoding="utf-8")
        found = ID_LINE.search(text)
        if not NAMESPACE_LINE.search(text) or not found:
            raise GitError(f"{git_path}: not a flow (it needs top-level `id:` and `namespace:` lines)",
                           hint="keep only flow files in gitDirectory, or list the others in .kestraignore")
        moved = NAMESPACE_LINE.sub(f"namespace: {namespace}", text, count=1).rstrip() + "\n"
        path.write_text(moved, encoding="utf-8")  # the checkout's copy, validated from here
        flows.append(GitFlow(git_path, namespace, found.group(1).strip("'\""), moved.encode()))
    return flows, skipped


def validate_git_flows(flows: list[GitFlow], tree: GitTree, git_prefix: str, defaults: Sequence[Any],
                       ignore_invalid: bool) -> tuple[list[GitFlow], list[Problem]]:
    """Validate each flow as flowrun would run it. Invalid ones fail the sync, or are left out (and returned
    as problems) with `ignore_invalid`."""
    from flowrun.load import load_flow

    valid, problems = [], []
    for flow in flows:
        rel = flow.git_path[len(git_prefix) + 1:] if git_prefix else flow.git_path
        try:
            load_flow(tree.files[rel], defaults)
        except InvalidFlowError as exc:
            problems += [p.replace(file=flow.git_path) for p in exc.problems]
            continue
        valid.append(flow)
    if problems and not ignore_invalid:
        raise InvalidFlowError(problems, hint="fix the flows in Git (nothing was synced), or set "
                                              "ignoreInvalidFlows: true to sync the valid ones")
    return valid, problems


def in_scope(namespace: str | None, target: str, include_children: bool) -> bool:
    if namespace is None:
        return False
    return namespace == target or include_children and namespace.startswith(target + ".")


def plan_flow_changes(project: Project, flows: list[GitFlow], target: str, include_children: bool,
                      delete: bool, keep: tuple[str, str] | None = None) -> list[Change]:
    """The changes that make flows/ hold the Git flows: a flow already in the project keeps its file, a new one
    goes to `flows/<namespace>/<file>`; with `delete`, the flows of the namespace absent from Git go (never
    `keep`, the flow running the sync)."""
    flows_dir = project.flows_dir
    known: dict[tuple[str | None, str | None], str] = {}
    for path in project.flow_files():
        known.setdefault(peek_ids(path), path.relative_to(flows_dir).as_posix())
    owners = {rel: key for key, rel in known.items()}
    wanted: dict[str, bytes] = {}
    info: dict[str, dict[str, Any]] = {}
    for flow in flows:
        key = (flow.namespace, flow.flow_id)
        rel = known.get(key) or _new_path(flow, owners, wanted)
        if rel in wanted:
            raise GitError(f"{info[rel]['gitPath']} and {flow.git_path} are both flow {flow.namespace}/{flow.flow_id}",
                           hint="keep one file per flow id in gitDirectory")
        wanted[rel] = flow.source
        info[rel] = {"gitPath": flow.git_path, "flowId": flow.flow_id, "namespace": flow.namespace}

    def deletable(rel: str) -> bool:
        key = owners.get(rel)
        return key is not None and key != keep and in_scope(key[0], target, include_children)

    existing = [path.relative_to(flows_dir).as_posix() for path in project.flow_files()]
    changes = plan_changes(flows_dir, wanted, deletable if delete else None, existing=existing)
    return [dataclasses.replace(c, info=info.get(c.path) or _deleted_info(owners.get(c.path))) for c in changes]


def _new_path(flow: GitFlow, owners: dict[str, tuple[str | None, str | None]], wanted: dict[str, bytes]) -> str:
    name = flow.git_path.rpartition("/")[2]
    rel = f"{flow.namespace}/{name}"
    if rel in owners or rel in wanted:
        rel = f"{flow.namespace}/{flow.flow_id}.yml"
    return rel


def _deleted_info(key: tuple[str | None, str | None] | None) -> dict[str, Any]:
    return {"flowId": key[1], "namespace": key[0]} if key else {}


def flow_rows(changes: list[Change]) -> list[dict[str, Any]]:
    """Kestra's SyncFlows diff rows (`gitPath`, `syncState`, `flowId`, `namespace`), deleted ones first."""
    rows = []
    for change in changes:
        row = {"syncState": change.state, **{k: v for k, v in change.info.items() if v is not None}}
        rows.append(row)
    rows.sort(key=lambda row: (row.get("gitPath") is not None, row.get("gitPath") or ""))
    return rows
