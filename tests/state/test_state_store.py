"""The StateStore contract: every method of the protocol, run against each backend (SQLite and a real Postgres).

A backend adds itself to `BACKENDS`; these tests then run against it unchanged.
"""

from __future__ import annotations

import inspect
import json
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pg_fixture import PgDatabase, PgServer

from flowrun.model.execution import Attempt, Execution, TaskRun, new_id
from flowrun.state.batch import Batch, TaskRunWrite
from flowrun.state.concurrency import wait_for_slot
from flowrun.state.db import Database
from flowrun.state.executions import taskrun_row
from flowrun.state.postgres import PostgresStore
from flowrun.state.protocol import StateStore
from flowrun.state.records import (
    Claim,
    ExecutionFilter,
    ExecutionQuery,
    LogFilter,
    StateScope,
    StoredState,
)
from flowrun.state.store import find_execution_row, get_execution, list_executions, reap_dead

KEY = ("dev", "f", "hourly")


def _postgres(request: pytest.FixtureRequest, tmp: Path) -> StateStore:
    database: PgDatabase = request.getfixturevalue("pg_db")
    return PostgresStore(database.url)


BACKENDS: dict[str, Callable[[pytest.FixtureRequest, Path], StateStore]] = {
    "sqlite": lambda request, tmp: Database(tmp / "state.db"),
    "postgresql": _postgres,
}
CLASSES = {"sqlite": Database, "postgresql": PostgresStore}


@pytest.fixture(params=sorted(BACKENDS))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StateStore]:
    opened = BACKENDS[request.param](request, tmp_path)
    yield opened
    opened.close()


def _execution(store: StateStore, state: str = "SUCCESS", flow_id: str = "f", ended: str | None = "2024-01-02",
               source: str | None = None, **fields: object) -> Execution:
    execution = Execution(id=new_id(), namespace="dev", flow_id=flow_id, state=state,
                          start_date=datetime(2024, 1, 1, tzinfo=UTC), labels=[("team", "a")],
                          end_date=datetime.fromisoformat(ended).replace(tzinfo=UTC) if ended else None,
                          flow_source=source, **fields)  # type: ignore[arg-type]
    store.save_execution(execution, {"x": 1}, {"y": 2})
    return execution


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


@pytest.mark.parametrize("backend", sorted(CLASSES))
def test_each_store_implements_every_protocol_method_with_its_signature(backend: str) -> None:
    members = {name for name in dir(StateStore) if not name.startswith("_")}
    assert len(members) > 60
    cls = CLASSES[backend]
    for name in members:
        wanted = getattr(StateStore, name)
        if isinstance(wanted, property):
            assert isinstance(getattr(cls, name), property), name
            continue
        got = inspect.signature(getattr(cls, name))
        assert list(got.parameters) == list(inspect.signature(wanted).parameters), name
        assert [p.default for p in got.parameters.values()] == \
            [p.default for p in inspect.signature(wanted).parameters.values()], name


def test_executions_task_runs_and_logs_round_trip(store: StateStore) -> None:
    execution = _execution(store, trigger={"date": "d"}, parent_id="p0")
    taskrun = TaskRun(id=new_id(), execution_id=execution.id, task_id="t", task_type="Log", seq=0,
                      attempts=[Attempt("RUNNING", datetime(2024, 1, 1, tzinfo=UTC))])
    store.insert_task_run(taskrun, {"o": 1})
    taskrun.state, taskrun.error, taskrun.task_id = "FAILED", "boom", "changed-but-not-updated"
    store.update_task_run(taskrun, {"o": 2})
    store.add_log(execution.id, taskrun.id, "t", 1, "INFO", "2024-01-01T00:00:01.000000Z", "one")
    store.add_log(execution.id, None, None, None, "WARN", "2024-01-01T00:00:02.000000Z", "two")

    row = store.find_execution(execution.id[:10])
    assert row is not None and row["id"] == execution.id and row["trigger"] == '{"date":"d"}'
    assert row["parent_id"] == "p0" and row["inputs"] == '{"x":1}'
    runs = store.task_run_rows(execution.id)
    assert [(r["task_id"], r["state"], r["error"], r["outputs"]) for r in runs] == [("t", "FAILED", "boom", '{"o":2}')]
    assert [r["message"] for r in store.log_rows(execution.id)] == ["one", "two"]
    assert [r["message"] for r in store.log_rows(execution.id, "t")] == ["one"]
    shown = get_execution(store, execution.id, lambda value: value)
    assert shown["labels"] == [{"key": "team", "value": "a"}] and shown["taskRuns"][0]["attempts"][0]["state"] == \
        "RUNNING"
    assert store.find_execution("nope") is None


def test_a_batch_writes_the_execution_task_runs_logs_and_metrics_in_one_transaction(store: StateStore) -> None:
    execution = _execution(store, state="RUNNING", ended=None)
    known = TaskRun(id=new_id(), execution_id=execution.id, task_id="known", task_type="Log", seq=0)
    store.insert_task_run(known, {})
    known.state, known.task_id = "SUCCESS", "changed-but-not-updated"
    fresh = TaskRun(id=new_id(), execution_id=execution.id, task_id="fresh", task_type="Return", seq=1,
                    state="RUNNING")
    execution.state = "SUCCESS"
    store.record(Batch(execution=(execution, {"x": 1}, {"done": True}),
                       task_runs={known.id: TaskRunWrite(taskrun_row(known, {"o": 1}), insert=False),
                                  fresh.id: TaskRunWrite(taskrun_row(fresh, {}), insert=True)},
                       logs=[(execution.id, fresh.id, "fresh", 1, "INFO", "2024-01-01T00:00:01.000000Z", "one"),
                             (execution.id, None, None, None, "WARN", "2024-01-01T00:00:02.000000Z", "two")],
                       metrics=[(execution.id, fresh.id, "length", "counter", 3.0, '{"a":"b"}',
                                 "2024-01-01 00:00:03")]))

    row = store.find_execution(execution.id)
    assert row is not None and (row["state"], row["outputs"]) == ("SUCCESS", '{"done":true}')
    runs = [(r["task_id"], r["state"], r["outputs"]) for r in store.task_run_rows(execution.id)]
    assert runs == [("known", "SUCCESS", '{"o":1}'), ("fresh", "RUNNING", "{}")]
    assert [r["message"] for r in store.log_rows(execution.id)] == ["one", "two"]
    [metric] = store.query("SELECT name, type, value, tags, timestamp FROM metrics")  # type: ignore[attr-defined]
    assert tuple(metric) == ("length", "counter", 3.0, '{"a":"b"}', "2024-01-01 00:00:03")

    orphan = TaskRun(id=new_id(), execution_id="no-such-execution", task_id="t", task_type="Log", seq=0)
    execution.state = "FAILED"
    with pytest.raises(Exception):  # noqa: B017 - each backend raises its own driver's integrity error
        store.record(Batch(execution=(execution, {}, {}),
                           task_runs={orphan.id: TaskRunWrite(taskrun_row(orphan, {}), insert=True)}))
    row = store.find_execution(execution.id)
    assert row is not None and row["state"] == "SUCCESS"  # all or nothing: the execution row was rolled back
    store.record(Batch())  # an empty batch writes nothing and fails nothing


def test_listing_filters_by_flow_namespace_and_state_newest_first(store: StateStore) -> None:
    first = _execution(store)
    second = _execution(store, state="FAILED")
    _execution(store, flow_id="other")
    assert [r["id"] for r in store.list_executions("dev", "f", None, 10)] == [second.id, first.id]
    assert [r["id"] for r in store.list_executions(None, "f", "FAILED", 10)] == [second.id]
    assert len(store.list_executions(None, None, None, 2)) == 2
    assert [e["id"] for e in list_executions(store, "dev/f", "failed")] == [second.id]


def test_a_page_of_executions_filters_by_namespace_flow_state_label_and_dates(store: StateStore) -> None:
    """The web UI's executions page: filters combine, child namespaces count, LIKE wildcards are literal."""
    made = []
    for index in range(7):
        execution = Execution(id=new_id(), namespace="dev.sub" if index % 2 else "dev", flow_id=f"f{index % 3}",
                              state="FAILED" if index == 3 else "SUCCESS",
                              start_date=datetime(2024, 1, 1 + index, tzinfo=UTC),
                              labels=[("team", "a_b" if index < 4 else "axb"), ("n", str(index))])
        store.save_execution(execution, {}, {})
        made.append(execution.id)
    rows, total = store.page_executions(ExecutionQuery(), 0, 3)
    assert total == 7 and [r["id"] for r in rows] == made[::-1][:3]
    assert set(rows[0]) >= {"id", "namespace", "flow_id", "state", "start_date", "end_date", "labels", "trigger"}
    rows, total = store.page_executions(ExecutionQuery(), 6, 3)
    assert total == 7 and [r["id"] for r in rows] == [made[0]]
    assert store.page_executions(ExecutionQuery(namespace="dev"), 0, 10)[1] == 7
    assert store.page_executions(ExecutionQuery(namespace="dev.sub"), 0, 10)[1] == 3
    assert store.page_executions(ExecutionQuery(namespace="de"), 0, 10)[1] == 0
    assert store.page_executions(ExecutionQuery(flow_id="f0", states=("SUCCESS",)), 0, 10)[1] == 2  # 3 FAILED
    assert [r["id"] for r in store.page_executions(ExecutionQuery(states=("FAILED",)), 0, 10)[0]] == [made[3]]
    assert store.page_executions(ExecutionQuery(labels=(("team", "a_b"),)), 0, 10)[1] == 4  # `_` is literal
    assert store.page_executions(ExecutionQuery(labels=(("team", "a_b"), ("n", "2"))), 0, 10)[1] == 1
    dated = ExecutionQuery(started_from="2024-01-03T00:00:00", started_to="2024-01-04T23:59:59.999999Z")
    assert [r["id"] for r in store.page_executions(dated, 0, 10)[0]] == [made[3], made[2]]


def test_label_and_namespace_filters_match_exactly_with_case_on_every_backend(store: StateStore) -> None:
    """Kestra matches a label's key and value exactly; LIKE would ignore case on SQLite only."""
    made = {}
    for namespace, team in (("dev", "Data"), ("dev", "data"), ("Dev.sub", "data"), ("dev.sub", "data%")):
        execution = Execution(id=new_id(), namespace=namespace, flow_id="f", state="SUCCESS",
                              start_date=datetime(2024, 1, 1, tzinfo=UTC), labels=[("team", team)])
        store.save_execution(execution, {}, {})
        made[namespace, team] = execution.id

    def page(**query: object) -> set[str]:
        return {r["id"] for r in store.page_executions(ExecutionQuery(**query), 0, 10)[0]}  # type: ignore[arg-type]

    assert page(labels=(("team", "data"),)) == {made["dev", "data"], made["Dev.sub", "data"]}
    assert page(labels=(("team", "Data"),)) == {made["dev", "Data"]}
    assert page(labels=(("team", "DATA"),)) == page(labels=(("Team", "data"),)) == set()
    assert page(labels=(("team", "dat"),)) == set()  # a whole value, not a part of one
    assert page(labels=(("team", "data%"),)) == {made["dev.sub", "data%"]}
    assert page(namespace="dev") == {made["dev", "Data"], made["dev", "data"], made["dev.sub", "data%"]}
    assert page(namespace="DEV") == set() and page(namespace="Dev") == {made["Dev.sub", "data"]}
    listed = store.list_executions(None, None, None, 10, within="dev", labels={"team": "data"})
    assert [r["id"] for r in listed] == [made["dev", "data"]]
    assert store.list_executions(None, None, None, 10, labels={"team": "DATA"}) == []
    store.save_execution(Execution(id="AbCdEfGh0123456789wxyz", namespace="dev", flow_id="f", state="SUCCESS"),
                         {}, {})  # base62 ids: an id prefix is case-sensitive too
    assert find_execution_row(store, "AbCdEf")["id"] == "AbCdEfGh0123456789wxyz"
    assert store.find_execution("abcdef") is None


def test_log_rows_after_an_id_follow_a_running_execution(store: StateStore) -> None:
    execution = _execution(store, state="RUNNING")
    for number in range(5):
        store.add_log(execution.id, None, "t", None, "INFO", f"2024-01-01T00:00:0{number}.000000Z", f"line {number}")
    first = store.log_rows_after(execution.id, 0, 2)
    assert [r["message"] for r in first] == ["line 0", "line 1"]
    rest = store.log_rows_after(execution.id, first[-1]["id"], 100)
    assert [r["message"] for r in rest] == ["line 2", "line 3", "line 4"]
    assert store.log_rows_after(execution.id, rest[-1]["id"], 100) == []


def test_a_store_that_lost_its_process_is_reaped_and_heartbeats_move(store: StateStore) -> None:
    alive = _execution(store, state="RUNNING", ended=None)
    before = store.find_execution(alive.id)["heartbeat"]  # type: ignore[index]
    store.beat(alive.id)
    assert store.find_execution(alive.id)["heartbeat"] > before  # type: ignore[index]
    dead = _execution(store, state="RUNNING", ended=None)
    store.insert_task_run(TaskRun(id=new_id(), execution_id=dead.id, task_id="t", task_type="x", seq=0,
                                  state="RUNNING"), {})
    assert {r["id"] for r in store.active_executions()} == {alive.id, dead.id}
    store.mark_killed([dead.id], "2024-01-03T00:00:00.000000Z", "gone", "marked")
    row = store.find_execution(dead.id)
    assert row is not None and (row["state"], row["error"]) == ("KILLED", "gone")
    assert store.task_run_rows(dead.id)[0]["state"] == "KILLED"
    assert store.log_rows(dead.id)[-1]["message"] == "marked"
    assert reap_dead(store) == []  # the other one belongs to this (live) process
    assert find_execution_row(store, alive.id)["state"] == "RUNNING"


def test_abandon_execution_fails_it_and_its_active_task_runs(store: StateStore) -> None:
    execution = _execution(store, state="RUNNING", ended=None)
    store.insert_task_run(TaskRun(id=new_id(), execution_id=execution.id, task_id="t", task_type="x", seq=0,
                                  state="RUNNING"), {})
    assert store.abandon_execution(execution.id, "could not record", "2024-01-03T00:00:00.000000Z")
    row = store.find_execution(execution.id)
    assert row is not None and (row["state"], row["error"]) == ("FAILED", "could not record")
    assert json.loads(row["histories"])[-1] == {"state": "FAILED", "date": "2024-01-03T00:00:00.000000Z"}
    assert store.task_run_rows(execution.id)[0]["state"] == "FAILED"


def test_ended_since_looks_at_state_and_end_date(store: StateStore) -> None:
    _execution(store, ended="2024-01-05")
    assert store.ended_since("dev", "f", ["SUCCESS"], "2024-01-04")
    assert not store.ended_since("dev", "f", ["SUCCESS"], "2024-01-06")
    assert not store.ended_since("dev", "f", ["FAILED"], "2024-01-04")


def test_concurrency_admits_queues_and_starts_the_oldest_queued(store: StateStore) -> None:
    running = Execution(id=new_id(), namespace="dev", flow_id="c")
    assert store.admit_execution(running, 1, "QUEUE") == "RUNNING"
    queued = Execution(id=new_id(), namespace="dev", flow_id="c")
    later = Execution(id=new_id(), namespace="dev", flow_id="c")
    assert store.admit_execution(queued, 1, "QUEUE") == "QUEUED"
    assert store.admit_execution(later, 1, "QUEUE") == "QUEUED"
    assert store.admit_execution(Execution(id=new_id(), namespace="dev", flow_id="c"), 1, "FAIL") == "FAILED"
    assert not store.start_if_next(queued, 1)  # the slot is taken
    running.state = "SUCCESS"
    store.save_execution(running, {}, {})
    assert not store.start_if_next(later, 1)  # not the oldest queued one
    assert wait_for_slot(store, queued, 1, threading.Event())
    assert store.find_execution(queued.id)["state"] == "RUNNING"  # type: ignore[index]


def test_task_process_groups_are_recorded_listed_and_forgotten(store: StateStore) -> None:
    store.record_process("e1", "tr", "t", 1, 4242)
    store.record_process("e2", "tr", "t", None, 4343)
    assert [r["pgid"] for r in store.process_rows()] == [4242, 4343]
    assert [r["pgid"] for r in store.process_rows("e2")] == [4343]
    store.forget_process(4242)
    assert [r["execution_id"] for r in store.process_rows()] == ["e2"]
    store.delete_processes([r["id"] for r in store.process_rows()])
    assert store.process_rows() == []


def test_revisions_number_sources_and_the_executions_that_ran_them(store: StateStore) -> None:
    old = _execution(store, source="v0")  # recorded before revisions existed
    assert store.record_revision("dev", "f", "v1") == 2  # v0 is numbered first
    assert store.record_revision("dev", "f", "v1") == 2
    assert store.find_revision("dev", "f", "v0") == 1 and store.find_revision("dev", "f", "v9") is None
    assert store.execution_revision(old.id) == 1
    newer = _execution(store, source="v1", flow_revision=2)
    assert store.executions_by_revision("dev", "f") == {1: [old.id], 2: [newer.id]}
    assert [(r.number, r.source) for r in store.list_revisions("dev", "f")] == [(1, "v0"), (2, "v1")]
    stored = store.get_revision("dev", "f", 2)
    assert stored is not None and stored.source == "v1" and store.get_revision("dev", "f", 3) is None
    late = _execution(store, source="v3")
    store.number_old_executions("dev", "f")
    assert store.find_execution(late.id)["flow_revision"] == 3  # type: ignore[index]


def test_trigger_state_ticks_disables_and_enables(store: StateStore) -> None:
    assert store.trigger_state(KEY) is None
    store.set_last_tick(KEY, "2024-01-01T00:00:00Z")
    store.disable_trigger(KEY, "stopAfter")
    row = store.trigger_state(KEY)
    assert row is not None and (row["last_tick"], row["disabled"], row["disabled_reason"]) == \
        ("2024-01-01T00:00:00Z", 1, "stopAfter")
    store.enable_trigger(KEY)
    assert store.trigger_state(KEY)["disabled"] == 0  # type: ignore[index]


def test_enqueue_due_moves_the_tick_and_claims_each_date_once(store: StateStore) -> None:
    seen: list[str | None] = []

    def plan(last: str | None) -> tuple[list[str], str | None]:
        seen.append(last)
        return ["2024-01-01T01:00:00Z", "2024-01-01T02:00:00Z"], "2024-01-01T02:00:00Z"

    assert store.enqueue_due(KEY, "f.yaml", plan) == 2
    assert store.enqueue_due(KEY, "f.yaml", plan) == 0  # already claimed
    assert seen == [None, "2024-01-01T02:00:00Z"]
    store.disable_trigger(KEY, "off")
    assert store.enqueue_due(KEY, "f.yaml", plan) == 0 and len(seen) == 2  # not even planned


def test_claims_are_taken_in_date_order_and_settled(store: StateStore) -> None:
    store.enqueue_due(KEY, "f.yaml", lambda last: (["2024-01-01T02:00:00Z", "2024-01-01T01:00:00Z"], None))
    first = store.take_next_claim()
    assert first is not None and (first.date, first.source, first.flow_path) == ("2024-01-01T01:00:00Z", "tick",
                                                                                "f.yaml")
    execution = _execution(store)
    store.link_claim(first, execution.id)
    assert first.execution_id == execution.id
    store.finish_claim(first)
    second = store.take_next_claim()
    assert second is not None and second.date == "2024-01-01T02:00:00Z"
    store.release_claim(second, requeue=True)
    again = store.take_next_claim()
    assert again is not None and again.id == second.id
    store.skip_claim(again)
    assert store.take_next_claim() is None
    statuses = store.date_statuses(KEY)
    assert statuses["2024-01-01T01:00:00Z"].execution_id == execution.id
    assert statuses["2024-01-01T01:00:00Z"].state == "SUCCESS"
    last = store.last_run(KEY)
    assert last is not None and (last["date"], last["execution_id"], last["state"]) == \
        ("2024-01-01T01:00:00Z", execution.id, "SUCCESS")


def test_a_date_claim_needs_the_expected_latest_execution(store: StateStore) -> None:
    date = "2024-02-01T00:00:00Z"
    assert store.take_date_claim(KEY, date, "someone", "backfill", "f.yaml") is None  # nothing ran yet
    claim = store.take_date_claim(KEY, date, None, "backfill", "f.yaml", "b1")
    assert claim is not None and claim.backfill_id == "b1"
    assert store.take_date_claim(KEY, date, None, "backfill", "f.yaml") is None  # held by this live process
    first = _execution(store)
    store.link_claim(claim, first.id)
    store.finish_claim(claim)
    again = store.take_date_claim(KEY, date, first.id, "backfill", "f.yaml", "b2")
    assert again is not None and again.previous_execution_id == first.id
    store.release_claim(again)  # given back: the first execution is the date's latest again
    assert store.date_statuses(KEY)[date].execution_id == first.id
    manual = _execution(store, state="FAILED")
    store.record_manual_claim(KEY, date, manual.id, "f.yaml")
    assert (store.date_statuses(KEY)[date].execution_id, store.date_statuses(KEY)[date].state) == \
        (manual.id, "FAILED")


def test_a_dead_claim_is_taken_over(store: StateStore) -> None:
    store.enqueue_due(KEY, "f.yaml", lambda last: (["2024-03-01T00:00:00Z"], None))
    claim = store.take_next_claim()
    assert claim is not None
    dead = _execution(store, state="RUNNING", ended=None)
    store.link_claim(claim, dead.id)
    store.mark_killed([dead.id], "2024-03-01T00:00:01.000000Z", "the flowrun process running it died", "x")
    taken = store.take_next_claim()
    assert taken is not None and taken.id == claim.id and taken.execution_id is None
    assert isinstance(taken, Claim)


def test_backfills_start_resume_finish_and_list(store: StateStore) -> None:
    backfill_id, resumed = store.start_backfill("dev", "f", ["hourly"], "2024-01-01", "2024-01-02", {"a": 1})
    assert not resumed
    store.finish_backfill(backfill_id, "INTERRUPTED", 4, 1, 0, 3)
    again, resumed = store.start_backfill("dev", "f", ["hourly"], "2024-01-01", "2024-01-02", {"a": 1})
    assert (again, resumed) == (backfill_id, True)
    other, resumed = store.start_backfill("dev", "f", ["hourly"], "2024-01-01", "2024-01-03", {"a": 1})
    assert other != backfill_id and not resumed
    store.finish_backfill(other, "SUCCESS", 2, 2, 0, 0)
    rows = store.backfill_rows(10)
    assert [r["id"] for r in rows] == [other, backfill_id]  # newest first
    done = next(r for r in rows if r["id"] == other)
    assert (done["state"], done["total"], done["triggers"], done["options"]) == ("SUCCESS", 2, ["hourly"], {"a": 1})
    assert len(store.backfill_rows(1)) == 1


def test_a_running_backfill_of_a_dead_process_is_resumed(store: StateStore) -> None:
    backfill_id, _ = store.start_backfill("dev", "f", ["h"], "a", "b", {})
    with store.write() as conn:
        conn.execute("UPDATE backfills SET pid = ? WHERE id = ?", (_dead_pid(), backfill_id))
    assert store.start_backfill("dev", "f", ["h"], "a", "b", {}) == (backfill_id, True)
    assert store.start_backfill("dev", "f", ["h"], "a", "b", {})[1] is False  # now owned by this live process


def test_a_running_backfill_of_another_host_is_resumed_only_when_its_heartbeat_is_stale(store: StateStore) -> None:
    """A shared state: the backfill's process ran on another machine, whose pids mean nothing here."""
    backfill_id, _ = store.start_backfill("dev", "f", ["h"], "a", "b", {})
    before = store.backfill_rows(1)[0]["heartbeat"]
    store.beat_backfill(backfill_id)
    assert store.backfill_rows(1)[0]["heartbeat"] >= before > time.time() - 60
    with store.write() as conn:  # type: ignore[attr-defined]
        conn.execute("UPDATE backfills SET host = 'another-machine', pid = 1, heartbeat = ? WHERE id = ?",
                     (time.time(), backfill_id))
    other, resumed = store.start_backfill("dev", "f", ["h"], "a", "b", {})
    assert other != backfill_id and not resumed  # the other machine's backfill still beats: leave it alone
    store.finish_backfill(other, "SUCCESS", 0, 0, 0, 0)
    with store.write() as conn:  # type: ignore[attr-defined]
        conn.execute("UPDATE backfills SET heartbeat = ? WHERE id = ?", (time.time() - 120, backfill_id))
    assert store.start_backfill("dev", "f", ["h"], "a", "b", {}) == (backfill_id, True)
    row = next(r for r in store.backfill_rows(10) if r["id"] == backfill_id)
    assert row["host"] != "another-machine" and row["heartbeat"] > time.time() - 60  # now owned here


def test_kv_rows_expire_and_purge(store: StateStore) -> None:
    now, later = "2024-01-01T00:00:00.000000Z", "2024-01-02T00:00:00.000000Z"
    assert store.kv_put("ns", "a", "STRING", '"x"', False, None, now)
    assert store.kv_put("ns", "b", "NUMBER", "1", True, "2024-01-01T12:00:00.000000Z", now)
    assert not store.kv_put("ns", "a", "STRING", '"y"', False, None, now, overwrite=False)
    assert store.kv_row("ns", "a")["value"] == '"x"'  # type: ignore[index]
    assert [r["key"] for r in store.kv_rows("ns", now)] == ["a", "b"]
    assert [r["key"] for r in store.kv_rows("ns", later)] == ["a"]
    assert store.kv_row("ns", "b")["secret"] == 1  # type: ignore[index]  # read as it is, expired or not
    assert store.kv_put("ns", "b", "STRING", '"z"', False, None, later, overwrite=False)  # expired: absent
    store.kv_put("other", "c", "STRING", '"c"', False, "2024-01-01T01:00:00.000000Z", now)
    assert store.kv_namespaces() == ["ns", "other"]
    store.kv_delete_expired("other", "c", "2024-01-01T09:00:00.000000Z")  # not its expiry: kept
    assert store.kv_row("other", "c") is not None
    assert store.kv_purge_expired(later, "ns") == 0 and store.kv_purge_expired(later) == 1
    assert store.kv_delete("ns", "a", later) and not store.kv_delete("ns", "a", later)
    store.kv_put("ns", "keep", "STRING", '"k"', False, None, now)
    store.kv_put("ns", "drop", "STRING", '"d"', False, None, now)
    assert store.kv_purge("ns", later, False, lambda key: key == "drop") == 1
    assert [r["key"] for r in store.kv_rows("ns", later)] == ["b", "keep"]


def test_the_secret_key_ledger(store: StateStore) -> None:
    assert store.recorded_fingerprint() is None
    assert store.record_first_fingerprint("first") == "first"
    assert store.record_first_fingerprint("second") == "first"  # another machine's key does not replace it
    store.record_fingerprint("abc")
    assert store.recorded_fingerprint() == "abc"
    store.kv_put("ns", "s", "STRING", "flowrun:enc:v1:AAAA", True, None, "2024-01-01T00:00:00.000000Z")
    running = _execution(store, state="RUNNING", ended=None)
    assert store.encrypted_values() == 1 and store.encrypted_tokens() == ["flowrun:enc:v1:AAAA"]
    assert store.reencrypt(lambda token: token.replace("AAAA", "BBBB"), "def") == 1
    assert store.recorded_fingerprint() == "def" and store.encrypted_tokens() == ["flowrun:enc:v1:BBBB"]
    assert store.active_execution_ids() == [running.id]


def test_purge_selects_finished_executions_and_deletes_their_rows(store: StateStore) -> None:
    old = _execution(store, ended="2024-01-02")
    store.insert_task_run(TaskRun(id=new_id(), execution_id=old.id, task_id="t", task_type="x", seq=0,
                                  outputs={"o": 1}), {"o": 1})
    store.add_log(old.id, None, None, None, "INFO", "2024-01-02T00:00:00.000000Z", "l")
    store.add_metric(old.id, "tr", "m", "counter", 1.0, {})
    running = _execution(store, state="RUNNING", ended=None)
    selection = store.select_executions(ExecutionFilter(ended_before="2024-12-31"))
    assert [e["id"] for e in selection.purgeable] == [old.id]
    assert [e["id"] for e in selection.unfinished] == [running.id]
    assert store.select_executions(ExecutionFilter(keep_last=2)).purgeable == []
    deleted = store.delete_executions([old.id, running.id])
    assert (deleted.ids, deleted.executions, deleted.task_outputs, deleted.logs, deleted.metrics) == \
        ([old.id], 1, 1, 1, 1)
    assert store.find_execution(old.id) is None and store.find_execution(running.id) is not None
    store.add_log(running.id, None, None, None, "INFO", "2024-01-02T00:00:00.000000Z", "kept")
    store.add_log("gone", None, None, None, "DEBUG", "2024-01-02T00:00:00.000000Z", "x")
    assert store.delete_logs(LogFilter(end=(datetime(2024, 1, 3) + timedelta(days=1)).isoformat())) == 1
    assert [r["message"] for r in store.log_rows(running.id)] == ["kept"]


def test_location_names_the_state(store: StateStore, tmp_path: Path) -> None:
    if isinstance(store, PostgresStore):
        assert store.location.startswith("postgresql://") and store.location.endswith(store.url.rsplit("/", 1)[1])
    else:
        assert str(tmp_path) in store.location


def test_log_search_reads_one_executions_lines_by_level_and_task(store: StateStore) -> None:
    execution = _execution(store)
    for task_id, level, message in (("a", "DEBUG", "1"), ("b", "INFO", "2"), ("a", "ERROR", "3")):
        store.add_log(execution.id, None, task_id, 1, level, "2024-01-01T00:00:00.000000Z", message)
    assert store.execution_exists("dev", "f", execution.id) and not store.execution_exists("dev", "g", execution.id)
    assert [r["message"] for r in store.find_logs("dev", "f", execution.id, "INFO")] == ["2", "3"]
    assert [r["message"] for r in store.find_logs("dev", "f", execution.id, "nope")] == ["1", "2", "3"]
    assert [r["message"] for r in store.find_logs("dev", "f", execution.id, "TRACE", ["b", "a"])] == ["2", "1", "3"]
    assert store.find_logs("dev", "g", execution.id, "TRACE") == []


def test_task_state_documents_are_updated_in_one_transaction(store: StateStore) -> None:
    scope, other = StateScope("dev", "f", "default"), StateScope("dev", "f", "default", "v1")
    assert store.read_task_state(scope) is None
    seen: list[StoredState | None] = []

    def change(current: StoredState | None) -> StoredState:
        seen.append(current)
        return StoredState(f'{{"n":{len(seen)}}}')

    store.update_task_state(scope, change)
    assert store.update_task_state(scope, change) == StoredState('{"n":2}')
    assert seen == [None, StoredState('{"n":1}')]
    store.update_task_state(other, lambda current: StoredState("enc", True))
    assert store.read_task_state(other) == StoredState("enc", True)
    assert store.delete_task_state(scope) and not store.delete_task_state(scope)
    assert store.read_task_state(other) is not None


def test_threads_share_a_store_and_read_modify_writes_lose_nothing(store: StateStore) -> None:
    scope = StateScope("dev", "f", "counter")

    def bump(current: StoredState | None) -> StoredState:
        count = int(current.data) if current is not None else 0
        return StoredState(str(count + 1))

    def work(n: int) -> None:
        for i in range(15):
            store.update_task_state(scope, bump)
            store.add_log("threads", None, f"t{n}", None, "INFO", "2024-01-01T00:00:00.000000Z", str(i))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.read_task_state(scope) == StoredState("120")
    assert len(store.log_rows("threads")) == 120


def test_an_execution_of_another_host_is_reaped_only_when_its_heartbeat_is_stale(store: StateStore) -> None:
    fresh = _execution(store, state="RUNNING", ended=None)
    stale = _execution(store, state="RUNNING", ended=None)
    with store.write() as conn:  # type: ignore[attr-defined]
        conn.execute("UPDATE executions SET host = 'another-machine', pid = 1, heartbeat = ? WHERE id = ?",
                     (time.time(), fresh.id))
        conn.execute("UPDATE executions SET host = 'another-machine', pid = 1, heartbeat = ? WHERE id = ?",
                     (time.time() - 120, stale.id))
    assert reap_dead(store) == [stale.id]
    assert find_execution_row(store, stale.id)["state"] == "KILLED"
    assert find_execution_row(store, fresh.id)["state"] == "RUNNING"


def test_a_postgres_database_with_a_locale_orders_like_sqlite(pg_server: PgServer) -> None:
    name = f"flowrun_test_icu_{uuid.uuid4().hex[:10]}"
    with pg_server.connect() as conn:  # ICU's en-US sorts `a` before `B` and ignores punctuation first
        conn.execute(f"CREATE DATABASE \"{name}\" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' "
                     "LOCALE 'C.UTF-8'")
    try:
        store = PostgresStore(f"postgresql://{pg_server.user}@{pg_server.host}:{pg_server.port}/{name}")
        try:
            now = "2024-01-01T00:00:00.000000Z"
            for key in ("a", "B", "_x", "Z-1"):
                store.kv_put("ns", key, "STRING", '"v"', False, None, now)
            assert [r["key"] for r in store.kv_rows("ns", now)] == sorted(["a", "B", "_x", "Z-1"])
            store.enqueue_due(KEY, "f.yaml", lambda last: (["2024-01-01T00:00:00Z", "2024-01-01T00:00:00.5Z"], None))
            claim = store.take_next_claim()
            assert claim is not None and claim.date == "2024-01-01T00:00:00.5Z"  # byte order, as on SQLite
        finally:
            store.close()
    finally:
        with pg_server.connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
