"""Build google-cloud storage and bigquery clients, pointed at emulator endpoints when configured."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from flowrun.gcp.auth import GcpAuth

if TYPE_CHECKING:
    from flowrun.tasks.base import RunContext

#: resumable uploads go in chunks this large: the storage emulator rewrites the partial object on every chunk
UPLOAD_CHUNK = 100 * 1024 * 1024
ENV = {"storage": "STORAGE_EMULATOR_HOST", "bigquery": "BIGQUERY_EMULATOR_HOST"}


def emulator_endpoint(service: str, config: dict[str, str] | None = None) -> str | None:
    """The emulator URL for `storage` or `bigquery`: the environment variable first, then `emulators:` config."""
    value = os.environ.get(ENV[service]) or (config or {}).get(service)
    if not value:
        return None
    value = value.strip().rstrip("/")
    return value if "://" in value else f"http://{value}"


def check_reachable(service: str, endpoint: str) -> str | None:
    """Why the emulator at `endpoint` cannot be reached (None when it can): fail fast instead of retrying."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(endpoint)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", port), timeout=3):
            return None
    except OSError as exc:
        return (f"the {service} emulator at {endpoint} is not reachable ({exc.strerror or exc}); start it, or unset "
                f"{ENV[service]} / `emulators.{service}` in flowrun.yaml to use Google Cloud")


def project_emulators(ctx: RunContext) -> dict[str, str]:
    """`emulators:` from the project's flowrun.yaml."""
    return dict(ctx.services().project.config.emulators)


def storage_client(auth: GcpAuth, endpoint: str | None) -> Any:
    """A google.cloud.storage client (the emulator's endpoint, when given, for JSON API and uploads alike)."""
    from google.cloud import storage  # type: ignore[attr-defined]

    options = {"api_endpoint": endpoint} if endpoint else None
    return storage.Client(project=auth.project, credentials=auth.credentials, client_options=options)


def bigquery_client(auth: GcpAuth, endpoint: str | None, location: str | None) -> Any:
    """A google.cloud.bigquery client with its default project and location."""
    from google.api_core.client_options import ClientOptions
    from google.cloud import bigquery

    options = ClientOptions(api_endpoint=endpoint) if endpoint else None
    return bigquery.Client(project=auth.project, credentials=auth.credentials, location=location or None,
                           client_options=options)
