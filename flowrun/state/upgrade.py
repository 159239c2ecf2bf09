"""`flowrun state migrate`: apply the pending migrations of a project's state (SQLite or Postgres) and say which."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flowrun.state.location import state_url
from flowrun.state.migrations import MIGRATIONS

if TYPE_CHECKING:
    from flowrun.project import Project


@dataclass(frozen=True)
class Migrated:
    """What a migrate did: where, the versions it applied now, and how many the schema has."""

    location: str
    backend: str
    applied: list[str]
    total: int = len(MIGRATIONS)


def migrate_state(project: Project) -> Migrated:
    """Apply what is pending (idempotent: a second call applies nothing)."""
    chosen = state_url(project)
    if chosen is not None:
        from flowrun.state.pg_url import mask_url
        from flowrun.state.postgres import connect, migrate

        with connect(chosen[0]) as raw:
            applied = migrate(raw)
        return Migrated(mask_url(chosen[0]), "postgresql", applied)
    from flowrun.state.db import Database

    before = _sqlite_versions(project)
    Database(project.db_path).close()
    return Migrated(str(project.db_path), "sqlite", [m.version for m in MIGRATIONS if m.version not in before])


def _sqlite_versions(project: Project) -> set[str]:
    if not project.db_path.is_file():
        return set()
    conn = sqlite3.connect(f"file:{project.db_path}?mode=ro", uri=True)
    try:
        return {row[0] for row in conn.execute("SELECT version FROM migrations")}
    except sqlite3.Error:
        return set()
    finally:
        conn.close()
