"""Kestra's Clone: clone a branch, tag or commit into a directory, or bring an existing clone up to date."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from flowrun.gitops.remote import GitError, GitSession


@dataclass
class CloneSpec:
    """What to check out: a `commit` wins over a `tag`, which wins over a `branch` (default: the remote's HEAD)."""

    branch: str | None = None
    depth: int | None = 1
    commit: str | None = None
    tag: str | None = None
    clone_all_branches: bool = True
    no_tags: bool = False
    submodules: bool = False

    def check(self) -> None:
        if not self.clone_all_branches and not self.branch:
            raise GitError("invalid clone configuration: when `cloneAllBranches` is false, `branch` must be set")
        if self.tag and self.no_tags:
            raise GitError("invalid clone configuration: `tag` cannot be used with `noTags: true`")

    @property
    def shallow_depth(self) -> int | None:
        return None if self.commit or self.tag else self.depth


def clone_into(session: GitSession, dest: Path, spec: CloneSpec, scratch: Path) -> str:
    """Clone (or update) the session's remote in `dest`; returns what was checked out, for the log."""
    spec.check()
    if (dest / ".git").exists():
        return _update(session, dest, spec)
    if dest.is_dir() and any(dest.iterdir()):
        with tempfile.TemporaryDirectory(prefix="clone-", dir=scratch) as tmp:
            described = _fresh_clone(session, Path(tmp) / "repo", spec)
            _move_entries(Path(tmp) / "repo", dest)
        return described
    return _fresh_clone(session, dest, spec)


def _fresh_clone(session: GitSession, dest: Path, spec: CloneSpec) -> str:
    try:
        session.clone(dest, branch=None if spec.commit or spec.tag else spec.branch, depth=spec.shallow_depth,
                      single_branch=not spec.clone_all_branches, no_tags=spec.no_tags, submodules=spec.submodules)
    except GitError as exc:
        if spec.branch and "has no branch named" in exc.message:
            raise session.unknown_branch(spec.branch) from None
        raise
    return _checkout_pinned(session, dest, spec) or f"branch {_current_branch(session, dest)}"


def _checkout_pinned(session: GitSession, dest: Path, spec: CloneSpec) -> str | None:
    """Check out `commit` or `tag` (detached HEAD) when one is set."""
    if spec.commit:
        target, what = spec.commit, f"commit {spec.commit}"
    elif spec.tag:
        target, what = f"refs/tags/{spec.tag}", f"tag {spec.tag}"
    else:
        return None
    try:
        sha = session.run(["rev-parse", "--verify", "--quiet", f"{target}^{{commit}}"], cwd=dest)
    except GitError:
        raise GitError(f"{what} does not exist in {session.shown_url}",
                       hint="check the commit SHA or tag name") from None
    session.run(["checkout", "--quiet", "--detach", sha], cwd=dest)
    if spec.submodules:
        session.run(["submodule", "update", "--init", "--recursive"], cwd=dest)
    return f"{what} ({sha[:12]})"


def _update(session: GitSession, dest: Path, spec: CloneSpec) -> str:
    """An existing clone: point origin at the URL, fetch, and reset to the wanted branch, tag or commit."""
    session.run(["remote", "set-url", "origin", str(session.url)], cwd=dest)
    refspec = (f"+refs/heads/{spec.branch}:refs/remotes/origin/{spec.branch}"
               if spec.branch and not spec.clone_all_branches else "+refs/heads/*:refs/remotes/origin/*")
    fetch = ["fetch", "--quiet", "--force", "origin", refspec]
    fetch += ["--no-tags"] if spec.no_tags else ["+refs/tags/*:refs/tags/*"]
    if spec.shallow_depth:
        fetch[1:1] = ["--depth", str(spec.shallow_depth)]
    elif (dest / ".git" / "shallow").exists():
        fetch[1:1] = ["--unshallow"]
    session.run(fetch, cwd=dest)
    pinned = _checkout_pinned(session, dest, spec)
    if pinned:
        return pinned
    branch = spec.branch or _remote_default(session, dest)
    if session.run(["branch", "--remotes", "--list", f"origin/{branch}"], cwd=dest).strip() == "":
        raise session.unknown_branch(branch)
    session.run(["checkout", "--quiet", "-B", branch, f"origin/{branch}"], cwd=dest)
    session.run(["reset", "--quiet", "--hard", f"origin/{branch}"], cwd=dest)
    if spec.submodules:
        session.run(["submodule", "update", "--init", "--recursive"], cwd=dest)
    return f"branch {branch} (updated)"


def _remote_default(session: GitSession, dest: Path) -> str:
    out = session.run(["ls-remote", "--symref", "origin", "HEAD"], cwd=dest)
    for line in out.splitlines():
        if line.startswith("ref: refs/heads/"):
            return line.split()[1][len("refs/heads/"):]
    for name in ("main", "master"):
        if session.run(["branch", "--remotes", "--list", f"origin/{name}"], cwd=dest).strip():
            return name
    raise GitError("cannot determine the default branch of the remote", hint="set the `branch` property")


def _current_branch(session: GitSession, dest: Path) -> str:
    return session.run(["rev-parse", "--abbrev-ref", "HEAD"], cwd=dest).strip()


def _move_entries(source: Path, dest: Path) -> None:
    """Move a fresh clone into a directory that already holds files (refusing to overwrite one)."""
    clashes = sorted(p.name for p in source.iterdir() if (dest / p.name).exists())
    if clashes:
        raise GitError(f"cannot clone into {dest}: it already holds {', '.join(clashes[:5])}",
                       hint="set `directory` to a new subdirectory")
    for entry in source.iterdir():
        shutil.move(str(entry), str(dest / entry.name))
