"""Fixtures of the fuzz suite: one throwaway project with flows, data files and a few executions, and a worker."""

from __future__ import annotations

import json
import shutil
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .fuzz_harness import CASES_RUN, Case, Worker, run_subprocess

FLOWS = {
    "hello.yaml": (Path(__file__).resolve().parents[2] / "flows" / "hello.yaml").read_text(encoding="utf-8"),
    "fail.yaml": """
        id: fail
        namespace: fuzz
        inputs:
          - id: why
            type: STRING
            defaults: on purpose
        tasks:
          - id: first
            type: io.kestra.plugin.core.log.Log
            message: "{{ inputs.why }}"
          - id: boom
            type: io.kestra.plugin.core.execution.Fail
            errorMessage: "failed {{ inputs.why }}"
        """,
    "approval.yaml": """
        id: approval
        namespace: fuzz
        tasks:
          - id: wait
            type: io.kestra.plugin.core.flow.Pause
          - id: after
            type: io.kestra.plugin.core.log.Log
            message: resumed
        """,
    "vault.yaml": """
        id: vault
        namespace: fuzz
        inputs:
          - id: token
            type: SECRET
            defaults: t0k3n
        tasks:
          - id: use
            type: io.kestra.plugin.core.log.Log
            message: "token is {{ inputs.token }}"
        """,
    "daily.yaml": """
        id: daily
        namespace: fuzz
        inputs:
          - id: n
            type: INT
            defaults: 1
        tasks:
          - id: log
            type: io.kestra.plugin.core.log.Log
            message: "{{ trigger.date ?? 'manual' }} {{ inputs.n }}"
        triggers:
          - id: every_day
            type: io.kestra.plugin.core.trigger.Schedule
            cron: "0 9 * * *"
            recoverMissedSchedules: NONE  # a case may tick at 1900-01-01: the next must not catch up 46,000 days
        """,
}

DATA = {
    "data/inputs.json": b'{"name": "Ana", "times": 3}',
    "data/inputs.yaml": b"name: Bo\ntimes: 2\n",
    "data/context.json": b'{"inputs": {"name": "Ana"}, "flow": {"namespace": "fuzz", "id": "x"}}',
    "data/list.json": b"[1, 2, 3]",
    "data/latin1.json": '{"name": "Jos\u00e9"}'.encode("latin-1"),
    "data/empty.txt": b"",
    "data/value.txt": b"a value\n",
}


@dataclass
class FuzzProject:
    """The project every fuzz case runs in, and the names a case may use (flows, executions, files)."""

    root: Path
    worker: Worker
    executions: list[str] = field(default_factory=list)
    damaged: dict[str, dict[str, bytes]] = field(default_factory=dict)

    @property
    def home(self) -> Path:
        return self.root / ".flowrun"

    @property
    def env(self) -> dict[str, str]:
        return {"FLOWRUN_HOME": str(self.home), "HOME": str(self.root)}

    def case(self, argv: list[str], target: str, files: dict[str, bytes] | None = None) -> Case:
        CASES_RUN[target] = CASES_RUN.get(target, 0) + 1
        return Case(argv, str(self.root), {}, target, files or {})

    def seed(self) -> None:
        """A few executions (success, failure, paused) for the commands that take an execution id."""
        for argv in (["run", "flows/hello.yaml"], ["run", "flows/fail.yaml"], ["run", "flows/approval.yaml"],
                     ["run", "flows/vault.yaml"], ["kv", "set", "fuzz", "greeting", "hi"]):
            outcome = self.worker.run(Case(argv, str(self.root)))
            assert outcome.code in (0, 1, 5), outcome
        listed = self.worker.run(Case(["executions", "list", "--json"], str(self.root)))
        self.executions = [row["id"] for row in json.loads(listed.stdout)]
        assert len(self.executions) == 4, listed
        assert (self.home / "secret.key").is_file()
        self._damage()

    def _damage(self) -> None:
        """Damaged copies of the state dir, one per kind of damage, kept as bytes to restore before each use."""
        self.worker.close()  # then one clean process that closes the DB last: SQLite folds the WAL into state.db
        assert run_subprocess(Case(["executions", "list"], str(self.root)), self.env).code == 0
        assert not (self.home / "state.db-wal").exists()
        db, key = (self.home / "state.db").read_bytes(), (self.home / "secret.key").read_bytes()
        page = 4096
        self.damaged = {
            "empty-db": {"state.db": b"", "secret.key": key},
            **{f"garbage-page-{i}": {"state.db": _garble(db, page, part), "secret.key": key}
               for i, part in enumerate((6, 3, 1.5))},
            "not-a-db": {"state.db": b"this is not SQLite\n" * 300, "secret.key": key},
            "truncated-db": {"state.db": db[: len(db) // 2], "secret.key": key},
            "garbage-key": {"state.db": db, "secret.key": b"not a fernet key"},
            "no-key": {"state.db": db},
        }

    def restore_damage(self, argv: list[str]) -> None:
        """Lay out again the damaged state dirs that a case names (an earlier case may have 'repaired' them)."""
        for name, files in self.damaged.items():
            if any(name in arg for arg in argv):
                home = self.root / "damaged" / name
                shutil.rmtree(home, ignore_errors=True)
                home.mkdir(parents=True)
                for file, data in files.items():
                    (home / file).write_bytes(data)


def _garble(db: bytes, page: int, part: float) -> bytes:
    """One page (at 1/part of the file, never the first two: the schema must stay readable) full of garbage."""
    index = max(2, int(len(db) // page / part))
    return db[: index * page] + b"\xab" * page + db[(index + 1) * page:]


@pytest.fixture(scope="session")
def fuzz_project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzProject]:
    root = tmp_path_factory.mktemp("fuzz") / "proj"
    for name, text in FLOWS.items():
        path = root / "flows" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    for name, data in DATA.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    (root / "cases").mkdir()
    worker = Worker({"FLOWRUN_HOME": str(root / ".flowrun"), "HOME": str(root)})
    project = FuzzProject(root, worker)
    project.seed()
    yield project
    worker.close()

