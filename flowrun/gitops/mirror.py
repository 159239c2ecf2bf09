"""`flowrun git pull/push`: the project's flows/ and namespace_files/ mirrored from and to a repository.

In the repository, `gitDirectory` (default its root) holds `flows/` and `namespace_files/<namespace>/`, laid
out as in the project. A pull applies Git's files with the atomic swap of the sync tasks (flows/ in one swap,
each namespace in one); a push commits the project's files there. `namespace` limits both to one namespace
and its children.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from flowrun.errors import InvalidFlowError, Problem
from flowrun.gitops.checkout import GitTree, checkout_branch, read_git_tree, resolve_git_directory
from flowrun.gitops.flows import in_scope
from flowrun.gitops.nsfiles import sync_namespace
from flowrun.gitops.push import PushResult, commit_and_push, open_branch, replace_files
from flowrun.gitops.remote import GitError, GitSession
from flowrun.gitops.tree import DELETED, UNCHANGED, Change, apply_changes, plan_changes
from flowrun.project import Project, peek_ids
from flowrun.storage.namespace_files import NamespaceFiles

_NAME_STATUS = {"A": "ADDED", "M": "UPDATED", "D": DELETED, "T": "UPDATED"}


@dataclass
class MirrorSpec:
    """What to mirror: the branch, the repository directory, the namespace (None: all) and the commit."""

    branch: str = "main"
    git_directory: str = ""
    namespace: str | None = None
    delete: bool = False
    message: str | None = None
    author: tuple[str, str] | None = None

    def covers(self, namespace: str | None) -> bool:
        return self.namespace is None or in_scope(namespace, self.namespace, True)


@dataclass
class FileChange:
    """One file a pull or push adds, updates or deletes: `path` as in the project (`flows/...`)."""

    state: str
    path: str


def pull_project(session: GitSession, project: Project, spec: MirrorSpec, dry_run: bool, scratch: Path) -> list[FileChange]:
    """Apply the repository's flows and namespace files to the project; returns every file's change."""
    checkout = checkout_branch(session, spec.branch, scratch / "repo")
    root = resolve_git_directory(checkout, spec.git_directory)
    if not (root / "flows").is_dir() and not (root / "namespace_files").is_dir():
        where = f"`{spec.git_directory}`" if spec.git_directory.strip("/") else "the repository root"
        raise GitError(f"{where} on branch `{spec.branch}` holds neither flows/ nor namespace_files/",
                       hint="point --git-directory (git.gitDirectory) at the directory that mirrors the project")
    plans: list[tuple[Path, list[Change], str]] = [(project.flows_dir, _plan_flows(project, root, spec), "flows")]
    if not dry_run:
        apply_changes(project.flows_dir, plans[0][1])
    store = NamespaceFiles(project.namespace_files_dir)  # the project's own dir (published to a shared storage)
    for namespace in _namespaces(root / "namespace_files", project.namespace_files_dir, spec):
        changes = sync_namespace(store, namespace, _tree(root / "namespace_files" / namespace).files, spec.delete,
                                 dry_run)
        plans.append((project.namespace_files_dir / namespace, changes, f"namespace_files/{namespace}"))
    return [FileChange(c.state, f"{prefix}/{c.path}") for _, changes, prefix in plans for c in changes]


def _tree(path: Path) -> GitTree:
    return read_git_tree(path, "", "", fail_on_missing=False) if path.is_dir() else GitTree(None)


def _plan_flows(project: Project, root: Path, spec: MirrorSpec) -> list[Change]:
    tree = _tree(root / "flows")
    wanted = {rel: path for rel, path in tree.files.items()
              if rel.endswith((".yml", ".yaml")) and spec.covers(peek_ids(path)[0])}
    _validate(wanted, spec.git_directory, project)
    flows_dir = project.flows_dir

    def deletable(rel: str) -> bool:
        return rel.endswith((".yml", ".yaml")) and spec.covers(peek_ids(flows_dir / rel)[0])

    return plan_changes(flows_dir, wanted, deletable if spec.delete else None)


def _validate(wanted: dict[str, Path], git_directory: str, project: Project) -> None:
    from flowrun.load import load_flow

    prefix = f"{git_directory.strip('/')}/flows/" if git_directory.strip("/") else "flows/"
    problems: list[Problem] = []
    for rel, path in sorted(wanted.items()):
        try:
            load_flow(path, project.config.plugin_defaults)
        except InvalidFlowError as exc:
            problems += [p.replace(file=prefix + rel) for p in exc.problems]
    if problems:
        raise InvalidFlowError(problems, hint="fix the flows in Git: nothing was pulled")


def _namespaces(source: Path, local: Path, spec: MirrorSpec) -> list[str]:
    """Namespaces with files in Git (and, with `delete`, local ones Git lacks), within the spec's namespace."""
    names = _dirs(source)
    if spec.delete:
        names |= _dirs(local)
    return sorted(name for name in names if spec.covers(name))


def _dirs(root: Path) -> set[str]:
    """Namespace directories (not the hidden lock files and staging dirs of a sync)."""
    return {p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")} if root.is_dir() else set()


def push_project(session: GitSession, project: Project, spec: MirrorSpec, dry_run: bool, scratch: Path,
                 log: Callable[[str], None]) -> tuple[list[FileChange], PushResult]:
    """Commit the project's flows and namespace files to the repository; returns the changes and the commit."""
    files = {path.relative_to(project.flows_dir).as_posix(): path for path in project.flow_files()
             if spec.covers(peek_ids(path)[0])}
    _validate(files, "", project)
    checkout = scratch / "repo"
    if not open_branch(session, spec.branch, checkout):
        log(f"branch {spec.branch} does not exist on the remote: creating it")
    root = resolve_git_directory(checkout, spec.git_directory)
    replace_files(root / "flows", {rel: path.read_bytes() for rel, path in files.items()},
                  lambda rel: rel.endswith((".yml", ".yaml")) and spec.covers(peek_ids(root / "flows" / rel)[0]))
    for namespace in _namespaces(project.namespace_files_dir, root / "namespace_files", _deleting(spec)):
        local = project.namespace_files_dir / namespace
        data = {rel: (local / rel).read_bytes() for rel in _tree(local).files}
        replace_files(root / "namespace_files" / namespace, data, lambda rel: True)
    pathspec = str(root.relative_to(checkout.resolve())) if root != checkout.resolve() else "."
    session.run(["add", "--all", "--", pathspec], cwd=checkout)
    changes = _staged(session, checkout, pathspec)
    message = spec.message or f"flowrun: push {spec.namespace or 'the project'}'s flows and namespace files"
    return changes, commit_and_push(session, checkout, spec.branch, message, spec.author, dry_run, log)


def _deleting(spec: MirrorSpec) -> MirrorSpec:
    return dataclasses.replace(spec, delete=True)  # a push mirrors: what the project lacks goes


def _staged(session: GitSession, checkout: Path, pathspec: str) -> list[FileChange]:
    out = session.run(["diff", "--cached", "--name-status", "--no-renames", "--", pathspec], cwd=checkout)
    base = "" if pathspec == "." else pathspec.rstrip("/") + "/"
    changes = []
    for line in out.splitlines():
        status, _, path = line.partition("\t")
        changes.append(FileChange(_NAME_STATUS.get(status[:1], status), path[len(base):] if base else path))
    return changes


def summary(changes: list[FileChange]) -> str:
    counts = {state: sum(1 for c in changes if c.state == state) for state in ("ADDED", "UPDATED", DELETED, UNCHANGED)}
    text = f"{counts['ADDED']} added, {counts['UPDATED']} updated, {counts[DELETED]} deleted"
    return text + (f", {counts[UNCHANGED]} unchanged" if counts[UNCHANGED] else "")
