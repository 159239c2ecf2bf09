"""`render`: print what an expression renders to, in a given, a flow's or a past execution's context."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from flowrun.cli.options import Home, pairs, read_option_file
from flowrun.errors import UsageError


def render(
    expression: Annotated[str, typer.Argument(help="A Pebble template, e.g. \"{{ inputs.name | upper }}\".")],
    context: Annotated[str | None, typer.Option("--context", help="JSON context, or @file.json.")] = None,
    flow: Annotated[str | None, typer.Option("--flow", help="Render in this flow's context.")] = None,
    input: Annotated[list[str] | None, typer.Option("--input", "-i", help="Input key=value for --flow.")] = None,
    execution: Annotated[str | None, typer.Option("--execution", help="Render in a past execution's "
                                                  "context.")] = None,
    home: Home = None,
) -> None:
    """Print what an expression renders to: the expression debugger.

    Example: flowrun render "{{ 'x_' ~ (trigger.date | date('yyyy-MM')) }}" --context '{"trigger": {"date": "2019-01-01T09:00:00Z"}}'
    """
    from flowrun.app.render import render_expression

    data = _render_context(context) if context else None
    typer.echo(render_expression(expression, data, flow, pairs(input, "input"), execution, home))


def _render_context(context: str) -> dict[str, Any]:
    """The `--context` JSON object, given inline or as @file."""
    text = read_option_file(context[1:], f"--context {context}") if context.startswith("@") else context
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"--context is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise UsageError(f"--context must be a JSON object, got a {type(data).__name__}",
                         hint='e.g. --context \'{"inputs": {"name": "Ana"}}\'')
    return data


def add_commands(app: typer.Typer) -> None:
    """Add `render` to the main CLI."""
    app.command()(render)
