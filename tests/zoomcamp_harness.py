"""What the zoomcamp compat tests share: the flows' dir, the secret password, the URL rewrite, a project whose
`flowrun.yaml` forces the Postgres connection to the test's own database (stand-ins: compat/README.md)."""

from __future__ import annotations

from pathlib import Path

from conftest import SHARED
from pg_fixture import PgDatabase

COMPAT = SHARED / "compat" / "zoomcamp"
SECRET_PASSWORD = "zoomcamp-pw-DO-NOT-LEAK"


def rewrite(flow: Path, dest: Path, base: str) -> Path:
    """A copy of `flow` whose download hosts point at the local server (the only change made)."""
    text = flow.read_text()
    for host in ("https://github.com/", "https://dummyjson.com/"):
        text = text.replace(host, base + "/")
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(text)
    return dest


def project_with_forced_pg(tmp_path: Path, db: PgDatabase) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    (project / "flowrun.yaml").write_text(
        "pluginDefaults:\n"
        "  - type: io.kestra.plugin.jdbc.postgresql\n"
        "    forced: true\n"
        "    values:\n"
        f"      url: {db.jdbc_url}\n"
        f"      username: {db.server.user}\n"
        "      password: \"{{ secret('PG_PASSWORD') }}\"\n")
    return project
