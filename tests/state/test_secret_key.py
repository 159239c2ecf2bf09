"""secret.key: a lost, replaced or garbage key is refused while values need it; rotate-key re-encrypts them all."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import Project
from cryptography.fernet import Fernet, InvalidToken
from helpers import assert_clean_error

from flowrun.crypto import MARKER, Cipher, fingerprint, rotate_key
from flowrun.state.db import Database
from flowrun.state.integrity import backup_before_migration, backup_path
from flowrun.state.keys import FINGERPRINT, KeyLedger

FLOW = """\
id: guarded
namespace: t
inputs:
  - id: tok
    type: SECRET
tasks:
  - id: gate
    type: io.kestra.plugin.core.execution.Fail
    condition: "{{ kv('gate') == null }}"
    errorMessage: the gate is closed
  - id: echo
    type: io.kestra.plugin.core.debug.Return
    format: "{{ inputs.tok }}"
  - id: check
    type: io.kestra.plugin.core.execution.Fail
    condition: "{{ inputs.tok != 's3cr3t' }}"
    errorMessage: the secret did not decrypt to its value
"""
SLEEPY = """\
id: sleepy
namespace: t
tasks:
  - id: nap
    type: io.kestra.plugin.core.flow.Sleep
    duration: PT20S
"""


def tokens(project: Project) -> list[str]:
    """Every encrypted token in the state DB's execution inputs and task-run outputs."""
    with sqlite3.connect(project.home / "state.db") as conn:
        texts = [r[0] for r in conn.execute("SELECT inputs FROM executions UNION ALL SELECT outputs FROM task_runs")]
    return [part.split('"')[0] for text in texts for part in text.split(MARKER)[1:]]


def run_guarded(project: Project) -> str:
    """One execution whose secret input and Return output are sealed in the DB (FAILED at the closed gate)."""
    project.flow(FLOW, "guarded.yaml")
    result = project.cli("run", "flows/guarded.yaml", "--input", "tok=s3cr3t", "--json")
    assert result.code == 1, result
    assert len(tokens(project)) == 1  # the input; the gate failed before `echo` ran
    return str(result.json()["id"])


def test_a_deleted_key_is_refused_while_values_are_encrypted(project: Project) -> None:
    execution_id = run_guarded(project)
    key = project.home / "secret.key"
    key.unlink()
    for args in (("run", "flows/guarded.yaml", "--input", "tok=x"), ("restart", execution_id),
                 ("state", "check")):
        assert_clean_error(project.cli(*args), 4, f"the encryption key {key} is missing",
                           "1 value(s) in the state DB are encrypted with the lost key",
                           "so flowrun will not create a new key", "restore secret.key from a backup")
    assert not key.exists(), "no new key may be created while old values need the lost one"
    with sqlite3.connect(project.home / "state.db") as conn:
        assert [r[0] for r in conn.execute("SELECT state FROM executions")] == ["FAILED"]


def test_a_deleted_key_is_replaced_when_no_value_needs_it(project: Project) -> None:
    run_guarded(project)
    key = project.home / "secret.key"
    assert project.cli("purge", "--before", "2999-01-01", "--yes").code == 0
    assert tokens(project) == []
    key.unlink()
    project.cli("kv", "set", "t", "gate", "open")
    result = project.cli("run", "flows/guarded.yaml", "--input", "tok=s3cr3t")
    assert result.code == 0, result
    assert key.is_file() and len(tokens(project)) == 2
    with sqlite3.connect(project.home / "state.db") as conn:
        recorded = conn.execute("SELECT value FROM meta WHERE key = ?", (FINGERPRINT,)).fetchone()[0]
    assert recorded == fingerprint(key.read_bytes().strip())
    assert project.cli("state", "check").code == 0


def test_a_replaced_key_is_refused(project: Project) -> None:
    execution_id = run_guarded(project)
    key = project.home / "secret.key"
    old = key.read_bytes()
    key.write_bytes(Fernet.generate_key())
    assert_clean_error(project.cli("restart", execution_id), 4,
                       f"(fingerprint {fingerprint(old.strip())})", "is not the key this state DB's values were "
                       "encrypted with", "so flowrun will not use it")


def test_kv_set_secret_records_the_fingerprint_and_refuses_another_key(project: Project) -> None:
    """`kv set --secret` goes through the same key check as a run: its first value records the key's
    fingerprint, and a replaced key file is refused with the clear message before anything is written."""
    assert project.cli("kv", "set", "t", "first", "s3cr3t", "--secret").code == 0
    key = project.home / "secret.key"
    with sqlite3.connect(project.home / "state.db") as conn:
        recorded = conn.execute("SELECT value FROM meta WHERE key = ?", (FINGERPRINT,)).fetchone()[0]
    assert recorded == fingerprint(key.read_bytes().strip())
    key.write_bytes(Fernet.generate_key())
    assert_clean_error(project.cli("kv", "set", "t", "second", "other", "--secret"), 4,
                       f"the encryption key {key} (fingerprint", f"(fingerprint {recorded})",
                       "is not the key this state DB's values were encrypted with", "so flowrun will not use it")
    assert project.cli("kv", "get", "t", "second").code == 1  # nothing was written
    with sqlite3.connect(project.home / "state.db") as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = ?", (FINGERPRINT,)).fetchone()[0] == recorded
        assert [r[0] for r in conn.execute("SELECT key FROM kv")] == ["first"]


@pytest.mark.parametrize("garbage", [b"garbage", b"!" * 44, bytes(range(200, 244))])
def test_a_garbage_key_is_a_clear_error(project: Project, garbage: bytes) -> None:
    run_guarded(project)
    key = project.home / "secret.key"
    key.write_bytes(garbage)
    for args in (("run", "flows/guarded.yaml", "--input", "tok=x"), ("state", "check")):
        assert_clean_error(project.cli(*args), 4, f"the encryption key {key} is corrupt", "restore it from a backup")
    assert key.read_bytes() == garbage


def test_rotate_key_reencrypts_every_value_and_restart_still_decrypts(project: Project) -> None:
    execution_id = run_guarded(project)
    key = project.home / "secret.key"
    old_key, before = key.read_bytes().strip(), tokens(project)

    result = project.cli("state", "rotate-key")
    assert result.code == 0, result
    new_key = key.read_bytes().strip()
    assert new_key != old_key
    assert (f"fingerprint {fingerprint(old_key)} -> {fingerprint(new_key)}, 1 value(s) re-encrypted"
            in result.stdout)
    after = tokens(project)
    assert len(after) == 1 and after != before
    with pytest.raises(InvalidToken):
        Fernet(old_key).decrypt(after[0].encode())
    assert sorted(p.name for p in project.home.iterdir() if p.name.startswith("secret")) == ["secret.key"]

    project.cli("kv", "set", "t", "gate", "open")
    restarted = project.cli("restart", execution_id, "--json")
    assert restarted.code == 0, restarted  # `check` compared the decrypted input with its clear value
    assert [tr["state"] for tr in restarted.json()["taskRuns"]] == ["SUCCESS"] * 3
    check = project.cli("state", "check")
    assert check.code == 0 and f"(fingerprint {fingerprint(new_key)}), 2 encrypted value(s), all readable" in check.stdout


def test_an_interrupted_rotation_is_harmless_or_finished_by_the_next_command(project: Project) -> None:
    execution_id = run_guarded(project)
    key = project.home / "secret.key"
    old_key = key.read_bytes().strip()
    db = Database(project.home / "state.db")

    def crash_before_commit(transform: object, new_fingerprint: str) -> int:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        rotate_key(Cipher(project.home, guard=KeyLedger(db)), crash_before_commit)
    assert key.read_bytes().strip() == old_key
    assert project.cli("state", "check").code == 0

    def crash_after_commit(transform: object, new_fingerprint: str) -> int:
        db.reencrypt(transform, new_fingerprint)  # type: ignore[arg-type]
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        rotate_key(Cipher(project.home, guard=KeyLedger(db)), crash_after_commit)
    assert key.read_bytes().strip() == old_key and (project.home / "secret.key.new").is_file()
    project.cli("kv", "set", "t", "gate", "open")
    restarted = project.cli("restart", execution_id)
    assert restarted.code == 0, restarted
    assert not (project.home / "secret.key.new").exists() and key.read_bytes().strip() != old_key
    assert project.cli("state", "check").code == 0


def test_rotate_key_refuses_while_an_execution_runs(project: Project) -> None:
    run_guarded(project)
    project.flow(SLEEPY, "sleepy.yaml")
    proc = subprocess.Popen([sys.executable, "-m", "flowrun", "run", "flows/sleepy.yaml"], cwd=project.root,
                            env={**__import__("os").environ, "FLOWRUN_HOME": str(project.home)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while not json.loads(project.cli("executions", "list", "--state", "RUNNING", "--json").stdout):
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.1)
        key = (project.home / "secret.key").read_bytes()
        assert_clean_error(project.cli("state", "rotate-key"), 4, "1 execution(s) are running",
                           "wait until they end")
        assert (project.home / "secret.key").read_bytes() == key
    finally:
        proc.kill()
        proc.wait()


def test_state_commands_document_an_example(project: Project) -> None:
    for sub in ("check", "rotate-key"):
        result = project.cli("state", sub, "--help")
        assert result.code == 0 and "Example: flowrun state " + sub in result.stdout


def test_a_cipher_without_a_guard_keeps_creating_its_key(tmp_path: Path) -> None:
    cipher = Cipher(tmp_path)  # no state DB: the key is created on first use, as before
    assert cipher.decrypt(cipher.encrypt("x")) == "x"
    assert (tmp_path / "secret.key").is_file()


def test_rotate_key_also_reencrypts_the_pre_migration_backup(project: Project) -> None:
    run_guarded(project)
    db_path = project.home / "state.db"
    backup_before_migration(db_path)  # the copy flowrun takes before a schema migration
    result = project.cli("state", "rotate-key")
    assert result.code == 0 and "warning" not in result.stderr, result
    new_key = (project.home / "secret.key").read_bytes().strip()
    with sqlite3.connect(backup_path(db_path)) as conn:
        text = conn.execute("SELECT inputs FROM executions").fetchone()[0]
        recorded = conn.execute("SELECT value FROM meta WHERE key = ?", (FINGERPRINT,)).fetchone()[0]
    token = json.loads(text)["tok"]["$secret"]
    assert json.loads(Fernet(new_key).decrypt(token[len(MARKER):].encode())) == "s3cr3t"
    assert recorded == fingerprint(new_key)


def test_threads_sharing_a_cipher_on_a_fresh_state_create_one_key(tmp_path: Path) -> None:
    """Two threads of one run use the cipher first at the same time (a task sealing a value while the recorder
    seals another): one creates the key while the other waits, instead of checking for it, finding the first
    thread's value already encrypted and no key file yet, and refusing the key as lost (seen once in CI)."""
    import threading

    from flowrun.storage.kv import KVStore

    db = Database(tmp_path / "state.db")
    cipher = Cipher(tmp_path, guard=KeyLedger(db))
    checking, written, errors = threading.Event(), threading.Event(), []
    real_refuse = cipher._refuse_if_values

    def slow_refuse(problem: str, refused: str) -> None:  # the first thread to check is overtaken here
        if not checking.is_set():
            checking.set()
            written.wait(1.0)
        real_refuse(problem, refused)

    cipher._refuse_if_values = slow_refuse  # type: ignore[method-assign]

    def first() -> None:
        try:
            cipher.encrypt("checked")
        except Exception as exc:  # noqa: BLE001 - the test reports it
            errors.append(exc)

    def second() -> None:
        checking.wait(1.0)
        try:
            KVStore(db, cipher).set("t", "token", "s3cr3t", secret=True)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        written.set()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert errors == []
    assert KVStore(db, cipher).get("t", "token") == "s3cr3t" and (tmp_path / "secret.key").is_file()
