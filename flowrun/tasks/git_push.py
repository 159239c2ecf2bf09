"""Kestra's git plugin, the push side: PushFlows and PushNamespaceFiles (the project -> Git)."""

from __future__ import annotations

from typing import Any

from flowrun.errors import TaskError
from flowrun.tasks.base import RunContext
from flowrun.tasks.git import GitTask, render_flag, render_text, scratch_dir, task_errors, write_diff


def render_globs(ctx: RunContext, value: Any) -> list[str] | None:
    """A glob or a list of globs (Kestra's `flows` and `files`); None selects everything."""
    if value is None:
        return None
    rendered = ctx.render_typed(value) if isinstance(value, str) else ctx.render(value)
    items = rendered if isinstance(rendered, list) else [rendered]
    return [str(item) for item in items if str(item)] or None


class GitPushTask(GitTask):
    """What both push tasks share (Kestra's AbstractPushTask): the branch is cloned (created when missing),
    the files under `gitDirectory` are replaced, then committed and pushed. `dryRun` stops before the commit.
    `delete` (default true) removes the files of `gitDirectory` that the selection covers but the project no
    longer has. The author is `authorName` (default `username`) with `authorEmail`, when both are known."""

    url: str
    branch: Any = "main"
    commit_message: str | None = None
    dry_run: Any = False
    author_email: str | None = None
    author_name: str | None = None
    delete: Any = True

    def push(self, ctx: RunContext, git_directory: str, files: dict[str, bytes], removable: Any,
             default_message: str) -> tuple[dict[str, Any], str]:
        """Push `files` under `git_directory`; returns (commitId/commitURL outputs, the diff file URI)."""
        from flowrun.gitops.checkout import resolve_git_directory
        from flowrun.gitops.push import commit_and_push, open_branch, replace_files, stage

        branch = str(ctx.render(self.branch))
        message = render_text(ctx, self.commit_message) or default_message
        dry_run, delete = render_flag(ctx, self.dry_run, "dryRun"), render_flag(ctx, self.delete, "delete")
        with self.git_session(ctx) as session, scratch_dir(ctx) as scratch:
            checkout = scratch / "repo"
            if not open_branch(session, branch, checkout, self.submodules(ctx)):
                ctx.logger.info(f"Branch {branch} does not exist, creating it")
            base = resolve_git_directory(checkout, git_directory)
            replace_files(base, files, removable if delete else None)
            rows = stage(session, checkout, git_directory)
            result = commit_and_push(session, checkout, branch, message, self._author(ctx), dry_run,
                                     ctx.logger.info)
        return {"commitId": result.commit_id, "commitURL": result.commit_url}, write_diff(ctx, rows)

    def _author(self, ctx: RunContext) -> tuple[str, str] | None:
        name = render_text(ctx, self.author_name) or render_text(ctx, self.username)
        email = render_text(ctx, self.author_email)
        return (name, email) if name and email else None


class PushFlows(GitPushTask):
    """Push the project's flows of `sourceNamespace` (default the flow's; with `includeChildNamespaces`, its
    children too, in subdirectories) to `gitDirectory` (default `_flows`) as `<flowId>.yml`. `flows` (a glob or
    a list, default all) selects flow ids; `targetNamespace` rewrites their namespace. Outputs `commitId`,
    `commitURL` and `flows`, an ION diff with one row per file (`file`, `additions`, `deletions`, `changes`)."""

    git_directory: Any = "_flows"
    source_namespace: Any = "{{ flow.namespace }}"
    target_namespace: str | None = None
    flows: Any = None
    include_child_namespaces: Any = False

    def run(self, ctx: RunContext) -> dict[str, Any]:
        from flowrun.gitops.exports import export_flows

        with task_errors():
            source = str(ctx.render(self.source_namespace))
            files, removable = export_flows(
                ctx.services().project, source, render_text(ctx, self.target_namespace),
                render_globs(ctx, self.flows),
                render_flag(ctx, self.include_child_namespaces, "includeChildNamespaces"))
            git_directory = (render_text(ctx, self.git_directory) or "").strip().strip("/")
            outputs, diff = self.push(ctx, git_directory, files, removable, f"Add flows from {source} namespace")
        return {**outputs, "flows": diff}


class PushNamespaceFiles(GitPushTask):
    """Push the namespace files of `namespace` (default the flow's; with `includeChildNamespaces`, each child
    namespace's under a directory named after it) to `gitDirectory` (default `_files`). `files` (a glob or a
    list, default all) selects them; `errorOnMissing` fails when none matches. Outputs `commitId`,
    `commitURL` and `files`, an ION diff with one row per file (`file`, `additions`, `deletions`, `changes`)."""

    git_directory: Any = "_files"
    namespace: Any = "{{ flow.namespace }}"
    files: Any = None
    include_child_namespaces: Any = False
    error_on_missing: Any = False

    def run(self, ctx: RunContext) -> dict[str, Any]:
        from flowrun.gitops.exports import export_namespace_files

        with task_errors():
            namespace = str(ctx.render(self.namespace))
            store = ctx.services().namespace_files
            store.namespace_dir(namespace)  # a bad namespace name fails here
            files, removable = export_namespace_files(
                store, namespace, render_globs(ctx, self.files),
                render_flag(ctx, self.include_child_namespaces, "includeChildNamespaces"))
            if not files and render_flag(ctx, self.error_on_missing, "errorOnMissing"):
                raise TaskError("No Namespace Files matched the provided 'files' parameter to commit.")
            git_directory = (render_text(ctx, self.git_directory) or "").strip().strip("/")
            outputs, diff = self.push(ctx, git_directory, files, removable, f"Add files from {namespace} namespace")
        return {**outputs, "files": diff}
