"""Per-trigger scheduler state read through the state store, and stopAfter disabling a trigger."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flowrun.state.protocol import StateStore

if TYPE_CHECKING:
    from flowrun.state.records import Key, Row


def read(db: StateStore, key: Key) -> Row | None:
    return db.trigger_state(key)


def is_disabled(db: StateStore, key: Key) -> bool:
    row = db.trigger_state(key)
    return bool(row and row["disabled"])


def apply_stop_after(db: StateStore, key: Key, stop_after: list[str] | None, state: str, execution_id: str) -> bool:
    """Disable the trigger when its execution ended in one of `stopAfter`'s states. True when it did."""
    if not stop_after or state not in {s.upper() for s in stop_after}:
        return False
    db.disable_trigger(key, f"stopAfter: execution {execution_id} ended {state}")
    return True


def describe(row: Any) -> dict[str, Any]:
    return {"lastTick": row["last_tick"], "disabled": bool(row["disabled"]), "reason": row["disabled_reason"]}
