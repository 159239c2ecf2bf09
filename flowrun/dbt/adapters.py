"""Which packages a dbt task's venv holds: dbt-core and the adapters that its profile or image names."""

from __future__ import annotations

import re

from flowrun.scripts.venvs import normalize_requirement

#: dbt-core 1.12 cannot be installed from the package registry alone (its parser's build downloads a wheel)
DBT_CORE = "dbt-core>=1.11,<1.12"
#: adapters whose versions follow dbt-core's, pinned to the same minor; others are left to the resolver,
#: which picks a version that accepts the dbt-core pin
PINNED = {"postgres": ">=1.11,<1.12", "bigquery": ">=1.11,<1.12", "duckdb": ">=1.11,<1.12"}
#: `ghcr.io/kestra-io/dbt-postgres:latest` -> postgres (the plain `dbt` image holds several adapters)
_IMAGE = re.compile(r"^dbt-([a-z0-9][a-z0-9_-]*)$")
_NOT_ADAPTERS = {"fusion", "core"}


def package(adapter_type: str) -> str:
    """The PyPI requirement for an adapter type: `postgres` -> `dbt-postgres>=1.11,<1.12`."""
    name = f"dbt-{adapter_type.replace('_', '-')}"
    return name + PINNED.get(adapter_type, "")


def image_adapter(image: str | None) -> str | None:
    """The adapter that a Kestra dbt image is built for, if its name says so."""
    if not image:
        return None
    last = image.rsplit("/", 1)[-1].split("@", 1)[0].split(":", 1)[0]
    match = _IMAGE.match(last)
    if match is None or match.group(1) in _NOT_ADAPTERS:
        return None
    return match.group(1)


def _name(requirement: str) -> str:
    norm = normalize_requirement(requirement) or requirement
    return re.split(r"[\[<>=!~;@ ]", norm, maxsplit=1)[0]


def requirements(adapters: list[str], extra: list[str]) -> tuple[str, ...]:
    """dbt-core and the adapters, each pinned by default; a requirement in `extra` replaces the default
    for the package it names (`dbt-core==1.10.15`), and the others are added."""
    chosen = {_name(r): r for r in [DBT_CORE, *(package(a) for a in adapters)]}
    for requirement in extra:
        if requirement.strip():
            chosen[_name(requirement)] = requirement.strip()
    out = {normalize_requirement(r) or r for r in chosen.values()}
    return tuple(sorted(out))
