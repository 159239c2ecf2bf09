"""How a task is coloured by its state on every surface: which state a task shows (its latest task run's, as
Kestra's UI does) and that state's colour in the terminal, in Mermaid/DOT fills and in the SVG drawings."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple


class Colour(NamedTuple):
    style: str  # rich style of the state's name in the terminal
    light: str  # fill of a Mermaid or DOT node (dark text on it)
    solid: str  # fill of an SVG bar or node


#: per task-run state (Kestra's palette, roughly); `UNKNOWN` for any other state
STATE_COLOURS = {
    "SUCCESS": Colour("green", "#c8e6c9", "#2fa66a"), "WARNING": Colour("yellow", "#fff59d", "#e0a800"),
    "FAILED": Colour("red", "#ffcdd2", "#d9534f"), "KILLED": Colour("red", "#ffcdd2", "#8b3a3a"),
    "CANCELLED": Colour("red", "#ffcdd2", "#9e9e9e"), "SKIPPED": Colour("dim", "#eeeeee", "#c7c7c7"),
    "PAUSED": Colour("yellow", "#fff59d", "#8e7cc3"), "RUNNING": Colour("cyan", "#b3e5fc", "#3f7fd8"),
    "RETRYING": Colour("magenta", "#e1bee7", "#f0883e"), "CREATED": Colour("dim", "#eeeeee", "#b0c4de"),
    "QUEUED": Colour("dim", "#eeeeee", "#b0c4de"), "RESTARTED": Colour("cyan", "#b3e5fc", "#5bc0de")}
UNKNOWN = Colour("", "#ffffff", "#bdbdbd")


def colour_of(state: str | None) -> Colour:
    return STATE_COLOURS.get(str(state or ""), UNKNOWN)


def task_states(task_runs: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Task id -> the state of its latest task run (for a loop's child, its last iteration), the run that
    Kestra's topology shows; `task_runs` are task-run dicts (`taskId`, `state`) in the order they were created."""
    return {str(run["taskId"]): str(run["state"]) for run in task_runs}
