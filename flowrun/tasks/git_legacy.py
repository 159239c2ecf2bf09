"""Kestra's deprecated git tasks: Push (commit and push a working directory) and Sync (Git -> flows and files)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flowrun.errors import InvalidFlowError, TaskError
from flowrun.gitops.flows import ID_LINE, NAMESPACE_LINE, GitFlow
from flowrun.gitops.remote import GitSession
from flowrun.gitops.tree import Change, Content
from flowrun.tasks.base import RunContext, Strict
from flowrun.tasks.git import GitTask, log_changes, render_flag, render_text, scratch_dir, task_errors
from flowrun.tasks.scripts import NamespaceFilesSpec


class PushFlowFiles(Strict):
    """Push's `flows`: write the namespace's flows (children too, by default) as `<namespace>.<id>.yml`."""

    enabled: Any = True
    child_namespaces: Any = True
    git_directory: str = "_flows"


class PushAuthor(Strict):
    name: str | None = None
    email: str | None = None


class Push(GitTask):
    """Commit and push files (deprecated in Kestra, replaced by PushFlows and PushNamespaceFiles).

    With `url`, the branch is cloned into the working directory (or `directory`), created when missing, and
    its tracked files are removed so that the commit holds what this task writes; without it, an existing
    clone there (e.g. from a Clone task in the same WorkingDirectory) is used. The task writes `inputFiles`,
    the flow's namespace files when `namespaceFiles.enabled`, and its flows when `flows.enabled` (the
    default), adds `addFilesPattern` (default `.`), commits with `commitMessage` (and `author`), and pushes.
    Output `commitId` (null when nothing changed)."""

    directory: str | None = None
    branch: str
    commit_message: str
    namespace_files: NamespaceFilesSpec | None = None
    flows: PushFlowFiles = PushFlowFiles()
    input_files: dict[str, Any] | str | None = None
    add_files_pattern: Any = ["."]
    author: PushAuthor | None = None

    def run(self, ctx: RunContext) -> dict[str, Any]:
        from flowrun.gitops.push import commit_and_push

        with task_errors():
            base = self._base(ctx)
            branch = str(ctx.render(self.branch))
            with self.git_session(ctx) as session:
                if session.url:
                    self._fresh_branch(ctx, session, base, branch)
                elif not (base / ".git").exists():
                    raise TaskError(f"Push without `url` needs a git clone in {base}",
                                    evidence={"hint": "set `url`, or run a Clone task first in a WorkingDirectory"})
                else:
                    session.url = session.run(["remote", "get-url", "origin"], cwd=base).strip()
                self._write(ctx, base)
                patterns = ctx.render(self.add_files_pattern)
                session.run(["add", "--all", "--", *(patterns if isinstance(patterns, list) else [patterns])],
                            cwd=base)
                result = commit_and_push(session, base, branch, str(ctx.render(self.commit_message)),
                                         self._author(ctx), False, ctx.logger.info)
        return {"commitId": result.commit_id}

    def _base(self, ctx: RunContext) -> Path:
        wd = ctx.working_dir().resolve()
        base = (wd / str(ctx.render(self.directory))).resolve() if self.directory else wd
        if not base.is_relative_to(wd):
            raise TaskError(f"directory `{self.directory}` leaves the working directory")
        return base

    def _fresh_branch(self, ctx: RunContext, session: GitSession, base: Path, branch: str) -> None:
        from flowrun.gitops.clone import CloneSpec, clone_into

        exists = branch in session.remote_heads()
        if not exists:
            ctx.logger.info(f"Branch {branch} does not exist, creating it")
        with scratch_dir(ctx) as scratch:
            clone_into(session, base, CloneSpec(branch=branch if exists else None, depth=1,
                                                submodules=self.submodules(ctx)), scratch)
        if session.run(["rev-parse", "--abbrev-ref", "HEAD"], cwd=base).strip() != branch:
            session.run(["checkout", "--quiet", "-b", branch], cwd=base)
        tracked = [p.name for p in base.iterdir() if p.name != ".git"]
        if tracked:
            session.run(["rm", "-r", "--quiet", "--ignore-unmatch", "--", *tracked], cwd=base)

    def _write(self, ctx: RunContext, base: Path) -> None:
        from flowrun.scripts.files import parse_input_files, write_input_files

        if self.input_files is not None:
            files = parse_input_files(ctx.render(self.input_files))
            write_input_files(ctx.storage, base, files)
        spec = self.namespace_files
        if spec is not None and render_flag(ctx, spec.enabled, "namespaceFiles.enabled"):
            ctx.services().namespace_files.copy_into(ctx.namespace, base, ctx.render(spec.include) if spec.include
                                                     else None, ctx.render(spec.exclude) if spec.exclude else None)
        if render_flag(ctx, self.flows.enabled, "flows.enabled"):
            self._write_flows(ctx, base / str(ctx.render(self.flows.git_directory)))

    def _write_flows(self, ctx: RunContext, directory: Path) -> None:
        from flowrun.gitops.flows import in_scope
        from flowrun.project import peek_ids

        children = render_flag(ctx, self.flows.child_namespaces, "flows.childNamespaces")
        directory.mkdir(parents=True, exist_ok=True)
        for path in ctx.services().project.flow_files():
            namespace, flow_id = peek_ids(path)
            if flow_id and in_scope(namespace, ctx.namespace, children):
                (directory / f"{namespace}.{flow_id}.yml").write_bytes(path.read_bytes())

    def _author(self, ctx: RunContext) -> tuple[str, str] | None:
        if self.author is None or not self.author.email:
            return None
        name = render_text(ctx, self.author.name) or render_text(ctx, self.username)
        return (name, str(ctx.render(self.author.email))) if name else None


class Sync(GitTask):
    """Sync flows and namespace files from Git (deprecated in Kestra, replaced by SyncFlows and
    SyncNamespaceFiles). Git is the single source of truth for the flow's own namespace.

    The files of `gitDirectory` (default the whole repository) become the namespace files under
    `namespaceFilesDirectory` (default the namespace root); namespace files there that Git lacks are deleted.
    The files of its `_flows` folder (not nested) become the namespace's flows (a flow declaring a child
    namespace keeps it); the namespace's other flows are deleted, never this one. Each change is logged as
    `+`, `~` or `-`; `dryRun` only logs. No outputs."""

    url: str
    branch: str | None = None
    git_directory: str | None = None
    namespace_files_directory: str | None = None
    dry_run: Any = False

    def run(self, ctx: RunContext) -> dict[str, Any]:
        from flowrun.gitops.checkout import read_git_tree
        from flowrun.gitops.clone import CloneSpec, clone_into

        with task_errors():
            dry_run = render_flag(ctx, self.dry_run, "dryRun")
            with self.git_session(ctx) as session, scratch_dir(ctx) as scratch:
                checkout = scratch / "repo"
                clone_into(session, checkout, CloneSpec(branch=render_text(ctx, self.branch), depth=1), scratch)
                tree = read_git_tree(checkout, render_text(ctx, self.git_directory),
                                     render_text(ctx, self.branch) or "the default branch")
                flow_files = {rel[len("_flows/"):]: p for rel, p in tree.files.items()
                              if rel.startswith("_flows/") and "/" not in rel[len("_flows/"):]}
                other = {rel: p for rel, p in tree.files.items() if not rel.startswith("_flows/")}
                if tree.root is not None and (tree.root / "_flows").is_dir():
                    self._sync_flows(ctx, flow_files, dry_run)
                self._sync_files(ctx, other, dry_run)
        return {}

    def _sync_flows(self, ctx: RunContext, files: dict[str, Path], dry_run: bool) -> None:
        from flowrun.gitops.flows import plan_flow_changes
        from flowrun.gitops.tree import apply_changes
        from flowrun.load import load_flow

        project, namespace = ctx.services().project, ctx.namespace
        flows = [_legacy_flow(f"_flows/{rel}", path, namespace) for rel, path in sorted(files.items())]
        problems = []
        for flow, path in zip(flows, (files[rel] for rel in sorted(files)), strict=True):
            try:
                load_flow(path, project.config.plugin_defaults)
            except InvalidFlowError as exc:
                problems += [p.replace(file=flow.git_path) for p in exc.problems]
        if problems:
            raise InvalidFlowError(problems, hint="fix the flows in Git: nothing was synced")
        changes = plan_flow_changes(project, flows, namespace, False, True, (ctx.namespace, ctx.flow_id))
        self._log(ctx, changes, "flows", dry_run)
        if not dry_run:
            apply_changes(project.flows_dir, changes)

    def _sync_files(self, ctx: RunContext, files: dict[str, Path], dry_run: bool) -> None:
        from flowrun.gitops.nsfiles import sync_namespace

        prefix = (render_text(ctx, self.namespace_files_directory) or "").strip("/")
        wanted: dict[str, Content] = {f"{prefix}/{rel}" if prefix else rel: path for rel, path in files.items()}
        store = ctx.services().namespace_files
        if prefix:  # Git is the source of the prefix only: the namespace's other files stay
            wanted |= {rel: store.read_bytes(ctx.namespace, rel) for rel in store.list(ctx.namespace)
                       if not rel.startswith(prefix + "/")}
        changes = sync_namespace(store, ctx.namespace, wanted, True, dry_run)
        self._log(ctx, changes, "namespace files", dry_run)

    @staticmethod
    def _log(ctx: RunContext, changes: list[Change], what: str, dry_run: bool) -> None:
        ctx.logger.info(f"Dry run is {'enabled' if dry_run else 'disabled'}, {'not ' if dry_run else ''}performing "
                        f"the following actions on {what} (- for deletions, + for creations, ~ for updates):")
        log_changes(ctx, changes, f"{what} of {ctx.namespace}", dry_run)


def _legacy_flow(git_path: str, path: Path, namespace: str) -> GitFlow:
    """Sync's rule: a flow keeps a child namespace of the task's namespace; any other becomes the namespace."""
    text = path.read_text(encoding="utf-8")
    declared, found = NAMESPACE_LINE.search(text), ID_LINE.search(text)
    if declared is None or found is None:
        raise TaskError(f"{git_path}: not a flow (it needs top-level `id:` and `namespace:` lines)")
    kept = declared.group(1).strip()
    target = kept if kept.startswith(namespace + ".") else namespace
    source = NAMESPACE_LINE.sub(f"namespace: {target}", text, count=1)
    path.write_text(source, encoding="utf-8")  # the checkout's copy, validated from here
    return GitFlow(git_path, target, found.group(1).strip("'\""), source.encode())
