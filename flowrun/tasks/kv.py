"""KV store tasks: Set, Get, GetKeys and Delete, on the namespace's store in the state DB."""

from __future__ import annotations

from typing import Any

from flowrun.errors import TaskError
from flowrun.tasks.base import RunContext, Task


def _namespace(task: Any, ctx: RunContext) -> str:
    return str(ctx.render(task.namespace)) if task.namespace else ctx.namespace


def _kv_call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    from flowrun.errors import FlowrunError

    try:
        return fn(*args, **kwargs)
    except FlowrunError as exc:
        raise TaskError(exc.message) from None


class Set(Task):
    """Store `value` (rendered, keeping its type) under `key`; `kvType` converts a string value.

    A value that holds a secret (from `secret()` or a SECRET input) is encrypted at rest and shown masked."""

    key: str
    value: Any
    namespace: str | None = None
    overwrite: bool = True
    ttl: str | None = None
    kv_type: str | None = None

    def run(self, ctx: RunContext) -> dict[str, Any]:
        key = str(ctx.render(self.key))
        value = ctx.render_typed(self.value)
        ttl = str(ctx.render(self.ttl)) if self.ttl else None
        kv_type = str(ctx.render(self.kv_type)).upper() if self.kv_type else None
        _kv_call(ctx.kv().set, _namespace(self, ctx), key, value, kv_type=kv_type, ttl=ttl,
                 overwrite=self.overwrite, secret=ctx.is_secret(value))
        return {}


class Get(Task):
    """Read `key`; `value` is null when missing unless `errorOnMissing`."""

    key: str
    namespace: str | None = None
    error_on_missing: bool = False

    def run(self, ctx: RunContext) -> dict[str, Any]:
        key = str(ctx.render(self.key))
        entry = _kv_call(ctx.kv().entry, _namespace(self, ctx), key, error_on_missing=self.error_on_missing)
        if entry is None:
            return {"value": None}
        if entry.secret:  # masked in logs, and sealed in the recorded outputs
            ctx.register_secret(entry.value)
        return {"value": entry.value}


class GetKeys(Task):
    """List the keys of a namespace, optionally those starting with `prefix`."""

    prefix: str | None = None
    namespace: str | None = None

    def run(self, ctx: RunContext) -> dict[str, Any]:
        prefix = str(ctx.render(self.prefix)) if self.prefix else None
        return {"keys": _kv_call(ctx.kv().keys, _namespace(self, ctx), prefix)}


class Delete(Task):
    """Delete `key`; `deleted` tells whether it existed."""

    key: str
    namespace: str | None = None
    error_on_missing: bool = False

    def run(self, ctx: RunContext) -> dict[str, Any]:
        key = str(ctx.render(self.key))
        namespace = _namespace(self, ctx)
        deleted = _kv_call(ctx.kv().delete, namespace, key)
        if not deleted and self.error_on_missing:
            raise TaskError(f"key `{key}` not found in namespace `{namespace}`")
        return {"deleted": deleted}
