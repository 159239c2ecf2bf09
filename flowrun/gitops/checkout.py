"""Git → local files: a shallow checkout of one branch, and the files of its `gitDirectory` (minus .kestraignore)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from flowrun.gitops.remote import GitError, GitSession


@dataclass
class GitTree:
    """The files of `gitDirectory` in a checkout: relative path -> file; `skipped` says what was left out."""

    root: Path | None
    files: dict[str, Path] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


def checkout_branch(session: GitSession, branch: str, dest: Path, submodules: bool = False) -> Path:
    """Clone `branch` of the session's remote into `dest` (depth 1); an unknown branch says which exist."""
    try:
        session.clone(dest, branch=branch, depth=1, single_branch=True, submodules=submodules)
    except GitError as exc:
        if "has no branch named" in exc.message:
            raise session.unknown_branch(branch) from None
        raise
    return dest


def resolve_git_directory(checkout: Path, git_directory: str | None) -> Path:
    """`gitDirectory` inside the checkout; it may not leave the repository."""
    rel = (git_directory or "").strip().strip("/")
    path = (checkout / rel).resolve() if rel else checkout.resolve()
    if not path.is_relative_to(checkout.resolve()):
        raise GitError(f"gitDirectory `{git_directory}` leaves the repository",
                       hint="give a path inside the repository, without `..`")
    return path


def read_git_tree(checkout: Path, git_directory: str | None, branch: str, fail_on_missing: bool = True,
                  recursive: bool = True) -> GitTree:
    """The files under `gitDirectory`; a missing directory is an error unless `fail_on_missing` is false."""
    root = resolve_git_directory(checkout, git_directory)
    if not root.is_dir():
        if not fail_on_missing:
            return GitTree(None)
        present = sorted(p.name for p in checkout.iterdir() if p.is_dir() and p.name != ".git")
        raise GitError(f"gitDirectory `{git_directory}` does not exist on branch `{branch}`",
                       hint=f"the repository's top-level directories: {', '.join(present) or 'none'}; "
                            "set gitDirectory to one of them (or failOnMissingDirectory: false)")
    return _collect(root, recursive)


def _collect(root: Path, recursive: bool) -> GitTree:
    import pathspec

    ignore_file = root / ".kestraignore"
    lines = ignore_file.read_text(encoding="utf-8").splitlines() if ignore_file.is_file() else []
    ignored = pathspec.GitIgnoreSpec.from_lines(lines)
    tree = GitTree(root)
    candidates = root.rglob("*") if recursive else root.iterdir()
    for path in sorted(candidates):
        rel = path.relative_to(root).as_posix()
        if ".git" in path.relative_to(root).parts or path.is_dir() and not path.is_symlink():
            continue
        if ignored.match_file(rel):
            continue
        if path.is_symlink():
            tree.skipped.append(f"{rel} (a symbolic link)")
        elif path.is_file():
            tree.files[rel] = path
    return tree
