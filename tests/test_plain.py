"""`Plain` value classes: compared, shown and copied as the dataclasses they replace, with `FIELDS` that match."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest

from flowrun.engine.launch import RunOptions
from flowrun.errors import Problem
from flowrun.model.execution import Execution, State
from flowrun.plain import Plain

PACKAGE = Path(__file__).resolve().parent.parent / "flowrun"


def plain_classes() -> list[type[Plain]]:
    """Every class of flowrun/ written as `class Name(Plain)`, imported."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = [node.name for node in tree.body if isinstance(node, ast.ClassDef)
                 and any(isinstance(base, ast.Name) and base.id == "Plain" for base in node.bases)]
        if names:
            module = importlib.import_module(".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts))
            found += [getattr(module, name) for name in names]
    return found


CLASSES = plain_classes()


def test_the_classes_are_found() -> None:
    assert {Problem, RunOptions, Execution} <= set(CLASSES)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: f"{cls.__module__}.{cls.__qualname__}")
def test_fields_name_the_init_parameters_in_order(cls: type[Plain]) -> None:
    parameters = list(inspect.signature(cls.__init__).parameters)[1:]
    assert cls.FIELDS == tuple(parameters)


def test_equal_by_fields_and_class_shown_by_fields_copied_by_replace() -> None:
    problem = Problem("bad", file="f.yaml", line=3)
    assert problem == Problem("bad", "f.yaml", 3) and problem != Problem("bad", "f.yaml", 4)
    assert problem != ("bad", "f.yaml", 3, None, None, "error")
    assert repr(problem) == "Problem(message='bad', file='f.yaml', line=3, column=None, where=None, severity='error')"
    moved = problem.replace(file="g.yaml")
    assert moved == Problem("bad", "g.yaml", 3) and problem.file == "f.yaml"
    with pytest.raises(TypeError):
        problem.replace(nope=1)
    with pytest.raises(TypeError):
        hash(problem)


def test_a_mutable_default_is_never_shared() -> None:
    first, second = RunOptions(), RunOptions()
    first.inputs["x"] = 1
    assert second.inputs == {} and first.replace(home="h").inputs is first.inputs
    execution = Execution("e", "n", "f", state="RUNNING")  # type: ignore[arg-type]
    assert execution.state is State.RUNNING and execution.task_runs is not Execution("e", "n", "f").task_runs
