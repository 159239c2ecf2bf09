"""Kestra's git plugin, the clone and sync side: Clone, SyncNamespaceFiles and SyncFlows (Git -> the project)."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flowrun.errors import FlowrunError, TaskError
from flowrun.gitops.remote import GitAuth, GitOptions, GitSession, url_password
from flowrun.gitops.tree import ADDED, DELETED, UNCHANGED, UPDATED, Change
from flowrun.tasks.base import RunContext, Task

#: A namespace file that changed is OVERWRITTEN in Kestra's words (flowrun compares content, so an
#: identical one is UNCHANGED).
_FILE_STATES = {ADDED: "ADDED", UPDATED: "OVERWRITTEN", UNCHANGED: "UNCHANGED", DELETED: "DELETED"}
_MARKS = {ADDED: "+", UPDATED: "~", DELETED: "-"}


def render_text(ctx: RunContext, value: Any) -> str | None:
    return None if value is None else str(ctx.render(value))


def render_flag(ctx: RunContext, value: Any, name: str) -> bool:
    rendered = ctx.render_typed(value) if isinstance(value, str) else value
    if isinstance(rendered, str):
        text = rendered.strip().lower()
        if text not in ("true", "false", ""):
            raise TaskError(f"{name}: expected true or false, got {rendered!r}")
        return text == "true"
    if rendered is not None and not isinstance(rendered, bool | int):
        raise TaskError(f"{name}: expected true or false, got {rendered!r}")
    return bool(rendered)


def render_int(ctx: RunContext, value: Any, name: str) -> int | None:
    rendered = ctx.render_typed(value) if isinstance(value, str) else value
    if rendered is None or rendered == "":
        return None
    try:
        return int(rendered)
    except (TypeError, ValueError):
        raise TaskError(f"{name}: expected an integer, got {rendered!r}") from None


@contextlib.contextmanager
def task_errors() -> Iterator[None]:
    """flowrun errors (git, storage) become the task's failure, with their hint."""
    try:
        yield
    except FlowrunError as exc:
        hint = f" (hint: {exc.hint})" if exc.hint else ""
        raise TaskError(exc.message + hint, evidence={"hint": exc.hint} if exc.hint else None) from None


@contextlib.contextmanager
def scratch_dir(ctx: RunContext) -> Iterator[Path]:
    """A private temp dir for a checkout, under the state dir, removed afterwards."""
    base = Path(ctx.state_dir) / "tmp"
    base.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"git-{ctx.task_id}-", dir=base) as tmp:
        yield Path(tmp)


def write_diff(ctx: RunContext, rows: list[dict[str, Any]]) -> str:
    """The ION file of Kestra's diff outputs (one row per file), in this task run's storage."""
    from flowrun.ion import write_lines

    path, uri = ctx.storage.new_file("diff.ion")
    write_lines(path, rows)
    return uri


def log_changes(ctx: RunContext, changes: list[Change], where: str, dry_run: bool) -> None:
    for change in changes:
        if change.state in _MARKS:
            ctx.logger.info(f"{_MARKS[change.state]} {change.path}")
    counts = {state: sum(1 for c in changes if c.state == state) for state in (ADDED, UPDATED, DELETED, UNCHANGED)}
    verb = "dry run, would sync" if dry_run else "synced"
    ctx.logger.info(f"{verb} {where}: {counts[ADDED]} added, {counts[UPDATED]} updated, {counts[DELETED]} "
                    f"deleted, {counts[UNCHANGED]} unchanged")


class GitTask(Task):
    """Connection properties of every git task (Kestra's AbstractGitTask).

    `password` is a password or a personal access token for http(s) URLs; `privateKey` (PEM or OpenSSH, with
    `passphrase`) is for ssh URLs, and flowrun also takes `privateKeyPath`, a key file. Without them, git's own
    credential helpers, ssh agent and ~/.ssh apply, as for the `git` command. `kestraUrl` and `auth` (Kestra's
    API) are accepted and unused. Secret values never appear in logs, errors or outputs."""

    url: str | None = None
    username: str | None = None
    password: str | None = None
    private_key: str | None = None
    private_key_path: str | None = None
    passphrase: str | None = None
    trusted_ca_pem_path: str | None = None
    no_proxy: Any = False
    connect_timeout: Any = 10000
    read_timeout: Any = 60000
    git_config: dict[str, Any] | None = None
    clone_submodules: Any = False
    kestra_url: str | None = None
    auth: dict[str, Any] | None = None

    def git_session(self, ctx: RunContext, url: str | None = None) -> GitSession:
        auth = GitAuth(username=render_text(ctx, self.username), password=render_text(ctx, self.password),
                       private_key=render_text(ctx, self.private_key),
                       private_key_path=render_text(ctx, self.private_key_path),
                       passphrase=render_text(ctx, self.passphrase))
        url = url if url is not None else render_text(ctx, self.url)
        for secret in [*auth.secrets(), url_password(url)]:
            if secret:
                ctx.register_secret(secret)
        config = {str(k): ctx.render_typed(v) if isinstance(v, str) else v for k, v in (self.git_config or {}).items()}
        options = GitOptions(auth=auth, config=config, trusted_ca_pem_path=render_text(ctx, self.trusted_ca_pem_path),
                             no_proxy=render_flag(ctx, self.no_proxy, "noProxy"),
                             connect_timeout_ms=render_int(ctx, self.connect_timeout, "connectTimeout") or 10000,
                             read_timeout_ms=render_int(ctx, self.read_timeout, "readTimeout") or 60000,
                             known_hosts=str(Path(ctx.state_dir) / "ssh" / "known_hosts"))
        return GitSession(url, options)

    def submodules(self, ctx: RunContext) -> bool:
        return render_flag(ctx, self.clone_submodules, "cloneSubmodules")


class Clone(GitTask):
    """Clone a repository into the working directory (or its `directory` subdirectory); output `directory`.

    As in Kestra: a shallow clone (`depth`, default 1) of every branch (`cloneAllBranches`) unless `commit` or
    `tag` is set (then a full clone and a detached HEAD); `branch` defaults to the remote's HEAD; an existing
    clone in the directory is fetched and reset. `cache` and `cacheTtl` are accepted; each run clones afresh."""

    url: str
    directory: str | None = None
    branch: str | None = None
    depth: Any = 1
    commit: str | None = None
    tag: str | None = None
    clone_all_branches: Any = True
    no_tags: Any = False
    cache: Any = False
    cache_ttl: str | None = None

    def run(self, ctx: RunContext) -> dict[str, Any]:
        from flowrun.gitops.clone import CloneSpec, clone_into

        with task_errors():
            dest = self._destination(ctx)
            spec = CloneSpec(branch=render_text(ctx, self.branch), depth=render_int(ctx, self.depth, "depth"),
                             commit=render_text(ctx, self.commit), tag=render_text(ctx, self.tag),
                             clone_all_branches=render_flag(ctx, self.clone_all_branches, "cloneAllBranches"),
                             no_tags=render_flag(ctx, self.no_tags, "noTags"), submodules=self.submodules(ctx))
            with self.git_session(ctx) as session, scratch_dir(ctx) as scratch:
                ctx.logger.info(f"cloning {session.shown_url} into {dest}")
                described = clone_into(session, dest, spec, scratch)
            ctx.logger.info(f"checked out {described}")
        return {"directory": str(dest)}

    def _destination(self, ctx: RunContext) -> Path:
        base = ctx.working_dir().resolve()
        if not self.directory:
            return base
        dest = (base / str(ctx.render(self.directory))).resolve()
        if not dest.is_relative_to(base):
            raise TaskError(f"directory `{self.directory}` leaves the working directory",
                            evidence={"hint": "use a relative path without `..`"})
        return dest


class SyncNamespaceFiles(GitTask):
    """Sync the files of `gitDirectory` (default `_files`) on `branch` (default `main`) into the namespace files
    of `namespace` (default the flow's), i.e. `namespace_files/<namespace>/` of the project.

    The namespace's files are replaced in one atomic swap: a failed sync leaves them as they were. `delete`
    removes the files absent from Git; `dryRun` only reports. A `.kestraignore` file at the root of
    `gitDirectory` leaves files out (gitignore syntax). Output `files`: an ION file, one row per file
    (`gitPath`, `syncState` ADDED/OVERWRITTEN/UNCHANGED/DELETED, `kestraPath`)."""

    url: str
    branch: Any = "main"
    namespace: Any = "{{ flow.namespace }}"
    git_directory: Any = "_files"
    delete: Any = False
    dry_run: Any = False
    fail_on_missing_directory: Any = True

    def run(self, ctx: RunContext) -> dict[str, Any]:
        from flowrun.gitops.checkout import checkout_branch, read_git_tree
        from flowrun.gitops.nsfiles import sync_namespace

        with task_errors():
            namespace, branch = str(ctx.render(self.namespace)), str(ctx.render(self.branch))
            git_directory = render_text(ctx, self.git_directory) or ""
            dry_run, delete = render_flag(ctx, self.dry_run, "dryRun"), render_flag(ctx, self.delete, "delete")
            store = ctx.services().namespace_files
            store.namespace_dir(namespace)  # a bad namespace name fails before the clone
            with self.git_session(ctx) as session, scratch_dir(ctx) as scratch:
                checkout = checkout_branch(session, branch, scratch / "repo", self.submodules(ctx))
                tree = read_git_tree(checkout, git_directory, branch, render_flag(
                    ctx, self.fail_on_missing_directory, "failOnMissingDirectory"))
                for skipped in tree.skipped:
                    ctx.logger.warn(f"not synced: {skipped}")
                changes = sync_namespace(store, namespace, tree.files, delete, dry_run)
        log_changes(ctx, changes, f"namespace files of {namespace}", dry_run)
        prefix = git_directory.strip().strip("/")
        rows = [_file_row(change, prefix) for change in changes]
        rows.sort(key=lambda row: (row.get("gitPath") is not None, row.get("gitPath") or row["kestraPath"]))
        return {"files": write_diff(ctx, rows)}


def _file_row(change: Change, prefix: str) -> dict[str, Any]:
    row: dict[str, Any] = {"syncState": _FILE_STATES[change.state], "kestraPath": "/" + change.path}
    if change.state != DELETED:
        row["gitPath"] = f"{prefix}/{change.path}" if prefix else change.path
    return row


class SyncFlows(GitTask):
    """Sync the flows of `gitDirectory` (default `_flows`) on `branch` (default `main`) into the project's
    flows/, in `targetNamespace`: each flow's `namespace:` line is rewritten to it (a subdirectory of
    `gitDirectory` adds a child namespace when `includeChildNamespaces`, otherwise only its top-level files
    are read).

    A flow already in the project keeps its file; a new one is written to `flows/<namespace>/<file>`. Every
    flow is validated first: an invalid one fails the sync with nothing written (with `ignoreInvalidFlows` it
    is left out with a warning). `delete` removes the flows of the namespace (and its children, with
    `includeChildNamespaces`) that are absent from Git, never the flow running the sync. flows/ is replaced in
    one atomic swap. Output `flows`: an ION file, one row per flow (`gitPath`, `syncState`
    ADDED/UPDATED/UNCHANGED/DELETED, `flowId`, `namespace`)."""

    url: str
    branch: Any = "main"
    target_namespace: str
    git_directory: Any = "_flows"
    include_child_namespaces: Any = False
    delete: Any = False
    ignore_invalid_flows: Any = False
    dry_run: Any = False
    fail_on_missing_directory: Any = True

    def run(self, ctx: RunContext) -> dict[str, Any]:
        from flowrun.gitops.checkout import checkout_branch, read_git_tree
        from flowrun.gitops.flows import flow_rows, plan_flow_changes, read_git_flows, validate_git_flows
        from flowrun.gitops.tree import apply_changes

        with task_errors():
            target, branch = str(ctx.render(self.target_namespace)), str(ctx.render(self.branch))
            git_directory = (render_text(ctx, self.git_directory) or "").strip().strip("/")
            children = render_flag(ctx, self.include_child_namespaces, "includeChildNamespaces")
            dry_run, delete = render_flag(ctx, self.dry_run, "dryRun"), render_flag(ctx, self.delete, "delete")
            project = ctx.services().project
            with self.git_session(ctx) as session, scratch_dir(ctx) as scratch:
                checkout = checkout_branch(session, branch, scratch / "repo", self.submodules(ctx))
                tree = read_git_tree(checkout, git_directory, branch, render_flag(
                    ctx, self.fail_on_missing_directory, "failOnMissingDirectory"), recursive=children)
                flows, skipped = read_git_flows(tree, git_directory, target)
                flows, invalid = validate_git_flows(flows, tree, git_directory, project.config.plugin_defaults,
                                                    render_flag(ctx, self.ignore_invalid_flows, "ignoreInvalidFlows"))
                for note in [*tree.skipped, *skipped, *(f"{p} (invalid)" for p in invalid)]:
                    ctx.logger.warn(f"not synced: {note}")
                changes = plan_flow_changes(project, flows, target, children, delete, (ctx.namespace, ctx.flow_id))
                if not dry_run:
                    apply_changes(project.flows_dir, changes)
        log_changes(ctx, changes, f"flows of {target}", dry_run)
        return {"flows": write_diff(ctx, flow_rows(changes))}
