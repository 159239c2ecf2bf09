"""The errors a template can raise: the public `TemplateError` and the internal "not found" signal."""

from __future__ import annotations

from flowrun.errors import ExitCode, FlowrunError


class TemplateError(FlowrunError):
    """A template could not be parsed or rendered. `message` is user-facing; `template` is the source.

    `line` is the template's own line of the failure (0 when unknown)."""

    exit_code = ExitCode.INVALID

    def __init__(self, message: str, template: str = "", line: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.template = template
        self.line = line

    def __str__(self) -> str:
        return self.message


class MissingError(TemplateError):
    """A variable or attribute does not exist (Pebble's `AttributeNotFoundException`).

    Caught by `is defined`, `??`, `???` and the `default` filter; otherwise reported as
    "Unable to find `name` used in the expression `template` at line N".
    """

    def __init__(self, name: str, line: int = 1) -> None:
        super().__init__(f"Unable to find `{name}`")
        self.name = name
        self.line = line


class EvalError(TemplateError):
    """A runtime error inside an expression; `line` is filled in by the evaluator when known."""

    def __init__(self, message: str, line: int = 0) -> None:
        super().__init__(message)
        self.line = line
