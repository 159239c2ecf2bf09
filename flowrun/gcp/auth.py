"""Credentials for GCP tasks: a service-account key's JSON content, Application Default Credentials, or anonymous."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from flowrun.errors import TaskError

DEFAULT_SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]
#: the project used against an emulator when neither the task nor the key names one
EMULATOR_PROJECT = "flowrun-local"
_REQUIRED = ("type", "project_id", "private_key", "client_email")


class CredentialsError(TaskError):
    """Unusable credentials; the message is one line and never contains key material."""


@dataclass
class GcpAuth:
    """Credentials and the project they resolve to."""

    credentials: Any
    project: str | None
    secrets: list[str] = field(default_factory=list)


def parse_service_account(text: str) -> dict[str, Any]:
    """The key's JSON object; a clear one-line error (with no key content) when it is not one."""
    try:
        info = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CredentialsError(
            f"serviceAccount is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); "
            "expected the content of a service-account key file") from None
    if not isinstance(info, dict):
        raise CredentialsError(f"serviceAccount must be a JSON object (a service-account key), "
                               f"not a JSON {type(info).__name__}")
    return info


def check_shape(info: dict[str, Any]) -> None:
    """Check a service-account key has the fields Google requires, without looking at their values' secrets."""
    missing = [k for k in _REQUIRED if not isinstance(info.get(k), str) or not info.get(k)]
    if missing:
        raise CredentialsError(f"serviceAccount JSON lacks {', '.join(missing)}: "
                               "expected a service-account key file's content")
    if info["type"] != "service_account":
        raise CredentialsError(f"serviceAccount JSON has type {info['type']!r}, expected 'service_account'")
    if "-----BEGIN" not in info["private_key"] or "PRIVATE KEY-----" not in info["private_key"]:
        raise CredentialsError("serviceAccount private_key is not a PEM private key")
    if "@" not in info["client_email"]:
        raise CredentialsError("serviceAccount client_email is not an e-mail address")


def key_secrets(text: str, info: dict[str, Any] | None) -> list[str]:
    """The values to mask in logs: the raw JSON, the private key (and its one-line escaped form) and its id."""
    values = [text]
    if info:
        for key in ("private_key", "private_key_id"):
            value = info.get(key)
            if isinstance(value, str) and value:
                values += [value, value.replace("\n", "\\n")]
    return values


def resolve(service_account: str | None, project_id: str | None, scopes: list[str] | None,
            impersonate: str | None, emulated: bool) -> GcpAuth:
    """Credentials for a task. With an emulator, a given key is only checked and anonymous credentials are used."""
    scopes = scopes or DEFAULT_SCOPES
    text = service_account.strip() if isinstance(service_account, str) else ""
    info = parse_service_account(text) if text else None
    secrets = key_secrets(text, info) if text else []
    if emulated:
        from google.auth.credentials import AnonymousCredentials

        if info is not None:
            check_shape(info)
        project = project_id or (info or {}).get("project_id") or _env_project() or EMULATOR_PROJECT
        return GcpAuth(AnonymousCredentials(), project, secrets)
    credentials, project = _real_credentials(info, scopes, secrets)
    if impersonate:
        from google.auth import impersonated_credentials

        credentials = impersonated_credentials.Credentials(
            source_credentials=credentials, target_principal=impersonate, target_scopes=scopes)
    return GcpAuth(credentials, project_id or project or _env_project(), secrets)


def _real_credentials(info: dict[str, Any] | None, scopes: list[str], secrets: list[str]) -> tuple[Any, str | None]:
    import google.auth
    from google.auth import exceptions

    if info is None:
        try:
            return google.auth.default(scopes=scopes)
        except exceptions.DefaultCredentialsError:
            raise CredentialsError(
                "no serviceAccount and no Application Default Credentials: set serviceAccount (the key's JSON "
                "content), run `gcloud auth application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS; "
                "for local emulators set STORAGE_EMULATOR_HOST / BIGQUERY_EMULATOR_HOST or `emulators:` in "
                "flowrun.yaml") from None
    kind = info.get("type")
    try:
        if kind == "service_account":
            from google.oauth2 import service_account

            credentials = service_account.Credentials.from_service_account_info(info, scopes=scopes)
        elif kind == "authorized_user":
            from google.oauth2 import credentials as user_credentials

            credentials = user_credentials.Credentials.from_authorized_user_info(info, scopes=scopes)
        else:
            raise CredentialsError(f"serviceAccount JSON has type {kind!r}: use a service-account key "
                                   "('service_account') or an authorized-user file ('authorized_user')")
    except (exceptions.GoogleAuthError, ValueError, TypeError) as exc:  # a CredentialsError is none of these
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if any(s and s in message for s in secrets) or "-----BEGIN" in message:
            message = type(exc).__name__
        raise CredentialsError(f"serviceAccount is not a usable key: {message}") from None
    return credentials, info.get("project_id") or info.get("quota_project_id")


def _env_project() -> str | None:
    return os.environ.get("GOOGLE_CLOUD_PROJECT") or os.environ.get("GCLOUD_PROJECT") or None
