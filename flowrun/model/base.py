"""Shared config models: `Strict` (camelCase, unknown keys rejected), the retry spec and plugin defaults."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

try:  # flowrun uses no pydantic plugin: skip scanning every installed package's entry points at start-up
    from pydantic.plugin import _loader

    if _loader._plugins is None:
        _loader._plugins = {}
except (ImportError, AttributeError):  # pragma: no cover - a pydantic without the plugin loader
    pass


class Strict(BaseModel):
    """A config model: camelCase in YAML, snake_case in Python, unknown keys rejected."""

    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, populate_by_name=True, arbitrary_types_allowed=True,
        defer_build=True,
    )


class PluginDefault(Strict):
    """One `pluginDefaults` entry, in a flow or in flowrun.yaml: `values` for the tasks of `type`."""

    type: str
    values: dict[str, Any] = Field(default_factory=dict)
    forced: bool = False


class RetrySpec(Strict):
    type: str
    max_attempt: int | None = None
    max_duration: str | None = None
    behavior: str = "RETRY_FAILED_TASK"
    warning_on_retry: bool = False
    interval: str | None = None
    max_interval: str | None = None
    min_interval: str | None = None
    delay_factor: float | None = None
