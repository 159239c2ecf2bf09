"""Opening a project's state and services for one use case (dead executions reaped first)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flowrun.project import Project, open_project
from flowrun.state.protocol import StateStore

if TYPE_CHECKING:
    from flowrun.engine.services import Services


def open_state(project: Project) -> StateStore:
    """Open the project's state store and mark executions whose process died as KILLED."""
    from flowrun.state.location import open_store
    from flowrun.state.store import reap_dead

    db = open_store(project)
    reap_dead(db)
    return db


def project_state(home: str | None) -> tuple[Project, StateStore]:
    """The project of the current directory (or `home`) and its opened state."""
    project = open_project(home)
    return project, open_state(project)


def has_state(home: str | None) -> bool:
    """Whether the project has a state to read (a Postgres URL, or the SQLite file), without creating one."""
    from flowrun.state.location import state_url

    project = open_project(home)
    return state_url(project) is not None or project.db_path.is_file()


def open_services(project: Project) -> Services:
    """The services of one execution (state, storage, KV, secrets, masking) over the project's opened state."""
    from flowrun.engine.services import open_services as build

    return build(project, open_state(project))


def use_workers(services: Services) -> None:
    """With `executor: celery`, send each runnable attempt of the executions run with these services to the
    workers (the broker is checked first: a command fails with exit 4 before it records anything)."""
    settings = services.project.executor
    if not settings.celery:
        return
    from flowrun.engine.remote import RemoteAttempts
    from flowrun.scaleout.broker import check

    check(settings)
    services.dispatch = RemoteAttempts(settings, services)
