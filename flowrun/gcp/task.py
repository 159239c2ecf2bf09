"""`GcpTask`: the properties every GCP task shares (projectId, serviceAccount, scopes) and how it authenticates."""

from __future__ import annotations

from typing import Any, ClassVar

from flowrun.errors import TaskError
from flowrun.gcp import auth, clients
from flowrun.tasks.base import RunContext, Task


class GcpTask(Task):
    """Kestra's `AbstractTask` for GCP: `serviceAccount` is the key's JSON content; absent means ADC."""

    project_id: str | None = None
    service_account: str | None = None
    impersonated_service_account: str | None = None
    scopes: Any = None

    #: which emulator setting applies: "storage" or "bigquery"
    service: ClassVar[str] = "storage"

    def text(self, ctx: RunContext, value: Any) -> str | None:
        """A rendered string property (None stays None, an empty result becomes None)."""
        if value is None:
            return None
        rendered = ctx.render(value)
        return None if rendered is None or rendered == "" else str(rendered)

    def flag(self, ctx: RunContext, value: Any, name: str, default: bool = False) -> bool:
        """A rendered boolean property."""
        if value is None:
            return default
        rendered = ctx.render_typed(value) if isinstance(value, str) else value
        if isinstance(rendered, str):
            lowered = rendered.strip().lower()
            if lowered not in ("true", "false"):
                raise TaskError(f"task `{self.id}`: `{name}` must be true or false, got {rendered!r}")
            return lowered == "true"
        return bool(rendered)

    def integer(self, ctx: RunContext, value: Any, name: str) -> int | None:
        """A rendered integer property."""
        if value is None:
            return None
        rendered = ctx.render_typed(value) if isinstance(value, str) else value
        try:
            return int(rendered)
        except (TypeError, ValueError):
            raise TaskError(f"task `{self.id}`: `{name}` must be an integer, got {rendered!r}") from None

    def choice(self, ctx: RunContext, value: Any, name: str, allowed: tuple[str, ...], default: str) -> str:
        """A rendered enum property, upper-cased and checked."""
        text = (self.text(ctx, value) or default).strip().upper()
        if text not in allowed:
            raise TaskError(f"task `{self.id}`: `{name}` must be one of {', '.join(allowed)}, got {text!r}")
        return text

    def strings(self, ctx: RunContext, value: Any, name: str) -> list[str] | None:
        """A rendered list of strings (a single string becomes a one-item list)."""
        if value is None:
            return None
        rendered = ctx.render_typed(value)
        if isinstance(rendered, str):
            return [rendered]
        if not isinstance(rendered, list):
            raise TaskError(f"task `{self.id}`: `{name}` must be a list of strings")
        return [str(v) for v in rendered]

    def endpoint(self, ctx: RunContext) -> str | None:
        return clients.emulator_endpoint(self.service, clients.project_emulators(ctx))

    def authenticate(self, ctx: RunContext) -> auth.GcpAuth:
        """Resolve credentials; key material is registered for masking before anything can log it."""
        raw = ctx.render(self.service_account) if self.service_account is not None else None
        if isinstance(raw, dict):  # a JSON kv value rendered typed
            import json

            raw = json.dumps(raw)
        if isinstance(raw, str) and raw.strip():
            ctx.register_secret(raw.strip())
        endpoint = self.endpoint(ctx)
        problem = clients.check_reachable(self.service, endpoint) if endpoint else None
        if problem:
            raise TaskError(f"task `{self.id}`: {problem}", evidence={"endpoint": endpoint})
        try:
            resolved = auth.resolve(raw if isinstance(raw, str) else None, self.text(ctx, self.project_id),
                                    self.strings(ctx, self.scopes, "scopes"),
                                    self.text(ctx, self.impersonated_service_account), emulated=endpoint is not None)
        except auth.CredentialsError as exc:
            raise TaskError(f"task `{self.id}`: {exc}") from None
        for secret in resolved.secrets:
            ctx.register_secret(secret)
        if endpoint:
            ctx.logger.debug(f"using the {self.service} emulator at {endpoint} with anonymous credentials")
        return resolved
