"""Benchmarks of the Postgres tasks: CopyIn vs `psql \\copy`, and the whole zoomcamp 04 flow vs a shell script."""

from __future__ import annotations

import functools
import gzip
import http.server
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flowrun.app.run import RunOptions, run_flow

PGHOST = os.environ.get("FLOWRUN_BENCH_PGHOST", "127.0.0.1")
PGPORT = os.environ.get("FLOWRUN_BENCH_PGPORT", "5432")
PGUSER = os.environ.get("FLOWRUN_BENCH_PGUSER", "postgres")
FLOW_04 = Path(__file__).resolve().parents[2] / "shared" / "compat" / "zoomcamp" / "current" / "04_postgres_taxi.yaml"
DATA_DIR = Path(os.environ.get("FLOWRUN_BENCH_DATA", Path(tempfile.gettempdir()) / "flowrun-bench-data"))


def _taxi_data() -> Any:
    """tests/taxi_data.py, the one generator of synthetic taxi files."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    try:
        import taxi_data
    finally:
        sys.path.pop(0)
    return taxi_data


def yellow_csv(rows: int) -> Path:
    """A cached yellow-taxi CSV of `rows` rows (1M rows is about 92 MB)."""
    path = DATA_DIR / f"yellow_tripdata_2019-01_{rows}.csv"
    if not path.exists():
        tmp = path.with_suffix(".part")
        _taxi_data().write_csv(tmp, "yellow", 2019, 1, rows)
        tmp.rename(path)
    return path


def _psql(db: str, *args: str) -> None:
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", PGHOST, "-p", PGPORT, "-U", PGUSER, "-d", db,
                    *args], check=True, capture_output=True)


@contextmanager
def _database() -> Iterator[str]:
    name = f"flowrun_bench_{uuid.uuid4().hex[:8]}"
    _psql("postgres", "-c", f"CREATE DATABASE {name}")
    try:
        yield name
    finally:
        _psql("postgres", "-c", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextmanager
def _http(root: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server API
        pass


def _interleave(runs: int, ours: Callable[[], float], base: Callable[[], float]) -> dict[str, Any]:
    mine, theirs = [], []
    for _ in range(runs):
        mine.append(ours())
        theirs.append(base())
    m, b = statistics.median(mine), statistics.median(theirs)
    return {"runs": runs, "flowrun_s": [round(x, 4) for x in mine], "baseline_s": [round(x, 4) for x in theirs],
            "flowrun_median_s": round(m, 4), "baseline_median_s": round(b, 4), "span": round(m, 4),
            "ratio": round(m / b, 3) if b else None}


def _project(work: Path, db: str, flow_text: str, name: str) -> Path:
    (work / "flows").mkdir(parents=True, exist_ok=True)
    (work / "flowrun.yaml").write_text(
        "pluginDefaults:\n  - type: io.kestra.plugin.jdbc.postgresql\n    forced: true\n    values:\n"
        f"      url: jdbc:postgresql://{PGHOST}:{PGPORT}/{db}\n      username: {PGUSER}\n")
    flow = work / "flows" / f"{name}.yaml"
    flow.write_text(flow_text)
    return flow


def _task_seconds(execution: Any, task_id: str) -> float:
    if execution.state != "SUCCESS":
        raise RuntimeError(f"benchmark flow ended {execution.state}")
    attempt = next(tr for tr in execution.task_runs if tr.task_id == task_id).attempts[-1]
    return float((attempt.end_date - attempt.start_date).total_seconds())


def _execution_seconds(execution: Any) -> float:
    if execution.state != "SUCCESS":
        raise RuntimeError(f"benchmark flow ended {execution.state}")
    return float((execution.end_date - execution.start_date).total_seconds())


STAGING = """CREATE TABLE IF NOT EXISTS public.yellow_tripdata_staging (
    unique_row_id text, filename text, VendorID text, tpep_pickup_datetime timestamp,
    tpep_dropoff_datetime timestamp, passenger_count integer, trip_distance double precision, RatecodeID text,
    store_and_fwd_flag text, PULocationID text, DOLocationID text, payment_type integer,
    fare_amount double precision, extra double precision, mta_tax double precision, tip_amount double precision,
    tolls_amount double precision, improvement_surcharge double precision, total_amount double precision,
    congestion_surcharge double precision)"""
COLUMNS = ("VendorID,tpep_pickup_datetime,tpep_dropoff_datetime,passenger_count,trip_distance,RatecodeID,"
           "store_and_fwd_flag,PULocationID,DOLocationID,payment_type,fare_amount,extra,mta_tax,tip_amount,"
           "tolls_amount,improvement_surcharge,total_amount,congestion_surcharge")
COPY_FLOW = f"""id: copy_in
namespace: bench
inputs:
  - id: data
    type: FILE
tasks:
  - id: copy
    type: io.kestra.plugin.jdbc.postgresql.CopyIn
    format: CSV
    header: true
    from: "{{{{ inputs.data }}}}"
    table: public.yellow_tripdata_staging
    columns: [{COLUMNS}]
"""


def bench_copy_in(tiny: bool = False) -> dict[str, Any]:
    """CopyIn of a 1M-row yellow CSV (the task attempt) vs `psql -c "\\copy … csv header"` of the same file."""
    rows = 20_000 if tiny else 1_000_000
    csv_path = yellow_csv(rows)
    work = Path(tempfile.mkdtemp(prefix="bench-copy-"))
    try:
        with _database() as db:
            _psql(db, "-c", STAGING)
            flow = _project(work, db, COPY_FLOW, "copy_in")

            def ours() -> float:
                _psql(db, "-c", "TRUNCATE public.yellow_tripdata_staging")
                execution = run_flow(flow, RunOptions(inputs={"data": str(csv_path)}))
                copied = next(tr for tr in execution.task_runs if tr.task_id == "copy").outputs
                if copied != {"rowCount": rows}:
                    raise RuntimeError(f"CopyIn loaded {copied}, expected {rows} rows")
                return _task_seconds(execution, "copy")

            def baseline() -> float:
                _psql(db, "-c", "TRUNCATE public.yellow_tripdata_staging")
                start = time.perf_counter()
                _psql(db, "-c", f"\\copy public.yellow_tripdata_staging ({COLUMNS}) from '{csv_path}' csv header")
                return time.perf_counter() - start

            result = _interleave(1 if tiny else 3, ours, baseline)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    size_mb = csv_path.stat().st_size / 2**20
    return {"name": f"CopyIn of a {rows:,}-row yellow-taxi CSV ({size_mb:.0f} MB)",
            "command": "flowrun run flows/copy_in.yaml (postgresql.CopyIn, format CSV, header true)",
            "timed": "the CopyIn task attempt (from the execution record)",
            "baseline": 'psql -c "\\copy public.yellow_tripdata_staging (…) from FILE csv header"',
            "goal": "throughput >= 0.9x psql (time ratio <= 1.11)", "goal_ratio": round(1 / 0.9, 3),
            "throughput_ratio": round(1 / result["ratio"], 3) if result["ratio"] else None, **result}


def _shell_script(flow_text: str, url: str, work: Path, db: str) -> Path:
    """The 04 flow's yellow steps as a shell script: curl | gunzip, then the flow's own SQL through psql."""
    import yaml

    flow = yaml.safe_load(flow_text)
    steps = {t["id"]: t for t in next(t for t in flow["tasks"] if t["id"] == "if_yellow_taxi")["then"]}
    render = {"{{render(vars.table)}}": "public.yellow_tripdata", "{{render(vars.staging_table)}}":
              "public.yellow_tripdata_staging", "{{render(vars.file)}}": "yellow_tripdata_2019-01.csv"}

    def sql(task_id: str) -> str:
        text = steps[task_id]["sql"]
        for k, v in render.items():
            text = text.replace(k, v)
        return text

    copy = steps["yellow_copy_in_to_staging_table"]
    script = work / "load.sql"
    script.write_text("\n".join([
        sql("yellow_create_table"), sql("yellow_create_staging_table"), sql("yellow_truncate_staging_table"),
        f"\\copy public.yellow_tripdata_staging ({','.join(copy['columns'])}) from "
        f"'{work}/yellow_tripdata_2019-01.csv' csv header",
        sql("yellow_add_unique_id_and_filename"), sql("yellow_merge_data")]))
    shell = work / "load.sh"
    shell.write_text(f"set -e\ncurl -sf {url} | gunzip > {work}/yellow_tripdata_2019-01.csv\n"
                     f"psql -X -q -v ON_ERROR_STOP=1 -h {PGHOST} -p {PGPORT} -U {PGUSER} -d {db} -f {script}\n"
                     f"rm -f {work}/yellow_tripdata_2019-01.csv\n")
    return shell


def bench_flow_04(tiny: bool = False) -> dict[str, Any]:
    """The whole 04_postgres_taxi flow on one month vs the same steps in a shell script (curl|gunzip, psql)."""
    rows = 20_000 if tiny else 1_000_000
    work = Path(tempfile.mkdtemp(prefix="bench-04-"))
    try:
        served = work / "srv" / "DataTalksClub" / "nyc-tlc-data" / "releases" / "download" / "yellow"
        served.mkdir(parents=True)
        with open(yellow_csv(rows), "rb") as src, gzip.open(served / "yellow_tripdata_2019-01.csv.gz", "wb", 1) as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        with _http(work / "srv") as base, _database() as db:
            text = FLOW_04.read_text().replace("https://github.com/", base + "/")
            flow = _project(work / "project", db, text, "04_postgres_taxi")
            url = f"{base}/DataTalksClub/nyc-tlc-data/releases/download/yellow/yellow_tripdata_2019-01.csv.gz"
            shell = _shell_script(text, url, work, db)
            drop = "DROP TABLE IF EXISTS public.yellow_tripdata, public.yellow_tripdata_staging"

            def ours() -> float:
                _psql(db, "-c", drop)
                return _execution_seconds(run_flow(flow, RunOptions(inputs={"taxi": "yellow"})))

            def baseline() -> float:
                _psql(db, "-c", drop)
                start = time.perf_counter()
                subprocess.run(["bash", str(shell)], check=True, capture_output=True)
                return time.perf_counter() - start

            def checked_ours() -> float:
                seconds = ours()
                count = subprocess.run(["psql", "-X", "-tA", "-h", PGHOST, "-p", PGPORT, "-U", PGUSER, "-d", db, "-c",
                                        "SELECT count(*) FROM public.yellow_tripdata"], capture_output=True, text=True)
                if count.stdout.strip() != str(rows):
                    raise RuntimeError(f"the flow loaded {count.stdout.strip()} rows, expected {rows}")
                return seconds

            result = _interleave(1 if tiny else 3, checked_ours, baseline)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"name": f"zoomcamp 04_postgres_taxi, yellow 2019-01 ({rows:,} rows), tables dropped before each run",
            "command": "flowrun run flows/04_postgres_taxi.yaml --input taxi=yellow (forced pluginDefaults)",
            "timed": "the execution span (execution start to end, from the execution record)",
            "baseline": "bash: curl | gunzip > file, then the flow's SQL (create, truncate, \\copy, UPDATE, MERGE) via psql",
            "goal": "<= 1.1x", "goal_ratio": 1.1, **result}


BENCHMARKS = [bench_copy_in, bench_flow_04]


def run_all(tiny: bool = False) -> list[dict[str, Any]]:
    return [bench(tiny) for bench in BENCHMARKS]


if __name__ == "__main__":  # pragma: no cover - manual use: python -m bench.bench_jdbc [--tiny]
    import json

    for row in run_all("--tiny" in sys.argv):
        print(json.dumps({k: v for k, v in row.items() if not isinstance(v, list)}, indent=2))
