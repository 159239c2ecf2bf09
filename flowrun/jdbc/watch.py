"""Interrupt a running database call when the task's cancel event is set."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def interrupt_on(cancel: threading.Event, interrupt: Callable[[], None]) -> Iterator[None]:
    """Run the block; if `cancel` is set meanwhile, call `interrupt` once (from a watcher thread)."""
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            if cancel.wait(0.1):
                if not done.is_set():
                    try:
                        interrupt()
                    except Exception:  # noqa: BLE001 - best effort
                        pass
                return

    thread = threading.Thread(target=watch, name="sql-cancel-watch", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
