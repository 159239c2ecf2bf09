"""A worker's reloads of one execution (flowrun.engine.resume.ParsedRuns): rows that did not change are not
parsed again, changed ones are, and each load's task runs are its own."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pg_fixture import PgDatabase

from flowrun.engine.resume import ParsedRuns, load_execution
from flowrun.model.execution import Attempt, Execution, TaskRun, new_id
from flowrun.state.db import Database
from flowrun.state.postgres import PostgresStore
from flowrun.state.protocol import StateStore

SOURCE = "id: f\nnamespace: dev\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StateStore]:
    """SQLite compares each row it reads; Postgres reads the row versions and then only the changed rows."""
    if request.param == "sqlite":
        store: StateStore = Database(tmp_path / "state.db")
    else:
        database: PgDatabase = request.getfixturevalue("pg_db")
        store = PostgresStore(database.url)
    yield store
    store.close()


def _recorded(db: StateStore) -> tuple[Execution, list[TaskRun]]:
    execution = Execution(id=new_id(), namespace="dev", flow_id="f", state="RUNNING", flow_source=SOURCE)
    db.save_execution(execution, {}, {})
    runs = [TaskRun(id=new_id(), execution_id=execution.id, task_id=f"t{i}", task_type="Log", seq=i,
                    state="SUCCESS", attempts=[Attempt("SUCCESS", datetime(2024, 1, 1, tzinfo=UTC))])
            for i in range(3)]
    for i, run in enumerate(runs):
        db.insert_task_run(run, {"n": i})
    return execution, runs


def _view(execution: Execution) -> list[tuple[str, str, dict[str, object], int]]:
    return [(run.task_id, str(run.state), run.outputs, len(run.attempts)) for run in execution.task_runs]


def test_a_reload_parses_again_only_the_changed_rows_and_matches_a_full_load(db: StateStore) -> None:
    execution, runs = _recorded(db)
    parsed = ParsedRuns()
    first = load_execution(db, execution.id, lambda value: value, parsed)
    assert _view(first) == _view(load_execution(db, execution.id, lambda value: value))

    runs[1].state = "FAILED"
    runs[1].attempts.append(Attempt("FAILED", datetime(2024, 1, 1, tzinfo=UTC)))
    db.update_task_run(runs[1], {"n": 10})
    unsealed: list[object] = []
    second = load_execution(db, execution.id, lambda value: unsealed.append(value) or value, parsed)
    assert _view(second) == _view(load_execution(db, execution.id, lambda value: value))
    assert _view(second)[1] == ("t1", "FAILED", {"n": 10}, 2)
    assert {"n": 10} in unsealed and {"n": 0} not in unsealed  # the unchanged rows came from the cache


def test_each_load_gets_task_runs_of_its_own(db: StateStore) -> None:
    execution, _ = _recorded(db)
    parsed = ParsedRuns()
    first = load_execution(db, execution.id, lambda value: value, parsed)
    first.task_runs[0].attempts.append(Attempt("RUNNING", datetime(2024, 1, 2, tzinfo=UTC)))
    first.task_runs[0].state = "RUNNING"
    second = load_execution(db, execution.id, lambda value: value, parsed)
    assert _view(second)[0] == ("t0", "SUCCESS", {"n": 0}, 1)
    assert second.task_runs[0] is not first.task_runs[0]


def test_only_the_last_executions_are_kept(db: StateStore) -> None:
    parsed = ParsedRuns(size=2)
    ids = [_recorded(db)[0].id for _ in range(3)]
    for execution_id in ids:
        load_execution(db, execution_id, lambda value: value, parsed)
    assert [bool(parsed.of(execution_id)) for execution_id in reversed(ids)] == [True, True, False]


def test_a_task_run_recorded_since_the_last_load_is_seen_on_reload(db: StateStore) -> None:
    execution, runs = _recorded(db)
    parsed = ParsedRuns()
    load_execution(db, execution.id, lambda value: value, parsed)
    child = TaskRun(id=new_id(), execution_id=execution.id, task_id="t3", task_type="Log", seq=3,
                    parent_id=runs[0].id, value="v", state="RUNNING")
    db.insert_task_run(child, {})
    again = load_execution(db, execution.id, lambda value: value, parsed)
    assert [run.task_id for run in again.task_runs] == ["t0", "t1", "t2", "t3"]
    assert again.task_runs[3].parent_id == runs[0].id
    assert _view(again) == _view(load_execution(db, execution.id, lambda value: value))
