"""The error tree: every error flowrun reports, with its exit code and a hint."""

from __future__ import annotations

from flowrun.plain import Plain


class ExitCode:
    OK = 0
    FLOW_FAILED = 1
    USAGE = 2
    INVALID = 3
    STATE = 4
    PAUSED = 5


#: What each exit code means: shown by `flowrun --help`, and the README's "Exit codes" table (a test keeps them equal).
EXIT_CODE_MEANINGS = {
    ExitCode.OK: "the execution ended SUCCESS or WARNING (or the command succeeded)",
    ExitCode.FLOW_FAILED: "the execution ended FAILED, KILLED or CANCELLED, or the KV key asked for does not exist "
                          "(or has expired), or git failed in `flowrun git` (remote, credentials, branch, push)",
    ExitCode.USAGE: "usage error: a bad option or argument (`--input` without `=`, a bad `--context`), an unknown "
                    "execution id, a KV namespace or key that breaks Kestra's naming rule",
    ExitCode.INVALID: "the flow or its inputs are invalid, so nothing ran; also an undeclared input, a template "
                      "error in `render`, a KV value that is not of its `--type`",
    ExitCode.STATE: "flowrun's own state or storage failed (for example an unwritable state dir, a damaged state DB, "
                    "a lost `secret.key`)",
    ExitCode.PAUSED: "the execution is PAUSED; continue it with `flowrun resume ID`",
}


class Problem(Plain):
    """One located problem: `file:line:col: where: message`. A "warning" does not make the flow invalid."""

    FIELDS = ("message", "file", "line", "column", "where", "severity")

    def __init__(self, message: str, file: str | None = None, line: int | None = None, column: int | None = None,
                 where: str | None = None, severity: str = "error") -> None:
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        self.where = where
        self.severity = severity

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

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
        severity = "" if self.is_error else f"{self.severity}: "
        return f"{severity}{loc}{where}{self.message}"


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


class InvalidValueError(FlowrunError):
    """A value given on the command line is invalid (e.g. the expression of `render`): nothing was done."""

    exit_code = ExitCode.INVALID


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

