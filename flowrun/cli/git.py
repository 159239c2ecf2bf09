"""`git pull` and `git push`: mirror the project's flows and namespace files from and to a git repository."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from flowrun.cli.options import Home, JsonFlag

group = typer.Typer(no_args_is_help=True, help="Pull and push the project's flows and namespace files with git.")

Url = Annotated[str | None, typer.Option("--url", help="The repository (default: git.url in flowrun.yaml).",
                                         show_default=False)]
Branch = Annotated[str | None, typer.Option("--branch", help="The branch (default: git.branch, else main).",
                                            show_default=False)]
Namespace = Annotated[str | None, typer.Option("--namespace", help="Only this namespace and its children.",
                                               show_default=False)]
GitDirectory = Annotated[str | None, typer.Option("--git-directory", help="The repository directory holding "
                                                  "flows/ and namespace_files/ (default: its root).",
                                                  show_default=False)]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Print what would change; change nothing.")]
_MARKS = {"ADDED": "+", "UPDATED": "~", "DELETED": "-"}


@group.command("pull")
def pull(url: Url = None, branch: Branch = None, namespace: Namespace = None, git_directory: GitDirectory = None,
         delete: Annotated[bool, typer.Option("--delete", help="Also delete the flows and namespace files that "
                                              "Git does not have.")] = False,
         dry_run: DryRun = False, json_output: JsonFlag = False, home: Home = None) -> None:
    """Update the project's flows/ and namespace_files/ from a git branch (each directory in one atomic swap).

    Example: flowrun git pull --url https://github.com/me/flows.git --branch main --dry-run
    """
    from flowrun.app.git import GitRequest, git_pull

    outcome = git_pull(GitRequest(url=url, branch=branch, namespace=namespace, git_directory=git_directory,
                                  delete=delete, dry_run=dry_run), home)
    _print(outcome, "pull", dry_run, json_output)


@group.command("push")
def push(url: Url = None, branch: Branch = None, namespace: Namespace = None, git_directory: GitDirectory = None,
         message: Annotated[str | None, typer.Option("--message", "-m", help="The commit message.",
                                                     show_default=False)] = None,
         dry_run: DryRun = False, json_output: JsonFlag = False, home: Home = None) -> None:
    """Commit the project's flows and namespace files to a git branch (created when missing) and push it.

    Example: flowrun git push --namespace zoomcamp -m "new taxi flows" --dry-run
    """
    from flowrun.app.git import GitRequest, git_push

    outcome = git_push(GitRequest(url=url, branch=branch, namespace=namespace, git_directory=git_directory,
                                  message=message, dry_run=dry_run), home)
    _print(outcome, "push", dry_run, json_output)


def _print(outcome: Any, verb: str, dry_run: bool, json_output: bool) -> None:
    from flowrun.gitops.mirror import summary

    commit = outcome.commit
    if json_output:
        typer.echo(json.dumps({"url": outcome.url, "branch": outcome.branch, "dryRun": dry_run,
                               "changes": [{"path": c.path, "state": c.state} for c in outcome.changes],
                               "commitId": commit.commit_id if commit else None}, indent=2))
        return
    for change in outcome.changes:
        if change.state in _MARKS:
            typer.echo(f"{_MARKS[change.state]} {change.path}")
    where = f"{outcome.url} ({outcome.branch})"
    if dry_run:
        typer.echo(f"dry run: would {verb} {summary(outcome.changes)}; nothing changed")
    elif verb == "pull":
        typer.echo(f"pulled from {where}: {summary(outcome.changes)}")
    elif commit is not None and commit.commit_id:
        typer.echo(f"pushed commit {commit.commit_id[:12]} to {where}: {summary(outcome.changes)}")
    else:
        typer.echo(f"nothing to push: {where} already has the project's files")
