"""The dbt profile as flowrun writes it: the adapter types it names, and its rewrites for a local run."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

#: Docker's name for the machine that runs the container: here the task runs on that machine itself
DOCKER_HOST = "host.docker.internal"
LOCAL_HOST = "127.0.0.1"
#: a static OAuth token: never refreshed, so dbt-bigquery never calls Google's auth servers
EMULATOR_TOKEN = "flowrun-bigquery-emulator"
_KEY_FIELDS = ("keyfile", "keyfile_json", "refresh_token", "client_id", "client_secret", "token_uri")


def parse_profiles(text: str) -> dict[str, Any] | None:
    """The profiles document, or None when it is not a YAML mapping (dbt reports that itself)."""
    import yaml

    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    return doc if isinstance(doc, dict) else None


def _outputs(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(`profile.output`, output map) for every output of every profile (the `config:` block is not one)."""
    for name, profile in doc.items():
        if name == "config" or not isinstance(profile, dict):
            continue
        outputs = profile.get("outputs")
        if isinstance(outputs, dict):
            for target, output in outputs.items():
                if isinstance(output, dict):
                    yield f"{name}.{target}", output


def adapter_types(doc: dict[str, Any] | None) -> list[str]:
    """The adapter `type`s the profiles name (`postgres`, `bigquery`...), sorted and without repeats."""
    if doc is None:
        return []
    found = {str(out["type"]).strip().lower() for _, out in _outputs(doc) if out.get("type")}
    return sorted(t for t in found if t and "{" not in t)


@dataclass
class Localized:
    """The profile text to write, and one note per change made to it."""

    text: str
    notes: list[str] = field(default_factory=list)


def localize(text: str, bigquery_endpoint: str | None) -> Localized:
    """Point Docker's host name at this machine and BigQuery outputs at the emulator; unchanged text otherwise."""
    doc = parse_profiles(text)
    if doc is None:
        return Localized(text)
    notes: list[str] = []
    for where, output in _outputs(doc):
        notes += _docker_host(where, output)
        if bigquery_endpoint and str(output.get("type", "")).lower() == "bigquery":
            notes += _bigquery_emulator(where, output, bigquery_endpoint)
    if not notes:
        return Localized(text)
    import yaml

    return Localized(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), notes)


def _docker_host(where: str, output: dict[str, Any]) -> list[str]:
    notes = []
    for key, value in output.items():
        if isinstance(value, str) and DOCKER_HOST in value:
            output[key] = value.replace(DOCKER_HOST, LOCAL_HOST)
            notes.append(f"profile {where}: {key} `{value}` is Docker's name for this machine; using `{output[key]}` "
                         f"(the task runs here, not in a container)")
    return notes


def _bigquery_emulator(where: str, output: dict[str, Any], endpoint: str) -> list[str]:
    method = output.get("method")
    output["api_endpoint"] = endpoint
    if method != "oauth-secrets" or not output.get("token"):
        for key in _KEY_FIELDS:
            output.pop(key, None)
        output["method"], output["token"] = "oauth-secrets", EMULATOR_TOKEN
    how = f"method {method} replaced by oauth-secrets with a static token" if method != output["method"] else \
        "its own oauth-secrets token"
    return [f"profile {where}: BigQuery emulator at {endpoint} (api_endpoint; {how})"]
