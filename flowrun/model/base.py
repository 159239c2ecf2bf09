"""Shared config models: `Strict` (camelCase, unknown keys rejected), the retry spec and plugin defaults."""

from __future__ import annotations

import sys
import types
from typing import Any

from flowrun.model.lite import CAMEL, AliasChoices, ConfigDict, Field, Model


def _no_pydantic_plugins() -> None:
    """flowrun uses no pydantic plugin: skip scanning every installed package's entry points at start-up.

    The loader module is stood in for rather than imported: importing it imports importlib.metadata
    (14 ms of a 200 ms run, `python -X importtime`). An already imported loader is told there are none.
    """
    loaded = sys.modules.get("pydantic.plugin._loader")
    if loaded is not None:
        if getattr(loaded, "_plugins", None) is None:
            loaded._plugins = {}  # type: ignore[attr-defined]
        return
    stand_in = types.ModuleType("pydantic.plugin._loader", "flowrun: no pydantic plugins (flowrun/model/base.py)")
    stand_in._plugins = {}  # type: ignore[attr-defined]
    stand_in._loading_plugins = False  # type: ignore[attr-defined]
    stand_in.get_plugins = lambda: ()  # type: ignore[attr-defined]
    sys.modules["pydantic.plugin._loader"] = stand_in


_no_pydantic_plugins()


class Strict(Model):
    """A config model: camelCase in YAML, snake_case in Python, unknown keys rejected (a plain class at run time:
    see flowrun/model/lite.py)."""

    model_config = ConfigDict(
        extra="forbid", alias_generator=CAMEL, populate_by_name=True, arbitrary_types_allowed=True,
        defer_build=True,
    )


class PluginDefault(Strict):
    """One `pluginDefaults` entry, in a flow or in flowrun.yaml: `values` for the tasks of `type`."""

    type: str
    values: dict[str, Any] = Field(default_factory=dict)
    forced: bool = False


class RetrySpec(Strict):
    type: str
    # Kestra 1.x reads both spellings (its own test flows use each: task-allow-warning-runnable.yml)
    max_attempt: int | None = Field(default=None, validation_alias=AliasChoices("maxAttempt", "maxAttempts",
                                                                                "max_attempt"))
    max_duration: str | None = None
    behavior: str = "RETRY_FAILED_TASK"
    warning_on_retry: bool = False
    interval: str | None = None
    max_interval: str | None = None
    min_interval: str | None = None
    delay_factor: float | None = None
