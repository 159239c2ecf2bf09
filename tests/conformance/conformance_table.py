"""The conformance table's row type and how one row runs: its flow (and the flows it calls) in a fresh project,
in-process, then the final state, the task-run count and the selected outputs compared with Kestra's."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from flowrun.errors import ExitCode, FlowrunError

FLOWS = Path(__file__).resolve().parent.parent / "flows" / "conformance"
KT = "kestra-io/kestra core/src/test/java/io/kestra/"
INVALID = "INVALID"  # the flow (or its inputs) is refused before anything runs, as Kestra refuses it


@dataclass(frozen=True)
class Row:
    """One ported assertion: `flow` (under tests/flows/conformance/) run with `inputs` ends in `state` with
    `count` task runs (None: not asserted) and these `outputs`: "task.key" of the task's first task run,
    "task[i].key" of its i-th, "@key" of the execution's outputs, "#task" of the task's last state, "^task" of
    its last task run's attempt count, "!key" of the execution's label. `cite` names the Kestra test class and method whose assertion it ports; `differs` makes the row an
    xfail(strict=True) with that reason, listed in the README's differences."""

    flow: str
    cite: str
    state: str
    count: int | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)
    also: tuple[str, ...] = ()          # more flows the project holds (subflows), under tests/flows/conformance/
    templates: tuple[str, ...] = ()     # files of the project's templates/ dir
    files: dict[str, str] = field(default_factory=dict)  # files written in the project root (FILE inputs)
    before: tuple[int, ...] = ()        # indexes into `also` of flows run first, in this project
    differs: str = ""
    error: str = ""                     # for INVALID rows: a fragment of the message

    @property
    def id(self) -> str:
        return f"{self.flow}:{self.cite.rsplit('/', 1)[-1]}"

    def param(self) -> Any:
        marks = [pytest.mark.xfail(strict=True, reason=self.differs)] if self.differs else []
        return pytest.param(self, id=self.id, marks=marks)


class Contains:
    """An expected output that is a text holding `part` (or, with `start=True`, starting with it)."""

    def __init__(self, part: str, start: bool = False) -> None:
        self.part, self.start = part, start

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and (other.startswith(self.part) if self.start else self.part in other)

    def __repr__(self) -> str:
        return f"{'starts with' if self.start else 'contains'} {self.part!r}"


def fill(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace("${" + key + "}", value)
    return text


def write_project(row: Row, root: Path, values: dict[str, str]) -> Path:
    """The project's flows/ holds the row's flow and its `also` flows; returns the row's flow path."""
    for index, name in enumerate((row.flow, *row.also)):
        target = root / "flows" / f"{index}-{Path(name).name}"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(fill((FLOWS / name).read_text(encoding="utf-8"), values), encoding="utf-8")
    for name, text in row.files.items():
        (root / name).write_text(text, encoding="utf-8")
    for name in row.templates:
        target = root / "templates" / Path(name).name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(FLOWS / name, target)
    return root / "flows" / f"0-{Path(row.flow).name}"


def pick(execution: Any, path: str) -> Any:
    """The value a row's `outputs` key names (see Row)."""
    if path.startswith("@"):
        return execution.outputs.get(path[1:])
    if path.startswith("!"):
        return dict(execution.labels).get(path[1:])
    if path.startswith("^"):
        found = [tr for tr in execution.task_runs if tr.task_id == path[1:]]
        return len(found[-1].attempts) if found else None
    if path.startswith("#"):
        found = [tr for tr in execution.task_runs if tr.task_id == path[1:]]
        return str(found[-1].state) if found else None
    task, _, key = path.partition(".")
    index = 0
    if task.endswith("]"):
        task, _, number = task[:-1].partition("[")
        index = int(number)
    found = [tr for tr in execution.task_runs if tr.task_id == task]
    assert len(found) > index, f"{path}: {len(found)} task runs of {task}"
    value: Any = found[index].outputs
    for part in key.split(".") if key else ():
        value = value.get(part) if isinstance(value, dict) else None
    return value


def check(row: Row, project: Any, values: dict[str, str]) -> None:
    """Run the row and compare; an INVALID row must be refused with exit 3 before anything runs."""
    path = write_project(row, project.root, values)
    if row.state == INVALID:
        with pytest.raises(FlowrunError) as info:
            project.run(path, row.inputs)
        assert info.value.exit_code == ExitCode.INVALID, str(info.value)
        assert row.error in str(info.value) + " ".join(map(str, getattr(info.value, "problems", []))), info.value
        return
    for index in row.before:
        project.run(path.parent / f"{index + 1}-{Path(row.also[index]).name}")
    execution = project.run(path, row.inputs)
    summary = [(tr.task_id, str(tr.state), tr.value) for tr in execution.task_runs]
    assert str(execution.state) == row.state, f"{execution.state} {execution.error}\n{summary}"
    if row.count is not None:
        assert len(execution.task_runs) == row.count, summary
    for key, expected in row.outputs.items():
        actual = pick(execution, key)
        assert actual == expected, f"{key}: {actual!r} != {expected!r}\n{summary}"
