"""Every error a flowrun module defines is a FlowrunError (with its exit code) or a TaskError (a failed attempt)."""

from __future__ import annotations

import ast
import importlib

import pytest
from conftest import ROOT
from pydantic import ValidationError

from flowrun.errors import ExitCode, FlowrunError, TaskError, TaskKilled
from flowrun.model.triggers import Schedule

PACKAGE = ROOT / "flowrun"
#: not errors: the signal that an attempt was interrupted, and the two roots themselves
NOT_ERRORS = {TaskKilled, FlowrunError, TaskError}


def exception_classes() -> list[type[BaseException]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "__main__.py":
            continue
        names = [node.name for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                 if isinstance(node, ast.ClassDef)]
        if not names:
            continue
        module_name = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
        module = importlib.import_module(module_name)
        for name in names:
            cls = getattr(module, name, None)
            if isinstance(cls, type) and issubclass(cls, BaseException) and cls.__module__ == module_name:
                found.append(cls)
    return found


def test_every_module_error_subclasses_flowrun_error_or_task_error() -> None:
    classes = exception_classes()
    assert len(classes) > 15  # the walk found the errors at all
    # a private class (`_Died`) is a signal raised and caught inside its own module, never an error it reports
    stray = [f"{c.__module__}.{c.__qualname__}" for c in classes
             if c not in NOT_ERRORS and not c.__name__.startswith("_") and not issubclass(c, (FlowrunError, TaskError))]
    assert stray == []


def test_errors_raised_by_the_flow_itself_exit_as_invalid() -> None:
    from flowrun.schedule.conditions import ConditionError
    from flowrun.schedule.cron import CronError
    from flowrun.tasks.registry import UnknownType
    from flowrun.templating import TemplateError

    for cls in (CronError, ConditionError, UnknownType, TemplateError):
        assert cls.exit_code == ExitCode.INVALID, cls


def test_validation_messages_stay_the_same() -> None:
    with pytest.raises(ValidationError, match="cron `x y` has 2 fields, expected 5"):
        Schedule.model_validate({"id": "s", "type": "io.kestra.plugin.core.trigger.Schedule", "cron": "x y"})
