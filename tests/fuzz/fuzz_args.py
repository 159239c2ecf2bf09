"""Hypothesis strategies for CLI argument lists: commands and options read from flowrun's typer app.

Each command's parameters come from the app itself (so a new option is fuzzed the day it lands). Values are drawn
from pools chosen by the parameter's name: plausible ones (the project's flows, executions, dates) mixed with
hostile ones (empty, huge, unicode, missing files). The pools stay inside the fuzz project: as root, a random
`--home /` would be a real hazard, not a finding.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer.main
from hypothesis import strategies as st

from flowrun import cli

from .fuzz_templates import fuzz_templates

LOCAL_FLOWS = (["flows/hello.yaml", "flows/fail.yaml", "flows/approval.yaml", "flows/daily.yaml", "flows/vault.yaml",
                "flowrun.examples/hello", "fuzz/fail", "fuzz/daily"],
               ["fuzz/nope", "nope/", "/nope", "missing.yaml", "data/inputs.json", "data", "flows", "", "-",
                "cases/../flows/hello.yaml"])
_COMPAT = Path(__file__).resolve().parents[3] / "shared" / "compat"
ANY_FLOWS = (LOCAL_FLOWS[0] + [str(_COMPAT / "zoomcamp" / "current" / "04_postgres_taxi.yaml"), str(_COMPAT / "seed")],
             LOCAL_FLOWS[1] + ["/dev/null"])
DATES = (["2019-01-01", "2019-01-03", "2019-01-01T09:00:00", "2019-01-02T00:00:00Z", "2019-01-01T09:00:00+05:30",
          "2019-01-05T10:00:00", "P30D", "PT12H"],
         ["2019-02-30", "2019-13-01", "0001-01-01", "9999-12-31", "1970-01-01T00:00:00Z", "yesterday", "now",
          "-P1D", "1546333200", "2019-01-01 09:00", "", "2019", "T09:00"])
DURATIONS = (["P1D", "PT1S", "PT0S", "P7D", "PT0.5S"],
             ["-P1D", "P1M", "P1Y", "P999999999D", "PT99999999999999999999S", "1d", "", "P", "PT"])
INTEGERS = (["1", "2", "3", "5"], ["0", "-1", "100", "99999999999999999999", "abc", "1.5", ""])
POOLS: dict[str, tuple[list[str], list[str]]] = {
    "input": (["name=Ana", "times=3", "why=x", "n=2", "approved=true", "token=abc", "name=\u00e9\u4e2d"],
              ["times=0", "times=abc", "times=99999999999999999999", "rowz=3", "noequals", "=v", "name="]),
    "inputs": (["data/inputs.json", "data/inputs.yaml", "data/empty.txt"],
               ["data/list.json", "data/latin1.json", "missing.json", "data"]),
    "label": (["team=fuzz", "a=", "k=v=w"], ["bad", "=x"]),
    "trigger": (["every_day"], ["nope", ""]),
    "date": DATES, "now": DATES, "from_": DATES, "to": DATES, "before": DATES,
    "max_parallel": INTEGERS, "parallel": INTEGERS, "limit": INTEGERS, "count": INTEGERS,
    "format": (["tree", "mermaid", "dot"], ["svg", ""]),
    "state": (["SUCCESS", "FAILED", "PAUSED"], ["RUNNING", "failed", "nope", ""]),
    "task": (["greet", "log", "boom", "wait"], ["nope", ""]),
    "from_task": (["greet", "log", "boom", "first", "use"], ["wait", "nope", ""]),
    "type_": (["STRING", "NUMBER", "BOOLEAN", "DATETIME", "DATE", "DURATION", "JSON", "string"], ["nope", ""]),
    "ttl": DURATIONS, "older_than": DURATIONS,
    "reprocess": (["missing", "failed", "all"], ["ALL", "nope"]),
    "context": (['{"inputs": {"name": "x"}}', "{}", "@data/context.json"], ["not json"]),
    "flow": ANY_FLOWS,
    "namespace": (["fuzz", "flowrun.examples", "zoomcamp"], ["", "bad ns!", "a..b", ".", "\u00dcn\u00ef", "x" * 300]),
    "key": (["greeting", "last_greeting", "missing", "k"], ["", "k k", "\u00fcn\u00ef", "a/b", "x" * 300]),
    "value": (["v", "1", "1.5", "true", "2019-01-01", "P1D", '{"a": 1}', "@data/value.txt"],
              ["", "maybe", "[1, 2", "notanumber", "@data/latin1.json", "@missing.txt", "@", "@data", "\u00e9"]),
    "path": ([".", "flows"], ["missing", "data/value.txt", ""]),
    "paths": ANY_FLOWS,
    "home": ([".flowrun", "other-home"],
             ["data/value.txt", "/dev/null", "", "damaged/empty-db", "damaged/garbage-page-0", "damaged/garbage-page-1",
              "damaged/garbage-page-2", "damaged/not-a-db",
              "damaged/truncated-db", "damaged/garbage-key", "damaged/no-key"]),
}
#: commands that serve until they are stopped (their arguments have their own tests: tests/web, tests/scaleout)
SERVING = (["server"], ["worker"])
NOISE_ARGS = ["extra", "--help", "--bogus", "-x", "--", "extra", "--json", "--input", "=", "\u00e9"]


def commands() -> list[tuple[list[str], Any]]:
    """(command path, click command) for every leaf command of the app."""
    found: list[tuple[list[str], Any]] = []

    def walk(command: Any, path: list[str]) -> None:
        if hasattr(command, "commands"):
            for name, sub in sorted(command.commands.items()):
                walk(sub, [*path, name])
        elif path not in SERVING:
            found.append((path, command))

    walk(typer.main.get_command(cli.app), [])
    return found


COMMANDS = commands()


def _value(name: str, draw: st.DrawFn, executions: list[str], command: list[str]) -> str:
    if name in ("expression",):
        return draw(fuzz_templates()).replace("\x00", "")
    if name in ("execution_id", "execution"):
        ids = executions + [e[:6] for e in executions] + ["", "nope", "0" * 22, "%", "_"]
        return draw(st.sampled_from(ids))
    good, bad = LOCAL_FLOWS if name == "flow" and command[0] in ("run", "backfill", "render") else \
        POOLS.get(name, ([], []))
    kind = draw(st.integers(0, 11))
    if good and kind < 8:
        return draw(st.sampled_from(good))
    if bad and kind < 11:
        return draw(st.sampled_from(bad))
    return draw(st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=10))


def _tokens(param: Any, draw: st.DrawFn, executions: list[str], command: list[str]) -> list[str]:
    if param.param_type_name == "argument":
        count = draw(st.integers(1, 3)) if param.nargs == -1 else 1
        return [_value(param.name, draw, executions, command) for _ in range(count)]
    flag = draw(st.sampled_from(param.opts))
    if param.is_flag:
        return [flag]
    count = draw(st.integers(1, 2)) if param.multiple else 1
    tokens: list[str] = []
    for _ in range(count):
        value = _value(param.name, draw, executions, command)
        tokens += [f"{flag}={value}"] if flag.startswith("--") and draw(st.integers(0, 4)) == 0 else [flag, value]
    return tokens


@st.composite
def cli_arguments(draw: st.DrawFn, executions: list[str]) -> list[str]:
    """A command path, then a random subset of its parameters in random order, and now and then noise."""
    path, command = draw(st.sampled_from(COMMANDS))
    argv = list(path)
    params = [p for p in command.params if p.name != "home" or draw(st.integers(0, 2)) == 0]
    chosen = draw(st.permutations(params))[: draw(st.integers(0, len(params)))]
    arguments = [p for p in params if p.param_type_name == "argument" and (p.required or p in chosen)]
    if draw(st.integers(0, 19)) == 0:  # sometimes leave out a required argument
        arguments = arguments[1:]
    for param in [p for p in chosen if p.param_type_name != "argument"] + arguments:
        argv += _tokens(param, draw, executions, path)
    if draw(st.integers(0, 14)) == 0:
        argv.insert(draw(st.integers(0, len(argv))), draw(st.sampled_from(NOISE_ARGS)))
    return argv
