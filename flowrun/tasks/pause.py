"""The Pause task: its properties, checked at load time; how it runs lives in flowrun.engine.pause."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from flowrun.model.execution import State
from flowrun.model.lite import Field, field_validator, model_validator
from flowrun.tasks.base import Task
from flowrun.tasks.flowable import Flowable

if TYPE_CHECKING:
    from flowrun.model.execution import TaskRun
    from flowrun.tasks.runner import Runner, Scope

#: the values of `behavior` (flowrun.engine.pause maps each to the state the pause ends in)
BEHAVIORS = ("RESUME", "WARN", "CANCEL", "FAIL")


class Pause(Flowable):
    """Pause the execution until `flowrun resume ID` (with `onResume` inputs), or for `pauseDuration`.

    When `pauseDuration` (legacy `delay`) has passed, `behavior` decides: RESUME (SUCCESS), WARN (WARNING), FAIL
    (FAILED) or CANCEL (the execution is CANCELLED). Without a duration, `timeout` fails the pause when it passes.
    A manual resume always succeeds. A pause that resumes within the project's `pauseWait` (PT1M) waits in the
    process; a longer one ends the command PAUSED and `flowrun tick` resumes it once its date has passed.
    `onPause` runs when the pause starts; the deprecated `tasks` run after it resumes, then `errors` and `finally`.
    Outputs: `resumed` (`by`, `on`, `to`) and `onResume` (the resume inputs).
    """

    pausable: ClassVar[bool] = True
    child_fields: ClassVar[tuple[str, ...]] = ("tasks", "errors", "finally_")

    pause_duration: str | None = None
    delay: str | None = None
    behavior: str = "RESUME"
    on_resume: list[dict[str, Any]] | None = None
    on_pause: Task | None = None
    tasks: list[Task] | None = None
    finally_: list[Task] | None = Field(default=None, alias="finally")

    @classmethod
    def prepare_children(cls, raw: dict[str, Any], build: Any) -> dict[str, Any]:
        out = super().prepare_children(raw, build)
        if isinstance(raw.get("onPause"), dict):
            out["onPause"] = build(raw["onPause"], ("onPause",))
        return out

    def children(self) -> list[Task]:
        """`onPause`, for the validator and the graph (the other children are in `child_fields`)."""
        return [self.on_pause] if self.on_pause is not None else []

    @field_validator("behavior")
    @classmethod
    def _check_behavior(cls, value: str) -> str:
        if "{{" not in value and value.strip().upper() not in BEHAVIORS:
            raise ValueError(f"behavior `{value}` is not one of {', '.join(BEHAVIORS)}")
        return value

    @model_validator(mode="after")
    def _check_on_resume(self) -> Pause:
        from flowrun.model.inputs import parse_input_spec

        for item in self.on_resume or []:
            parse_input_spec(item)
        return self

    def resume_inputs(self) -> list[Any]:
        """The `onResume` input definitions, as flow input models."""
        from flowrun.model.inputs import parse_input_spec

        return [parse_input_spec(item) for item in self.on_resume or []]

    def execute(self, ex: Runner, taskrun: TaskRun, scope: Scope) -> State:
        from flowrun.engine.pause import start_pause

        return start_pause(ex, self, taskrun, scope)

    def continue_paused(self, ex: Runner, taskrun: TaskRun, scope: Scope) -> State | None:
        """This task run of an earlier run, resumed (its new state) or kept as it was (None)."""
        from flowrun.engine.pause import continue_paused

        return continue_paused(ex, self, taskrun, scope)
