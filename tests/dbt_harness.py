"""dbt test helpers: one dbt venv per adapter for every test (cached under ~/.cache/flowrun-test), and small projects.

Each test project has its own state dir, so each would build its own venv (about 7 s with a warm uv cache, a minute
cold). Instead flowrun's own `ensure_venv` builds the venv once, under a lock, in a state dir of the test cache, and
each project's `venvs/<key>` links to it: the task then finds it ready, exactly as on a second run.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from flowrun.dbt.adapters import requirements
from flowrun.scripts.interpreters import default_python
from flowrun.scripts.venvs import VenvError, VenvSpec, ensure_venv

CACHE = Path(os.environ.get("FLOWRUN_TEST_CACHE", Path.home() / ".cache" / "flowrun-test"))
STATE = CACHE / "dbt-state"
DBT = "io.kestra.plugin.dbt.cli"


def venv_spec(adapter: str) -> VenvSpec:
    """The spec a dbt task computes for a profile of this adapter type (same interpreter, same pins)."""
    interp = default_python(os.environ.get("PATH"))
    if interp is None:
        pytest.fail("no python3 on PATH to build the dbt venv with")
    return VenvSpec(interp, requirements([adapter], []))


def link_dbt_venv(home: Path, adapter: str = "postgres") -> Path:
    """Make the shared dbt venv for `adapter` the cached venv of the project whose state dir is `home`."""
    spec = venv_spec(adapter)
    try:
        info = ensure_venv(STATE, spec)
    except VenvError as exc:
        pytest.fail(f"building the shared dbt venv failed: {exc.message}\n{exc.evidence}")
    link = home / "venvs" / spec.key
    link.parent.mkdir(parents=True, exist_ok=True)
    if not os.path.lexists(link):
        link.symlink_to(info.path, target_is_directory=True)
    return link


MINI_FILES = {
    "dbt_project.yml": """\
        name: mini
        version: '1.0.0'
        config-version: 2
        profile: mini
        """,
    "seeds/people.csv": "id,name,score\n1,ana,3\n2,bo,1\n3,cy,5\n",
    "models/adults.sql": "{{ config(materialized='table') }}\nselect id, name, score from {{ ref('people') }} "
                         "where score > 1\n",
    "models/schema.yml": """\
        version: 2
        models:
          - name: adults
            columns:
              - name: id
                data_tests:
                  - unique
                  - not_null
        """,
}
#: a singular test that warns (two adults), and one that fails the build (one score below 2, on the seed)
WARN_TEST = ("tests/few_adults.sql", "{{ config(severity='warn') }}\nselect * from {{ ref('adults') }}\n")
FAIL_TEST = ("tests/no_low_scores.sql", "select * from {{ ref('people') }} where score < 2\n")


def write_mini_project(dest: Path, *extra: tuple[str, str]) -> Path:
    """A dbt project of one seed (3 rows), one model (2 rows) and two tests, plus `extra` files."""
    for rel, text in [*MINI_FILES.items(), *extra]:
        path = dest / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return dest


def postgres_profile(dbname: str, schema: str, host: str = "127.0.0.1", name: str = "mini") -> str:
    """A profiles.yml for the test Postgres (trust auth: any password is accepted)."""
    return textwrap.dedent(f"""\
        {name}:
          target: dev
          outputs:
            dev:
              type: postgres
              host: {host}
              user: postgres
              password: unused
              port: 5432
              dbname: {dbname}
              schema: {schema}
              threads: 4
        """)


# -- the course's dbt project, served from a local git repository ---------------------------------
DBT_FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "compat" / "dbt"
GIT_DIRECTORY = "04-analytics-engineering/taxi_rides_ny"
COURSE_URL = "https://github.com/DataTalksClub/data-engineering-zoomcamp"


def _git(repo: Path, *args: str) -> None:
    import subprocess

    done = subprocess.run(["git", "-c", "user.name=flowrun tests", "-c", "user.email=tests@flowrun.invalid",
                           "-C", str(repo), *args], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(f"git {' '.join(args)} failed: {done.stderr}")


def course_repo(dest: Path) -> Path:
    """A real git repository (branch main) with taxi_rides_ny under 04-analytics-engineering/, as the course's.

    The only changes (the dbt hub cannot be reached): both packages.yml files name the local copies of
    dbt_utils 1.1.1 and codegen 0.12.1, which the repository holds under `dbt-hub/`."""
    import shutil

    project = dest / GIT_DIRECTORY
    shutil.copytree(DBT_FIXTURES / "taxi_rides_ny", project)
    hub = dest / "dbt-hub"
    shutil.copytree(DBT_FIXTURES / "packages", hub)
    for path in [*project.rglob("*"), *hub.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    (project / "packages.yml").write_text(f"packages:\n  - local: {hub / 'dbt_utils'}\n"
                                          f"  - local: {hub / 'codegen'}\n")
    (hub / "codegen" / "packages.yml").write_text(f"packages:\n  - local: {hub / 'dbt_utils'}\n")
    _git(dest, "init", "-q", "-b", "main")
    _git(dest, "add", "-A")
    _git(dest, "commit", "-q", "-m", "taxi_rides_ny at 4793e690, packages from local copies")
    return dest


def zone_boroughs() -> dict[int, tuple[str, str]]:
    """locationid -> (borough, zone) from the project's seed."""
    import csv

    with open(DBT_FIXTURES / "taxi_rides_ny" / "seeds" / "taxi_zone_lookup.csv", newline="") as handle:
        return {int(r["locationid"]): (r["borough"], r["zone"]) for r in csv.DictReader(handle)}


def expected_model_rows(months: list[tuple[str, int, int]], n: int) -> dict[str, int]:
    """Row counts of fact_trips and dm_monthly_zone_revenue for the synthetic rows, from the models' own rules:
    one row per (vendor, pickup time), both zones known (borough not Unknown), revenue per (zone, month, service)."""
    import csv

    from taxi_data import columns, rows

    zones = zone_boroughs()
    seen: set[tuple[str, str, str]] = set()
    trips: list[tuple[str, str, str]] = []  # (service, pickup zone, month) of each trip fact_trips keeps
    for taxi, year, month in months:
        pickup = "tpep_pickup_datetime" if taxi == "yellow" else "lpep_pickup_datetime"
        for row in csv.DictReader([",".join(columns(taxi)), *rows(taxi, year, month, n)]):
            key = (taxi, row["VendorID"], row[pickup])
            assert key not in seen, "the synthetic rows repeat a (vendor, pickup) pair: rn = 1 would pick one"
            seen.add(key)
            pu, do = zones[int(row["PULocationID"])], zones[int(row["DOLocationID"])]
            if pu[0] != "Unknown" and do[0] != "Unknown":
                trips.append((taxi, pu[1], row[pickup][:7]))
    return {"fact_trips": len(trips), "dm_monthly_zone_revenue": len(set(trips)), "dim_zones": len(zones)}
