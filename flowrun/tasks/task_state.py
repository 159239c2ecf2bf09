"""Kestra's state store tasks: state.Get, state.Set and state.Delete, on JSON documents kept in the state DB."""

from __future__ import annotations

import json
from typing import Any

from flowrun.errors import TaskError
from flowrun.tasks.base import RunContext, Task
from flowrun.tasks.props import flag, mapping


class _StateTask(Task):
    """Common properties: `name` of the state (default `default`); `namespace: true` shares it across the
    namespace's flows (default: one state per flow); `taskrunValue: false` shares it across loop iterations
    (default: each `taskrun.value` has its own)."""

    name: str = "default"
    namespace: bool | str = False
    taskrun_value: bool | str = True

    def scope(self, ctx: RunContext) -> Any:
        from flowrun.state.records import StateScope

        name = str(ctx.render(self.name))
        if not name:
            raise TaskError(f"task `{ctx.task_id}`: `name` renders empty", {"hint": "name the state, or omit it"})
        shared = flag(ctx, self.namespace, "namespace")
        value = ctx.taskrun_value if flag(ctx, self.taskrun_value, "taskrunValue") else None
        return StateScope(ctx.namespace, "" if shared else ctx.flow_id, name, value)

    def store(self, ctx: RunContext) -> Any:
        """The state store (flowrun.state.protocol.StateStore) that keeps the documents."""
        return ctx.services().db

    def key(self, ctx: RunContext, scope: Any) -> str:
        from flowrun.storage.internal import slugify

        return str(scope.key(slugify(ctx.flow_id)))


def _decode(ctx: RunContext, stored: Any) -> dict[str, Any]:
    text = ctx.services().cipher.decrypt(stored.data) if stored.secret else stored.data
    data = json.loads(text)
    if stored.secret:
        ctx.register_secret(data)
    return data if isinstance(data, dict) else {}


def merge_maps(current: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Kestra's MapUtils.merge: nested maps merge, lists are joined without repeats, a null keeps the old value,
    anything else is replaced."""
    result = dict(current)
    for key, new in update.items():
        old = result.get(key)
        if new is None:
            continue
        if isinstance(old, dict) and isinstance(new, dict):
            result[key] = merge_maps(old, new)
        elif isinstance(old, list) and isinstance(new, list):
            result[key] = old + [item for item in new if item not in old]
        else:
            result[key] = new
    return result


class Get(_StateTask):
    """Read a state: `data` is its map (empty when there is none, unless `errorOnMissing`), `count` its size."""

    error_on_missing: bool | str = False

    def run(self, ctx: RunContext) -> dict[str, Any]:
        scope = self.scope(ctx)
        stored = self.store(ctx).read_task_state(scope)
        if stored is None:
            if flag(ctx, self.error_on_missing, "errorOnMissing"):
                raise TaskError(f"state `{scope.name}` not found ({self.key(ctx, scope)})",
                                {"hint": "set it first with state.Set, or set errorOnMissing: false"})
            return {"count": 0, "data": {}}
        data = _decode(ctx, stored)
        return {"count": len(data), "data": data}


class Set(_StateTask):
    """Merge `data` (a map; keys and values rendered as strings) into a state: new keys are added, existing
    keys overwritten. Concurrent executions updating one state queue; none of their updates is lost.
    A state that holds a secret is encrypted at rest. Outputs: `count` (keys in the state now) and `key`."""

    data: dict[str, Any] | str | None = None

    def run(self, ctx: RunContext) -> dict[str, Any]:
        from flowrun.state.records import StoredState

        update = mapping(ctx, self.data, "data") if self.data is not None else {}
        scope = self.scope(ctx)
        cipher = ctx.services().cipher
        merged: dict[str, Any] = {}

        def change(current: Any) -> Any:
            merged.update(merge_maps(_decode(ctx, current) if current is not None else {}, update))
            text = json.dumps(merged, separators=(",", ":"), default=str)
            secret = ctx.is_secret(merged)
            return StoredState(cipher.encrypt(text) if secret else text, secret)

        self.store(ctx).update_task_state(scope, change)
        return {"count": len(merged), "key": self.key(ctx, scope)}


class Delete(_StateTask):
    """Delete a state; `deleted` tells whether it existed (with `errorOnMissing`, a missing state fails)."""

    error_on_missing: bool | str = False

    def run(self, ctx: RunContext) -> dict[str, Any]:
        scope = self.scope(ctx)
        deleted = self.store(ctx).delete_task_state(scope)
        if not deleted and flag(ctx, self.error_on_missing, "errorOnMissing"):
            raise TaskError(f"unable to find the state `{scope.name}` ({self.key(ctx, scope)})",
                            {"hint": "set errorOnMissing: false to ignore a missing state"})
        return {"deleted": deleted}
