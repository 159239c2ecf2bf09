"""The base of every config model (`Strict`: camelCase in YAML, unknown keys rejected) and the retry spec."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
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
