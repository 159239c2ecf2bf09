"""Synthetic NYC taxi trip CSVs with the real yellow/green column layout: deterministic, any size, optionally gzipped."""

from __future__ import annotations

import datetime as dt
import gzip
import random
from collections.abc import Iterator
from pathlib import Path

YELLOW = [
    "VendorID", "tpep_pickup_datetime", "tpep_dropoff_datetime", "passenger_count", "trip_distance", "RatecodeID",
    "store_and_fwd_flag", "PULocationID", "DOLocationID", "payment_type", "fare_amount", "extra", "mta_tax",
    "tip_amount", "tolls_amount", "improvement_surcharge", "total_amount", "congestion_surcharge",
]
GREEN = [
    "VendorID", "lpep_pickup_datetime", "lpep_dropoff_datetime", "store_and_fwd_flag", "RatecodeID", "PULocationID",
    "DOLocationID", "passenger_count", "trip_distance", "fare_amount", "extra", "mta_tax", "tip_amount",
    "tolls_amount", "ehail_fee", "improvement_surcharge", "total_amount", "payment_type", "trip_type",
    "congestion_surcharge",
]


def columns(taxi: str) -> list[str]:
    return {"yellow": YELLOW, "green": GREEN}[taxi]


def file_name(taxi: str, year: int | str, month: int | str) -> str:
    """`yellow_tripdata_2019-01.csv`, as the releases name them (the served file adds `.gz`)."""
    return f"{taxi}_tripdata_{year}-{int(month):02d}.csv"


def url_path(taxi: str, year: int | str, month: int | str) -> str:
    """The path the zoomcamp flows download: `/<taxi>/<taxi>_tripdata_<yyyy>-<MM>.csv.gz`."""
    return f"/{taxi}/{file_name(taxi, year, month)}.gz"


def rows(taxi: str, year: int, month: int, n: int, seed: int = 0) -> Iterator[str]:
    """`n` CSV data lines (no header). Every row is distinct on the columns the flows hash into unique_row_id."""
    rng = random.Random(f"{taxi}-{year}-{month}-{seed}")
    start = dt.datetime(int(year), int(month), 1)
    step = max(1, int(28 * 86400 / max(n, 1)))
    for i in range(n):
        pickup = start + dt.timedelta(seconds=i * step + rng.randrange(step) if step > 1 else i)
        minutes = rng.randint(2, 45)
        dropoff = pickup + dt.timedelta(minutes=minutes, seconds=rng.randrange(60))
        vendor = 1 + (i & 1)
        passengers = "" if i % 97 == 0 else str(rng.randint(1, 6))
        distance = f"{minutes * 0.23 + rng.random():.2f}"
        fare = f"{2.5 + minutes * 0.75:.2f}"
        tip = f"{rng.random() * 4:.2f}"
        total = f"{float(fare) + float(tip) + 1.3:.2f}"
        pu, do = rng.randint(1, 265), rng.randint(1, 265)
        congestion = "" if i % 13 == 0 else "2.5"
        if taxi == "yellow":
            yield (f"{vendor},{pickup:%Y-%m-%d %H:%M:%S},{dropoff:%Y-%m-%d %H:%M:%S},{passengers},{distance},1,N,"
                   f"{pu},{do},{rng.randint(1, 4)},{fare},0.5,0.5,{tip},0,0.3,{total},{congestion}")
        else:
            yield (f"{vendor},{pickup:%Y-%m-%d %H:%M:%S},{dropoff:%Y-%m-%d %H:%M:%S},N,1,{pu},{do},{passengers},"
                   f"{distance},{fare},0.5,0.5,{tip},0,,0.3,{total},{rng.randint(1, 4)},1,{congestion}")


def write_csv(path: Path, taxi: str, year: int, month: int, n: int, compress: bool = False, seed: int = 0) -> Path:
    """Write a header line and `n` rows to `path` (gzip level 1 when `compress`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    opener = gzip.open(path, "wt", compresslevel=1, newline="") if compress else open(path, "w", newline="")
    with opener as f:
        f.write(",".join(columns(taxi)) + "\n")
        batch: list[str] = []
        for line in rows(taxi, year, month, n, seed):
            batch.append(line)
            if len(batch) >= 10000:
                f.write("\n".join(batch) + "\n")
                batch.clear()
        if batch:
            f.write("\n".join(batch) + "\n")
    return path


def serve_tree(root: Path, months: list[tuple[str, int, int]], n: int) -> Path:
    """Write gzipped files under `root` in the releases' layout, ready for a static HTTP server."""
    for taxi, year, month in months:
        write_csv(root / url_path(taxi, year, month).lstrip("/"), taxi, year, month, n, compress=True)
    return root
