"""Choosing a project's state store: `state:` (or FLOWRUN_STATE) names a Postgres URL, else SQLite in the state dir."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from flowrun.state.protocol import StateStore

if TYPE_CHECKING:
    from flowrun.project import Project

ENV = "FLOWRUN_STATE"
CONFIG_SETTING = "`state` in flowrun.yaml"


def state_url(project: Project) -> tuple[str, str] | None:
    """(URL, the setting it came from) of the project's Postgres state, checked; None: the embedded SQLite."""
    from flowrun.state.pg_url import check_url

    env = os.environ.get(ENV, "").strip()
    if env:
        return check_url(env, ENV), ENV
    if project.config.state:
        return check_url(project.config.state.strip(), CONFIG_SETTING), CONFIG_SETTING
    return None


def open_store(project: Project) -> StateStore:
    """The project's state store, its schema migrated (psycopg is imported only for a Postgres state)."""
    chosen = state_url(project)
    if chosen is None:
        from flowrun.state.db import Database

        return Database(project.db_path)
    from flowrun.state.postgres import PostgresStore

    return PostgresStore.for_process(chosen[0])


def describe(project: Project) -> str:
    """Where the project's state lives, for messages (the password masked)."""
    from flowrun.state.pg_url import mask_url

    chosen = state_url(project)
    return mask_url(chosen[0]) if chosen else str(project.db_path)
