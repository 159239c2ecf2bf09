"""The StateStore contract of the Celery executor's claims (flowrun/state/dispatch.py), on SQLite and Postgres:
an attempt is claimed once, a lost or cancelled one can record no result, a handed-over execution is taken once."""

from __future__ import annotations

import threading
import time

from test_state_store import _execution, store  # noqa: F401 - the contract's backends and their fixture

from flowrun.state.liveness import ENQUEUED_HOST
from flowrun.state.protocol import StateStore
from flowrun.state.store import reap_dead


def test_an_attempt_is_claimed_once_even_by_racing_workers(store: StateStore) -> None:  # noqa: F811
    execution = _execution(store, state="RUNNING", ended=None)
    won: list[str] = []
    barrier = threading.Barrier(6)

    def claim(name: str) -> None:
        barrier.wait()
        if store.claim_attempt(execution.id, "tr1", 1, name):
            won.append(name)

    threads = [threading.Thread(target=claim, args=(f"w{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1
    row = store.attempt_claim("tr1", 1)
    assert row is not None and row["status"] == "running" and row["worker"] == won[0]
    assert store.claim_attempt(execution.id, "tr1", 2, "w9")  # the next attempt is a claim of its own


def test_a_result_is_recorded_once_and_only_by_its_worker(store: StateStore) -> None:  # noqa: F811
    execution = _execution(store, state="RUNNING", ended=None)
    assert store.claim_attempt(execution.id, "tr1", 1, "w1")
    assert store.beat_attempt("tr1", 1, "w1") == "running"
    assert not store.finish_attempt("tr1", 1, "w2", '{"state": "SUCCESS"}')
    assert store.finish_attempt("tr1", 1, "w1", '{"state": "SUCCESS"}')
    assert not store.finish_attempt("tr1", 1, "w1", '{"state": "FAILED"}')
    row = store.attempt_claim("tr1", 1)
    assert row is not None and row["status"] == "done" and row["result"] == '{"state": "SUCCESS"}'
    assert not store.settle_attempt(execution.id, "tr1", 1, "lost")  # a finished attempt stays finished


def test_a_lost_attempt_is_settled_by_its_heartbeat_and_its_late_result_refused(store: StateStore) -> None:  # noqa: F811
    execution = _execution(store, state="RUNNING", ended=None)
    assert store.claim_attempt(execution.id, "tr1", 1, "w1")
    assert not store.settle_attempt(execution.id, "tr1", 1, "lost", stale_before=time.time() - 60)  # it beats
    assert store.settle_attempt(execution.id, "tr1", 1, "lost", stale_before=time.time() + 1)
    assert store.beat_attempt("tr1", 1, "w1") == "lost"  # the worker learns it and stops the attempt
    assert not store.finish_attempt("tr1", 1, "w1", '{"state": "SUCCESS"}')
    assert store.attempt_claim("tr1", 1)["status"] == "lost"  # type: ignore[index]


def test_an_attempt_cancelled_before_any_worker_took_it_is_never_run(store: StateStore) -> None:  # noqa: F811
    execution = _execution(store, state="RUNNING", ended=None)
    assert store.attempt_claim("tr1", 1) is None
    assert store.settle_attempt(execution.id, "tr1", 1, "cancelled")
    assert not store.claim_attempt(execution.id, "tr1", 1, "w1")


def test_a_handed_over_execution_is_left_alone_by_the_reaper_and_taken_once(store: StateStore) -> None:  # noqa: F811
    execution = _execution(store, state="CREATED", ended=None)
    store.hand_over_execution(execution.id)
    assert store.find_execution(execution.id)["host"] == ENQUEUED_HOST  # type: ignore[index]
    assert reap_dead(store) == []
    assert store.take_execution(execution.id)
    assert not store.take_execution(execution.id)
    other = _execution(store, state="CREATED", ended=None)
    assert not store.take_execution(other.id)  # never handed over: its own process runs it


def test_an_execution_no_worker_took_can_be_withdrawn_but_not_a_taken_one(store: StateStore) -> None:  # noqa: F811
    waiting = _execution(store, state="CREATED", ended=None)
    store.hand_over_execution(waiting.id)
    assert store.withdraw_execution(waiting.id, "2024-01-02T00:00:00.000000Z", "withdrawn")
    row = store.find_execution(waiting.id)
    assert row is not None and (row["state"], row["error"]) == ("KILLED", "withdrawn")
    assert not store.take_execution(waiting.id)
    taken = _execution(store, state="CREATED", ended=None)
    store.hand_over_execution(taken.id)
    assert store.take_execution(taken.id)
    assert not store.withdraw_execution(taken.id, "2024-01-02T00:00:00.000000Z", "withdrawn")


def test_a_recorded_result_wakes_the_thread_waiting_for_that_attempt_where_the_store_notifies(
        store: StateStore) -> None:  # noqa: F811
    execution = _execution(store, state="RUNNING", ended=None)
    with store.attempt_waiting("tr1", 1) as recorded, store.attempt_waiting("tr1", 2) as other:
        if not store.shared:  # SQLite notifies nobody: its waiters poll the row
            assert recorded is None and other is None
            return
        assert recorded is not None and other is not None
        assert store.claim_attempt(execution.id, "tr1", 1, "w1")
        store.beat_attempt("tr1", 1, "w1")
        assert not recorded.wait(0.2)  # a claim or a beat is no result
        finished = threading.Timer(0.1, store.finish_attempt, ("tr1", 1, "w1", '{"state": "SUCCESS"}'))
        finished.start()
        started = time.monotonic()
        assert recorded.wait(10)
        assert time.monotonic() - started < 5
        finished.join()
        assert recorded.row == {"status": "done", "worker": "w1", "result": '{"state": "SUCCESS"}'}
        assert not other.wait(0)  # the other attempt's waiter still waits
        assert store.attempt_claim("tr1", 1)["status"] == "done"  # type: ignore[index]


def test_a_result_too_long_for_a_notification_is_announced_and_read_from_its_row(
        store: StateStore) -> None:  # noqa: F811
    execution = _execution(store, state="RUNNING", ended=None)
    long = '{"state": "SUCCESS", "outputs": {"text": "' + "é" * 5000 + '"}}'
    with store.attempt_waiting("tr1", 1) as recorded:
        assert store.claim_attempt(execution.id, "tr1", 1, "w1")
        assert store.finish_attempt("tr1", 1, "w1", long)
        if recorded is not None:  # Postgres: the payload holds the key only
            assert recorded.wait(10) and recorded.row is None
    assert store.attempt_claim("tr1", 1)["result"] == long  # type: ignore[index]


def test_a_session_keeps_one_connection_and_its_writes_commit_as_they_go(store: StateStore) -> None:  # noqa: F811
    execution = _execution(store, state="RUNNING", ended=None)
    pid = "SELECT pg_backend_pid()" if store.shared else "SELECT 1"
    with store.session():
        assert store.claim_attempt(execution.id, "tr1", 1, "w1")
        inside = {store.query_one(pid)[0] for _ in range(20)}  # type: ignore[index]
        with store.write() as conn:  # a transaction inside the session, on its connection
            conn.execute("UPDATE attempt_claims SET worker = 'w2' WHERE task_run_id = 'tr1'")
        seen = {}
        reader = threading.Thread(target=lambda: seen.update(store.attempt_claim("tr1", 1) or {}))
        reader.start()
        reader.join()
        assert seen["worker"] == "w2"  # committed, visible to another thread while the session lasts
    assert len(inside) == 1
    assert store.attempt_claim("tr1", 1)["status"] == "running"  # type: ignore[index]


def test_waiters_are_notified_again_once_the_listening_connection_was_cut(store: StateStore) -> None:  # noqa: F811
    execution = _execution(store, state="RUNNING", ended=None)
    with store.attempt_waiting("tr1", 1) as first:
        if first is None:  # SQLite notifies nobody
            assert not store.shared
            return
        with store.write() as conn:  # the server drops the listening connection (a restart, an admin)
            cut = conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN%' "
                               "AND datname = current_database()").fetchall()
        assert [tuple(row) for row in cut] == [(True,)]
    for attempt in range(2, 12):  # the first waits may still find the cut connection: each polls its 1 s
        with store.attempt_waiting("tr1", attempt) as later:
            assert later is not None and store.claim_attempt(execution.id, "tr1", attempt, "w1")
            assert store.finish_attempt("tr1", attempt, "w1", '{"state": "SUCCESS"}')
            if later.wait(1):
                break
    else:
        raise AssertionError("no notification after the listening connection was cut")
    assert later.row is not None and later.row["worker"] == "w1"
