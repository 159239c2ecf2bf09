"""The secret key's side of the Postgres state: finding and re-encrypting encrypted values in every text column."""

from __future__ import annotations

from typing import Any

from flowrun.state.keys import SKIPPED_TABLES, ScanSql, SqliteKeys


def text_columns(conn: Any) -> list[tuple[str, str]]:
    """Every (table, column) of the state's schema that holds text, whatever the migrations added."""
    rows = conn.execute("SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = "
                        "current_schema() AND data_type IN ('text', 'character varying') ORDER BY table_name, "
                        "ordinal_position").fetchall()
    return [(row[0], row[1]) for row in rows if row[0] not in SKIPPED_TABLES]


class PgKeys(SqliteKeys):
    """The fingerprint in `meta` is shared with SQLite's mixin; the scans here use Postgres' catalog and `ctid`."""

    SCAN = ScanSql(text_columns, "strpos", "CAST(ctid AS text)", "ctid = CAST(? AS tid)", " FOR UPDATE")
