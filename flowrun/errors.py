"""The error tree: every error flowrun reports, with its exit code and a hint."""

from __future__ import annotations

from dataclasses import dataclass


class ExitCode:
    OK = 0
    FLOW_FAILED = 1
    USAGE = 2
    INVALID = 3
    STATE = 4
    PAUSED = 5


@dataclass
class Problem:
    """One located problem: `file:line:col: where: message`."""

    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    where: str | None = None

    def __str__(self) -> str:
        loc = ""
        if self.file:
            loc = self.file
            if self.line:
                loc += f":{self.line}"
                if self.column:
                    loc += f":{self.column}"
            loc += ": "
        where = f"{self.where}: " if self.where else ""
        return f"{loc}{where}{self.message}"


class FlowrunError(Exception):
    """Base of errors that end a command with a clear message and an exit code."""

    exit_code = ExitCode.STATE

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(FlowrunError):
    exit_code = ExitCode.USAGE


class InvalidFlowError(FlowrunError):
    """The flow (or its inputs) is invalid: nothing ran."""

    exit_code = ExitCode.INVALID

    def __init__(self, problems: list[Problem], hint: str | None = None) -> None:
        self.problems = problems
        text = "\n".join(str(p) for p in problems)
        super().__init__(text, hint)


class InputError(InvalidFlowError):
    """A supplied input value is wrong."""


class StateError(FlowrunError):
    """flowrun's own state or storage failed."""

    exit_code = ExitCode.STATE


class TaskError(Exception):
    """A task attempt failed. Raised inside tasks; the executor turns it into a FAILED attempt.

    `evidence` carries what a user needs to understand the failure (command, exit code, stderr tail...).
    """

    def __init__(self, message: str, evidence: dict | None = None, outputs: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.evidence: dict = evidence or {}
        self.outputs: dict | None = outputs


class TaskKilled(Exception):
    """The task attempt was interrupted (Ctrl-C, SIGTERM, kill)."""

