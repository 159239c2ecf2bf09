"""Use cases of `flowrun state`: check, migrate or copy the state; check and rotate its secret key."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flowrun.errors import FlowrunError, StateError, UsageError

if TYPE_CHECKING:
    from flowrun.crypto import Cipher
    from flowrun.project import Project
    from flowrun.state.pg_copy import Copied
    from flowrun.state.upgrade import Migrated


@dataclass
class CheckReport:
    """What `flowrun state check` found: one line per check, and the error to exit with (None when sound)."""

    db_path: Path | str
    lines: list[str] = field(default_factory=list)
    error: FlowrunError | None = None

    def to_json(self) -> dict[str, Any]:
        return {"db": str(self.db_path), "ok": self.error is None, "checks": self.lines,
                "error": self.error.message if self.error else None}


def check_state(home: str | None = None, db_file: str | None = None) -> CheckReport:
    """`PRAGMA integrity_check` of the state DB (or of `db_file`), then, for the project's DB, its secret key."""
    from flowrun.project import open_project
    from flowrun.state import integrity

    project = None if db_file else open_project(home)
    if project is not None and _postgres_url(project):
        return _check_postgres(project)
    path = Path(db_file) if db_file else project.db_path  # type: ignore[union-attr]
    report = CheckReport(path)
    if not path.exists():
        if db_file:
            raise UsageError(f"no file {path}", hint="pass the path of an SQLite file to --db")
        if not integrity.marker_path(path).exists():
            report.lines.append("no state DB yet (nothing has run in this project)")
            return report
    try:
        integrity.check_before_open(path)  # missing or emptied although state.id says it existed
    except integrity.DamagedStateError as exc:
        report.lines.append(f"integrity: {exc.message}")
        report.error = exc
        return report
    problems = integrity.integrity_problems(path)
    if problems:
        report.lines += [f"integrity: {problem}" for problem in problems]
        report.error = integrity.DamagedStateError(
            f"the state database {path} is damaged ({len(problems)} problem(s) found)",
            hint=integrity.recover_hint(path))
        return report
    report.lines.append("integrity: ok")
    if project is not None:
        _check_key(project, report)
    return report


def _postgres_url(project: Project) -> str | None:
    from flowrun.state.location import state_url

    chosen = state_url(project)
    return chosen[0] if chosen else None


def _check_postgres(project: Project) -> CheckReport:
    """A Postgres state: reachable, migrated, and its secret key (the server keeps its own integrity)."""
    from flowrun.state.location import describe
    from flowrun.state.upgrade import migrate_state

    report = CheckReport(describe(project))
    done = migrate_state(project)
    report.lines.append(f"postgres: reachable, {done.total} migration(s) applied"
                        + (f" ({len(done.applied)} just now)" if done.applied else ""))
    _check_key(project, report)
    return report


def migrate(home: str | None = None) -> Migrated:
    """`flowrun state migrate`: apply the pending migrations of the project's state (idempotent)."""
    from flowrun.project import open_project
    from flowrun.state.upgrade import migrate_state

    return migrate_state(open_project(home))


def copy_to_postgres(to: str, home: str | None = None) -> Copied:
    """`flowrun state copy --to URL`: the project's SQLite history into an empty Postgres database."""
    from flowrun.project import open_project
    from flowrun.state.db import Database
    from flowrun.state.pg_copy import copy_state
    from flowrun.state.pg_url import check_url
    from flowrun.state.store import reap_dead

    url = check_url(to.strip(), "--to")
    project = open_project(home)
    if not project.db_path.is_file():
        raise UsageError(f"no SQLite state at {project.db_path}: nothing to copy",
                         hint="run it in the project whose history you move (or pass --home)")
    db = Database(project.db_path)
    reap_dead(db)
    running = db.active_execution_ids()
    if running:
        raise UsageError(f"{len(running)} execution(s) are still running (e.g. {running[0]}): a copy would miss "
                         "what they record next", hint="wait until they end, then copy")
    return copy_state(project.db_path, url)


def _check_key(project: Any, report: CheckReport) -> None:
    """Is secret.key the DB's key, and does every encrypted value decrypt with it?"""
    from flowrun.crypto import NEW_KEY_FILE, OLD_KEY_FILE, CryptoError
    from flowrun.engine.services import checked_cipher
    from flowrun.state.location import open_store

    db = open_store(project)
    cipher = checked_cipher(project, db)
    tokens = db.encrypted_tokens()
    if not cipher.key_path.exists() and not tokens:
        report.lines.append("secret key: none yet (no value is encrypted)")
        return
    try:
        key = cipher.key_fingerprint()
        unreadable = sum(1 for token in tokens if not _decrypts(cipher, token))
    except CryptoError as exc:
        report.lines.append(f"secret key: {exc.message}")
        report.error = exc
        return
    report.lines.append(f"secret key: {cipher.key_path} (fingerprint {key}), {len(tokens)} encrypted value(s)"
                        + (f", {unreadable} of them unreadable with it" if unreadable else ", all readable"))
    for leftover in (NEW_KEY_FILE, OLD_KEY_FILE):
        if cipher.key_path.with_name(leftover).exists():
            report.lines.append(f"note: {cipher.key_path.with_name(leftover)} is left from an interrupted rotate-key; "
                                "run `flowrun state rotate-key` again to finish cleanly")
    if unreadable:
        report.error = CryptoError(f"{unreadable} encrypted value(s) cannot be decrypted with {cipher.key_path}",
                                   hint="they were encrypted with another key: restore that key from a backup")


def _decrypts(cipher: Cipher, token: str) -> bool:
    from flowrun.crypto import CryptoError

    try:
        cipher.decrypt(token)
    except CryptoError as exc:
        if "cannot decrypt" not in exc.message:
            raise  # the key itself is unusable: report that, not every value
        return False
    return True


def rotate_secret_key(home: str | None = None) -> dict[str, Any]:
    """Re-encrypt every encrypted value of the state DB with a new secret.key, atomically."""
    from flowrun.app.services import open_state
    from flowrun.crypto import rotate_key
    from flowrun.engine.services import checked_cipher
    from flowrun.project import open_project
    from flowrun.state import integrity
    from flowrun.state.keys import KeyLedger, reencrypt_copy

    project = open_project(home)
    db = open_state(project)
    running = db.active_execution_ids()
    if running:
        raise StateError(f"{len(running)} execution(s) are running (e.g. {running[0]}): a value they encrypt "
                         "during the rotation would use the old key",
                         hint="wait until they end (`flowrun executions list --state RUNNING`), then rotate")
    cipher = checked_cipher(project, db)
    if not cipher.key_path.exists() and not KeyLedger(db).encrypted_values():
        raise UsageError(f"there is no {cipher.key_path.name} yet (no value was ever encrypted): nothing to rotate")
    backup = integrity.backup_path(project.db_path)
    stale: list[str] = []

    def rewrite(transform: Any, new_fingerprint: str) -> int:
        count = db.reencrypt(transform, new_fingerprint)  # the commit that switches keys
        if backup.is_file():  # so that restoring the backup later does not need the old key
            try:
                reencrypt_copy(backup, transform, new_fingerprint)
            except FlowrunError as exc:
                stale.append(f"{backup}: {exc}")
        return count

    old, new, count = rotate_key(cipher, rewrite)
    return {"key": str(cipher.key_path), "oldFingerprint": old, "newFingerprint": new, "values": count,
            "staleBackup": stale[0] if stale else None}
