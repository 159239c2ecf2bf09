"""Git use cases: pull and push the project's flows and namespace files, and list the flows changed since a ref."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flowrun.errors import UsageError
from flowrun.project import GitSettings, Project, open_project

if TYPE_CHECKING:
    from flowrun.gitops.mirror import FileChange, MirrorSpec
    from flowrun.gitops.push import PushResult
    from flowrun.gitops.remote import GitSession


@dataclass
class GitRequest:
    """The command line's choices; None means: as in flowrun.yaml's `git:` block (then the defaults)."""

    url: str | None = None
    branch: str | None = None
    namespace: str | None = None
    git_directory: str | None = None
    message: str | None = None
    delete: bool = False
    dry_run: bool = False


@dataclass
class GitOutcome:
    url: str
    branch: str
    changes: list[FileChange]
    commit: PushResult | None = None
    notes: list[str] | None = None


def git_pull(request: GitRequest, home: str | None = None) -> GitOutcome:
    """Apply the repository's flows and namespace files to the project (nothing written on a dry run)."""
    from flowrun.gitops.mirror import pull_project

    project = open_project(home)
    session, spec = _session(project, request)
    with session, _scratch(project) as scratch:
        changes = pull_project(session, project, spec, request.dry_run, scratch)
    return GitOutcome(session.shown_url, spec.branch, changes)


def git_push(request: GitRequest, home: str | None = None) -> GitOutcome:
    """Commit the project's flows and namespace files to the repository and push (not on a dry run)."""
    from flowrun.gitops.mirror import push_project

    project = open_project(home)
    session, spec = _session(project, request)
    notes: list[str] = []
    with session, _scratch(project) as scratch:
        changes, commit = push_project(session, project, spec, request.dry_run, scratch, notes.append)
    return GitOutcome(session.shown_url, spec.branch, changes, commit, notes)


def _session(project: Project, request: GitRequest) -> tuple[GitSession, MirrorSpec]:
    from flowrun.gitops.mirror import MirrorSpec
    from flowrun.gitops.remote import GitAuth, GitOptions, GitSession

    settings = project.config.git or GitSettings()
    url = request.url or settings.url
    if not url:
        raise UsageError("no git remote to use", hint="pass --url, or set git.url in flowrun.yaml")
    values = _rendered(project, settings)
    auth = GitAuth(username=values.get("username"), password=values.get("password"),
                   private_key=values.get("private_key"), private_key_path=values.get("private_key_path"),
                   passphrase=values.get("passphrase"))
    name, email = values.get("author_name") or values.get("username"), values.get("author_email")
    spec = MirrorSpec(branch=request.branch or settings.branch, namespace=request.namespace or settings.namespace,
                      git_directory=request.git_directory if request.git_directory is not None
                      else settings.git_directory, delete=request.delete,
                      message=request.message or values.get("commit_message"),
                      author=(name, email) if name and email else None)
    known_hosts = str(project.home / "ssh" / "known_hosts")
    return GitSession(url, GitOptions(auth=auth, known_hosts=known_hosts)), spec


def _rendered(project: Project, settings: GitSettings) -> dict[str, Any]:
    """The `git:` block's strings, `{{ secret('NAME') }}` and `{{ envs.x }}` rendered."""
    values = {key: value for key, value in settings.model_dump().items() if isinstance(value, str)}
    if not any("{{" in value for value in values.values()):
        return values
    from flowrun.app.services import open_services
    from flowrun.engine.context import TemplateRuntime
    from flowrun.templating import TemplateError, render

    services = open_services(project)
    runtime = TemplateRuntime(services, settings.namespace or "", None)
    context = {"envs": services.envs, "globals": services.globals}
    try:
        return {key: render(value, context, runtime) if "{{" in value else value for key, value in values.items()}
    except TemplateError as exc:
        raise UsageError(f"flowrun.yaml: git: {exc.message}",
                         hint="use {{ secret('NAME') }} with SECRET_NAME set, or a secretsFile entry") from None


class _scratch:
    """A temp dir for the checkout under the state dir (its tmp/), removed afterwards."""

    def __init__(self, project: Project) -> None:
        self.base = project.home / "tmp"

    def __enter__(self) -> Path:
        self.base.mkdir(parents=True, exist_ok=True)
        self._tmp = tempfile.TemporaryDirectory(prefix="git-", dir=self.base)
        return Path(self._tmp.name)

    def __exit__(self, *exc: object) -> None:
        self._tmp.cleanup()


def changed_flow_files(ref: str, home: str | None = None) -> list[str]:
    """The flow files under flows/ that differ from git `ref`: committed since, staged, modified or untracked
    (deleted ones excluded), as paths relative to the current directory."""
    from flowrun.gitops.remote import GitError, GitSession

    project = open_project(home)
    with GitSession(None) as session:
        try:
            top = Path(session.run(["rev-parse", "--show-toplevel"], cwd=project.root).strip())
        except GitError:
            raise UsageError(f"{project.root} is not in a git repository",
                             hint="--changed compares with git: run it inside a clone") from None
        try:
            session.run(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], cwd=top)
        except GitError:
            raise UsageError(f"`{ref}` is not a git commit, branch or tag of {top}",
                             hint="e.g. --changed HEAD, --changed origin/main, --changed HEAD~3") from None
        changed = session.run(["diff", "--name-only", "--no-renames", "--diff-filter=d", ref, "--"], cwd=top)
        untracked = session.run(["ls-files", "--others", "--exclude-standard"], cwd=top)
    flows_dir = project.flows_dir.resolve()
    found = set()
    for rel in (changed + "\n" + untracked).splitlines():
        path = (top / rel.strip()).resolve() if rel.strip() else None
        if path and path.suffix in (".yaml", ".yml") and path.is_file() and path.is_relative_to(flows_dir):
            found.add(path)
    cwd = Path.cwd().resolve()
    return sorted(str(p.relative_to(cwd)) if p.is_relative_to(cwd) else str(p) for p in found)
