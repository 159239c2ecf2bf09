"""One Postgres pool per process and URL, never left for the garbage collector to close in one of its own threads."""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap

from pg_fixture import PgDatabase

from flowrun.state.postgres import PostgresStore, close_stores


def test_a_process_shares_one_store_per_url_and_its_close_keeps_it_open(pg_db: PgDatabase) -> None:
    first = PostgresStore.for_process(pg_db.url)
    assert PostgresStore.for_process(pg_db.url) is first
    first.close()  # the protocol's release of a thread's connection: other users of the process still need it
    assert first.query_one("SELECT 1 AS one")["one"] == 1
    close_stores(pg_db.url)
    fresh = PostgresStore.for_process(pg_db.url)
    assert fresh is not first and fresh.query_one("SELECT 2 AS two")["two"] == 2
    close_stores(pg_db.url)


def test_a_forgotten_store_stays_open_until_exit_instead_of_being_collected(pg_db: PgDatabase) -> None:
    store = PostgresStore(pg_db.url)
    pool = store._pool
    del store
    gc.collect()
    assert not pool.closed  # still referenced: the collector cannot run its __del__ in a pool thread
    close_stores(pg_db.url)
    assert pool.closed


def test_a_process_that_forgets_its_stores_exits_without_a_traceback(pg_db: PgDatabase) -> None:
    """The CI failure this guards against: a dropped store's pool, collected in one of its own worker threads,
    printed "Exception ignored in ConnectionPool.__del__ ... cannot join current thread" to stderr."""
    script = textwrap.dedent(f"""
        import gc, threading
        from flowrun.state.postgres import PostgresStore
        for _ in range(20):
            store = PostgresStore({pg_db.url!r})
            store.query_one("SELECT 1")
            del store
        done = threading.Event()
        def collect():
            gc.collect()
            done.set()
        threading.Thread(target=collect).start()
        done.wait()
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "Exception ignored" not in result.stderr, result.stderr
