"""`executor:` in flowrun.yaml (and the FLOWRUN_EXECUTOR / FLOWRUN_BROKER overrides): local, or Celery workers."""

from __future__ import annotations

import os
import re
from typing import Literal

from flowrun.errors import UsageError
from flowrun.model.base import Strict
from flowrun.model.lite import field_validator

ENV_TYPE = "FLOWRUN_EXECUTOR"
ENV_BROKER = "FLOWRUN_BROKER"
ENV_QUEUE = "FLOWRUN_QUEUE"
ENV_LOST_AFTER = "FLOWRUN_LOST_AFTER"
ENV_HEARTBEAT = "FLOWRUN_WORKER_HEARTBEAT"
DEFAULT_QUEUE = "flowrun"


class ExecutorSettings(Strict):
    """`executor:` in flowrun.yaml. `type: celery` sends each task attempt (and, from tick, backfill and
    `run --detach`, each whole execution) to the Celery workers of `broker` (`redis://` or `amqp://`).

    `queue` is the queue of tasks without `workerGroup.key` (a task's `workerGroup.key` is its queue);
    `lostAfter` is how long an attempt's worker may stay silent before the attempt counts as lost and is
    resubmitted; workers beat every `heartbeat`."""

    type: Literal["local", "celery"] = "local"
    broker: str | None = None
    queue: str = DEFAULT_QUEUE
    lost_after: str = "PT30S"
    heartbeat: str = "PT5S"

    @field_validator("broker")
    @classmethod
    def _check_broker(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^(redis|rediss|amqp|amqps|pyamqp)://", value):
            raise ValueError(f"broker `{value}` must be a redis://... or amqp://... URL")
        return value

    @field_validator("lost_after", "heartbeat")
    @classmethod
    def _check_duration(cls, value: str) -> str:
        seconds(value)
        return value

    @property
    def celery(self) -> bool:
        return self.type == "celery"

    def broker_url(self) -> str:
        """The broker's URL; a UsageError when `type: celery` names none."""
        if not self.broker:
            raise UsageError("the celery executor needs a broker",
                             hint=f"set `executor: {{type: celery, broker: redis://HOST:6379/0}}` in flowrun.yaml "
                                  f"or {ENV_BROKER}")
        return self.broker

    @property
    def lost_after_seconds(self) -> float:
        return seconds(self.lost_after)

    @property
    def heartbeat_seconds(self) -> float:
        return seconds(self.heartbeat)


def seconds(value: str) -> float:
    """A duration as seconds: ISO-8601 (`PT30S`) or a plain number of seconds (`2.5`)."""
    try:
        return float(value)
    except ValueError:
        from flowrun.durations import parse_duration

        return parse_duration(value).total_seconds()


def effective(configured: ExecutorSettings | None) -> ExecutorSettings:
    """The settings of flowrun.yaml with the environment's overrides applied (a broker alone means celery)."""
    settings = configured or ExecutorSettings.model_construct()  # the defaults: nothing to validate
    env = os.environ
    changes: dict[str, str] = {}
    for name, key in ((ENV_BROKER, "broker"), (ENV_QUEUE, "queue"), (ENV_LOST_AFTER, "lost_after"),
                      (ENV_HEARTBEAT, "heartbeat")):
        if env.get(name):
            changes[key] = env[name]
    if env.get(ENV_TYPE):
        changes["type"] = env[ENV_TYPE]
    elif "broker" in changes:
        changes["type"] = "celery"
    if not changes:
        return settings
    from pydantic import ValidationError

    try:
        return ExecutorSettings.model_validate({**settings.model_dump(), **changes})
    except ValidationError as exc:
        problem = "; ".join(str(error["msg"]) for error in exc.errors())
        raise UsageError(f"the executor settings from the environment are invalid: {problem}",
                         hint=f"check {ENV_TYPE} (local or celery), {ENV_BROKER} (redis://... or amqp://...), "
                              f"{ENV_LOST_AFTER} and {ENV_HEARTBEAT} (PT30S or seconds)") from None
