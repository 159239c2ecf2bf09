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
