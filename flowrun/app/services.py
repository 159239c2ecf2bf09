"""Opening a project's state and services for one use case (dead executions reaped first)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flowrun.project import Project, open_project
from flowrun.state.db import Database
from flowrun.state.protocol import StateStore

if TYPE_CHECKING:
    from flowrun.engine.services import Services


def open_state(project: Project) -> StateStore:
    """Open the project's state store and mark executions whose process died as KILLED."""
    from flowrun.state.store import reap_dead

    db = Database(project.db_path)
    reap_dead(db)
    return db


def project_state(home: str | None) -> tuple[Project, StateStore]:
    """The project of the current directory (or `home`) and its opened state."""
    project = open_project(home)
    return project, open_state(project)


def open_services(project: Project) -> Services:
    """The services of one execution (state, storage, KV, secrets, masking) over the project's opened state."""
    from flowrun.engine.services import open_services as build

    return build(project, open_state(project))
