"""Help that reads like a manual: metavars such as FLOW, KEY=VALUE and FILE instead of typer's `<list[str]>`."""

from __future__ import annotations

from typing import Any

#: the metavar of a parameter that does not name its own, by parameter name
METAVARS = {"flow": "FLOW", "input": "KEY=VALUE", "label": "KEY=VALUE", "inputs": "FILE", "home": "DIR",
            "execution_id": "ID", "execution": "ID", "reprocess": "MODE", "expression": "EXPR", "context": "JSON|@FILE", "db": "FILE", "path": "PATH",
            "paths": "PATH...", "namespace": "NAMESPACE", "key": "KEY", "value": "VALUE", "older_than": "DURATION",
            "ttl": "DURATION", "before": "DATE|DURATION", "from_task": "TASK", "task": "TASK",
            "date": "DATE", "now": "DATE", "from_": "DATE", "to": "DATE", "since": "DATE", "until": "DATE"}


def metavar_of(param: Any) -> str:
    """The explicit metavar, else the table's, else N for a number and the upper-cased name for the rest."""
    if param.metavar:
        return str(param.metavar)
    name = str(param.name or "value")
    if name in METAVARS:
        return METAVARS[name]
    annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
    return "N" if annotation is int else name.rstrip("_").upper()


def _argument_usage(self: Any) -> str:
    name = metavar_of(self)
    if self.nargs != 1 and not name.endswith("..."):
        name += "..."
    return name if self.required else f"[{name}]"


def install() -> None:
    """Make typer's help show `metavar_of` for options and arguments (a no-op for a typer without these hooks)."""
    from typer import core

    if hasattr(core.TyperOption, "display_type_rich"):
        core.TyperOption.display_type_rich = lambda self, ctx: metavar_of(self)  # type: ignore[method-assign]
    if hasattr(core.TyperArgument, "_usage_display_name"):
        core.TyperArgument._usage_display_name = _argument_usage  # type: ignore[method-assign]
        core.TyperArgument._rich_display_name = lambda self: metavar_of(self)  # type: ignore[method-assign]
        core.TyperArgument.display_type_rich = lambda self, ctx: None  # type: ignore[method-assign]
