"""The secret key of a Postgres state shared by several machines: one key for all, checked by its fingerprint."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import Project
from cryptography.fernet import Fernet
from helpers import assert_clean_error
from pg_fixture import PgDatabase

from flowrun.crypto import Cipher, CryptoError, fingerprint
from flowrun.state.keys import KeyLedger
from flowrun.state.postgres import PostgresStore

SHARED = "every machine that shares a Postgres state must use the same secret key"


def _machine(project: Project, name: str, pg_db: PgDatabase, **extra: str) -> dict[str, str]:
    """The environment of one machine: its own state dir (no shared disk), the shared Postgres state."""
    return {"FLOWRUN_HOME": str(project.root / name), "FLOWRUN_STATE": pg_db.url, **extra}


def test_machines_share_one_key_and_another_key_is_refused(project: Project, pg_db: PgDatabase) -> None:
    path = project.flow_file("state/history.yaml")
    first = project.cli("run", str(path), "--input", "tok=s3cr3t", env=_machine(project, "a", pg_db))
    assert first.code == 0, first.stderr
    key_a = project.root / "a" / "secret.key"
    assert pg_db.scalar("SELECT COUNT(*) FROM executions WHERE strpos(inputs, 'flowrun:enc:v1:') > 0") == 1

    missing = project.cli("run", str(path), "--input", "tok=s3cr3t", env=_machine(project, "b", pg_db))
    assert_clean_error(missing, 4, f"the encryption key {project.root / 'b' / 'secret.key'} is missing", SHARED,
                       "FLOWRUN_SECRET_KEY_FILE")
    assert not (project.root / "b" / "secret.key").exists()

    (project.root / "c").mkdir()
    (project.root / "c" / "secret.key").write_bytes(Fernet.generate_key())
    other = project.cli("state", "check", env=_machine(project, "c", pg_db))
    assert_clean_error(other, 4, "is not the key of this shared state",
                       f"fingerprint {fingerprint(key_a.read_bytes().strip())}")

    shared = _machine(project, "b", pg_db, FLOWRUN_SECRET_KEY_FILE=str(key_a))
    again = project.cli("run", str(path), "--input", "tok=s3cr3t", env=shared)
    assert again.code == 0, again.stderr
    checked = project.cli("state", "check", env=shared)
    assert checked.code == 0, checked.stderr
    assert f"secret key: {key_a}" in checked.stdout  # the input and the Return output of both runs
    assert "4 encrypted value(s), all readable" in checked.stdout


def test_the_first_key_recorded_wins_even_before_any_value_is_encrypted(tmp_path: Path, pg_db: PgDatabase) -> None:
    store = PostgresStore(pg_db.url)
    try:
        first = Cipher(tmp_path / "a", guard=KeyLedger(store))
        token = first.encrypt("x")
        (tmp_path / "b").mkdir()
        (tmp_path / "b" / "secret.key").write_bytes(Fernet.generate_key())  # a machine that made its own key
        second = Cipher(tmp_path / "b", guard=KeyLedger(store))
        with pytest.raises(CryptoError, match="is not the key of this shared state"):
            second.encrypt("y")
        assert store.recorded_fingerprint() == first.key_fingerprint()
        assert Cipher(tmp_path / "c", guard=KeyLedger(store), key_file=first.key_path).decrypt(token) == "x"
    finally:
        store.close()


def test_a_configured_key_file_is_relative_to_the_project(project: Project, pg_db: PgDatabase) -> None:
    project.config(f"state: {pg_db.url}\nsecretKeyFile: keys/shared.key\n")
    path = project.flow_file("state/history.yaml")
    result = project.cli("run", str(path), "--input", "tok=s3cr3t")
    assert result.code == 0, result.stderr
    assert (project.root / "keys" / "shared.key").is_file() and not (project.home / "secret.key").exists()
