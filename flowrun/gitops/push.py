"""Project -> Git: check out a branch (created when missing), replace files under a directory, commit, push."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flowrun.gitops.remote import GitError, GitSession, redact_url

_HUNK = re.compile(r"^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@")
_SSH_URL = re.compile(r"git@(?:ssh\.)?([^:]+):(?:v\d*/)?(.*)")


@dataclass
class PushResult:
    """The commit a push made: None when nothing changed or on a dry run."""

    commit_id: str | None = None
    commit_url: str | None = None


def open_branch(session: GitSession, branch: str, dest: Path, submodules: bool = False) -> bool:
    """Clone `branch` into `dest`; when the remote lacks it, start it from the default branch (or, in an empty
    repository, from nothing). Returns whether the branch existed."""
    heads = session.remote_heads()
    if branch in heads:
        session.clone(dest, branch=branch, depth=1, single_branch=True, submodules=submodules)
        return True
    session.clone(dest, depth=1 if heads else None, single_branch=True, submodules=submodules)
    session.run(["symbolic-ref", "HEAD", f"refs/heads/{branch}"] if not heads else
                ["checkout", "--quiet", "-b", branch], cwd=dest)
    return False


def replace_files(base: Path, files: dict[str, bytes], removable: Callable[[str], bool] | None) -> None:
    """Write `files` (relative to `base`); with `removable`, first remove the files under `base` it selects
    that are not among them."""
    if removable is not None and base.is_dir():
        for path in sorted(base.rglob("*")):
            rel = path.relative_to(base).as_posix()
            if ".git" not in path.parts and path.is_file() and rel not in files and removable(rel):
                path.unlink()
    for rel, data in files.items():
        target = base / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def stage(session: GitSession, checkout: Path, pathspec: str) -> list[dict[str, Any]]:
    """`git add --all` the directory; returns Kestra's diff rows of what is staged."""
    session.run(["add", "--all", "--", pathspec or "."], cwd=checkout)
    patch = session.run(["diff", "--cached", "--no-renames", "--no-color", "--unified=0"], cwd=checkout)
    return diff_rows(patch)


def diff_rows(patch: str) -> list[dict[str, Any]]:
    """Per file, Kestra's counts: an edit replacing A lines with B adds B-A lines (or deletes A-B), and one
    that keeps the count changes B lines."""
    rows: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for line in patch.splitlines():
        if line.startswith("diff --git "):
            current = {"file": "", "additions": 0, "deletions": 0, "changes": 0}
            rows.append(current)
        elif current is not None and line.startswith(("--- a/", "+++ b/")):
            current["file"] = current["file"] if line.startswith("--- ") and current["file"] else line[6:]
        elif current is not None and (match := _HUNK.match(line)):
            before, after = (int(n) if n is not None else 1 for n in match.groups())
            delta = after - before
            key, amount = ("additions", delta) if delta > 0 else ("deletions", -delta) if delta < 0 else ("changes", after)
            current[key] += amount
    return [{"file": r["file"], "additions": f"+{r['additions']}", "deletions": f"-{r['deletions']}",
             "changes": str(r["changes"])} for r in rows]


def commit_and_push(session: GitSession, checkout: Path, branch: str, message: str,
                    author: tuple[str, str] | None, dry_run: bool, log: Callable[[str], None]) -> PushResult:
    """Commit what is staged and push it to `branch`; nothing staged means no commit (and no push)."""
    staged = session.run(["diff", "--cached", "--name-only"], cwd=checkout).strip()
    http_url = http_url_of(str(session.url or ""))
    if dry_run:
        log(f"Dry run — no changes will be pushed to {http_url} for now until you set the `dryRun` "
            "parameter to false")
        return PushResult()
    if not staged:
        log("No changes to commit. Skipping push.")
        return PushResult()
    log(f"Pushing to {http_url} on branch {branch}")
    args = [*identity_args(session, checkout), "commit", "--quiet", "-m", message]
    if author:
        args += ["--author", f"{author[0]} <{author[1]}>"]
    session.run(args, cwd=checkout)
    session.run(["push", "--quiet", "origin", f"HEAD:refs/heads/{branch}"], cwd=checkout)
    commit_id = session.run(["rev-parse", "HEAD"], cwd=checkout).strip()
    url = commit_url(http_url, branch, commit_id)
    log(f"Pushed to {url}")
    return PushResult(commit_id, url)


def identity_args(session: GitSession, checkout: Path) -> list[str]:
    """A committer for machines whose git has none configured (git refuses to commit without one)."""
    try:
        session.run(["config", "user.email"], cwd=checkout)
        return []
    except GitError:
        return ["-c", "user.name=flowrun", "-c", "user.email=flowrun@localhost"]


def http_url_of(url: str) -> str:
    """Kestra's browsable form of a remote URL: git@host:path becomes https://host/path, credentials go."""
    match = _SSH_URL.fullmatch(url)
    if match:
        path = match.group(2)
        if "azure.com" in match.group(1):
            org, _, project = path.rpartition("/")
            path = f"{org}/_git/{project}"
        return f"https://{match.group(1)}/{path}"
    return re.sub(r"//[^/@]*@", "//", redact_url(url), count=1)


def commit_url(http_url: str, branch: str, commit_id: str) -> str:
    url = f"{http_url}/{'commits' if 'bitbucket.org' in http_url else 'commit'}/{commit_id}"
    return f"{url}?refName=refs%2Fheads%2F{branch}" if "azure.com" in url else url
