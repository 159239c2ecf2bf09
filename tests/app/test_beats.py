"""A worker's one heartbeat thread (flowrun/app/beats.py): it beats each running attempt, and stops the attempts
their orchestrator settled or whose execution ended."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from flowrun.app.beats import Beats
from flowrun.model.execution import Execution, new_id
from flowrun.state.db import Database


def _running(db: Database) -> Execution:
    execution = Execution(id=new_id(), namespace="dev", flow_id="f", state="RUNNING")
    db.save_execution(execution, {}, {})
    return execution


def _heartbeat(db: Database, task_run_id: str) -> float:
    return float(db.attempt_claim(task_run_id, 1)["heartbeat"])  # type: ignore[index]


def test_one_thread_beats_every_running_attempt_and_stops_a_settled_one(tmp_path: Path) -> None:
    db = Database(tmp_path / "state.db")
    execution = _running(db)
    beats = Beats(db, "w1", 0.05)
    assert db.claim_attempt(execution.id, "tr1", 1, "w1") and db.claim_attempt(execution.id, "tr2", 1, "w1")
    claimed = _heartbeat(db, "tr1"), _heartbeat(db, "tr2")
    with beats.beating(execution.id, "tr1", 1) as first, beats.beating(execution.id, "tr2", 1) as second:
        first.cancel, second.cancel = threading.Event(), threading.Event()
        deadline = time.monotonic() + 10
        while (_heartbeat(db, "tr1"), _heartbeat(db, "tr2")) <= claimed and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _heartbeat(db, "tr1") > claimed[0] and _heartbeat(db, "tr2") > claimed[1]
        assert db.settle_attempt(execution.id, "tr1", 1, "lost")
        assert first.cancel.wait(10)
        assert not second.cancel.is_set()


def test_an_attempt_of_an_ended_execution_is_stopped(tmp_path: Path) -> None:
    db = Database(tmp_path / "state.db")
    execution = _running(db)
    beats = Beats(db, "w1", 0.05)
    assert db.claim_attempt(execution.id, "tr1", 1, "w1")
    with beats.beating(execution.id, "tr1", 1) as beat:
        beat.cancel = threading.Event()
        execution.state = "KILLED"
        db.save_execution(execution, {}, {})
        assert beat.cancel.wait(10)
