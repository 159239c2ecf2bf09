"""`flowrun run` parsed without typer (flowrun/cli/fastrun.py): it takes exactly what the typer command takes,
gives the same values, and leaves everything else to typer."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pytest

from flowrun.cli import fastrun

ACCEPTED = [
    ["run", "flows/a.yaml"],
    ["run", "flows/a.yaml", "--json"],
    ["run", "--json", "flows/a.yaml", "--input", "name=Ana", "-i", "n=2", "--input=x=y=z"],
    ["run", "flows/a.yaml", "--inputs", "in.json", "--inputs=more.yaml", "--label", "a=b", "-l", "c=d"],
    ["run", "ns/flow", "--trigger", "daily", "--date", "2019-01-02T09:00:00", "--trigger=hourly"],
    ["run", "flows/a.yaml", "--max-parallel", "3", "--home", "/tmp/h", "--home=/tmp/h2"],
    ["run", "-", "--max-parallel=12"],
    ["run", "flows/a.yaml", "--detach", "--json"],
]
REFUSED = [
    [], ["validate", "flows/a.yaml"], ["run"], ["run", "a.yaml", "b.yaml"], ["run", "--help"], ["run", "-h"],
    ["run", "a.yaml", "--unknown"], ["run", "a.yaml", "-iname=Ana"], ["run", "a.yaml", "--json=1"],
    ["run", "a.yaml", "--input"], ["run", "a.yaml", "--max-parallel", "two"], ["run", "a.yaml", "--max-parallel",
                                                                              "-1"],
    ["run", "a.yaml", "--max-parallel", " 3"], ["run", "a.yaml", "--input", "--json"], ["run", "--", "a.yaml"],
    ["run", "a.yaml", "-i=x=1"], ["--home", "h", "run", "a.yaml"],
]


def _typer_kwargs(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """What the typer `run` command hands to run_command for `argv`."""
    from typer.testing import CliRunner

    import flowrun.cli.run
    from flowrun.cli import app

    seen: dict[str, Any] = {}
    names = list(inspect.signature(fastrun.run_command).parameters)

    def capture(*args: Any) -> int:
        seen.update(zip(names, args, strict=True))
        return 0

    monkeypatch.setattr(flowrun.cli.run, "run_command", capture)
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 0, result.output
    return seen


def _defaults() -> dict[str, Any]:
    return {name: p.default for name, p in inspect.signature(fastrun.run_command).parameters.items()
            if p.default is not inspect.Parameter.empty}


@pytest.mark.parametrize("argv", ACCEPTED, ids=lambda a: " ".join(a))
def test_an_accepted_command_line_gives_what_typer_gives(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    fast = fastrun.parse_run(argv)
    assert fast is not None
    assert {**_defaults(), **fast} == _typer_kwargs(argv, monkeypatch)


@pytest.mark.parametrize("argv", REFUSED, ids=lambda a: " ".join(a) or "empty")
def test_anything_else_is_left_to_typer(argv: list[str]) -> None:
    assert fastrun.parse_run(argv) is None


def test_the_options_are_the_typer_commands_own() -> None:
    """A new option of `flowrun run` must be added to fastrun.OPTIONS (until then typer parses it: slower)."""
    import typer.main

    from flowrun.cli import app

    command = typer.main.get_command(app).commands["run"]  # type: ignore[attr-defined]
    spellings: dict[str, tuple[str, str]] = {}
    for param in command.params:
        if param.param_type_name != "option":
            assert param.name == "flow"
            continue
        kind = "flag" if param.is_flag else "list" if param.multiple else "int" if param.name == "max_parallel" \
            else "one"
        for spelling in (*param.opts, *param.secondary_opts):
            spellings[spelling] = (str(param.name), kind)
    assert spellings == fastrun.OPTIONS
    assert set(inspect.signature(fastrun.run_command).parameters) == {p.name for p in command.params}


def test_a_cached_run_imports_no_typer(tmp_path: Path) -> None:
    """The fast path end to end: `flowrun run` of a cached flow never imports typer (nor PyYAML), nor pydantic (its
    models are plain classes: flowrun/model/lite.py), nor the state records that only schedules, purges and
    listings use (their dataclasses cost ~4 ms to create), nor `dataclasses` and the `inspect` it imports (~13 ms:
    the classes a run creates are plain, flowrun/plain.py)."""
    import os
    import subprocess
    import sys

    from helpers import flow_text

    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "hello.yaml").write_text(flow_text("flow_cache/hello.yaml", message="hi"),
                                                   encoding="utf-8")
    probe = ("import sys, atexit\n"
             "atexit.register(lambda: print('MODULES', ','.join(m for m in ('typer', 'yaml', 'flowrun.validate',"
             " 'flowrun.state.records', 'pydantic', 'dataclasses', 'inspect')"
             " if m in sys.modules), file=sys.stderr))\n"
             "sys.argv = ['flowrun', 'run', 'flows/hello.yaml']\nfrom flowrun.cli import main\nmain()\n")
    env = {**os.environ, "FLOWRUN_HOME": str(tmp_path / "home")}
    runs = [subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True)
            for _ in range(2)]
    assert [r.returncode for r in runs] == [0, 0], runs[0].stderr
    assert "MODULES yaml,flowrun.validate,pydantic" in runs[0].stderr  # the cold run parses and validates
    assert "MODULES \n" in runs[1].stderr or runs[1].stderr.rstrip().endswith("MODULES")


TICK_ACCEPTED = [["tick"], ["tick", "proj"], ["tick", "--now", "2019-01-02T00:00:00Z", "--json"],
                 ["tick", "--home=/tmp/h", "proj", "--now=2019-01-02"]]
TICK_REFUSED = [["tick", "a", "b"], ["tick", "--help"], ["tick", "--now"], ["tick", "--count", "3"]]


def test_tick_command_lines_give_what_typer_gives(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    import flowrun.cli.fastrun
    from flowrun.cli import app

    names = list(inspect.signature(fastrun.tick_command).parameters)
    defaults = {name: p.default for name, p in inspect.signature(fastrun.tick_command).parameters.items()}
    for argv in TICK_ACCEPTED:
        seen: dict[str, Any] = {}

        def capture(*args: Any, seen: dict[str, Any] = seen) -> int:
            seen.update(zip(names, args, strict=True))
            return 0

        monkeypatch.setattr(flowrun.cli.fastrun, "tick_command", capture)
        result = CliRunner().invoke(app, argv)
        assert result.exit_code == 0, result.output
        monkeypatch.undo()
        fast = fastrun.parse_fast(argv)
        assert fast is not None and fast[0] is fastrun.tick_command
        assert {**defaults, **fast[1]} == seen, argv
    for argv in TICK_REFUSED:
        assert fastrun.parse_fast(argv) is None, argv


def test_the_tick_options_are_the_typer_commands_own() -> None:
    import typer.main

    from flowrun.cli import app

    command = typer.main.get_command(app).commands["tick"]  # type: ignore[attr-defined]
    spellings = {spelling: (str(param.name), "flag" if param.is_flag else "one")
                 for param in command.params if param.param_type_name == "option"
                 for spelling in (*param.opts, *param.secondary_opts)}
    assert spellings == fastrun.TICK_OPTIONS
    assert set(inspect.signature(fastrun.tick_command).parameters) == {p.name for p in command.params}


def test_the_program_exits_quickly_but_as_python_would(tmp_path: Path) -> None:
    """`entry` skips the interpreter's teardown only: non-daemon threads are joined, atexit handlers run, the
    output is flushed, and the exit code is main's."""
    import subprocess
    import sys

    probe = ("import atexit, sys, threading, time\n"
             f"marker, joined = {str(tmp_path / 'atexit')!r}, {str(tmp_path / 'joined')!r}\n"
             "atexit.register(lambda: open(marker, 'w').write('ran'))\n"
             "threading.Thread(target=lambda: (time.sleep(0.3), open(joined, 'w').write('ran'))).start()\n"
             "sys.stdout.write('x' * 200000)\n"
             "sys.argv = ['flowrun', 'run', 'missing.yaml']\nfrom flowrun.cli import entry\nentry()\n")
    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True,
                          env={**__import__("os").environ, "FLOWRUN_HOME": str(tmp_path / "home")})
    assert done.returncode == 3, done.stderr
    assert "file not found" in done.stderr
    assert done.stdout == "x" * 200000
    assert (tmp_path / "atexit").read_text() == "ran"
    assert (tmp_path / "joined").read_text() == "ran"
