"""The README stays honest: its commands exist, its exit codes match the code, its example flow runs."""

from __future__ import annotations

import re

from conftest import ROOT

from flowrun.errors import EXIT_CODE_MEANINGS, ExitCode

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_command_in_the_cli_table_exists() -> None:
    """Each command of the README's table answers --help with an example (in-process: the help of the app
    that `python -m flowrun` builds; tests/cli/test_group_app.py checks the group-only apps against it)."""
    from typer.testing import CliRunner

    from flowrun.cli import app

    runner = CliRunner()
    commands = set(re.findall(r"^\| `flowrun ([a-z]+)(?: ([a-z|]+))?", README, re.MULTILINE))
    assert len(commands) >= 14
    for command, sub in sorted(commands):
        subs = [s for s in sub.split("|") if s and s.isalpha()] if sub and "|" in sub else []
        for argv in ([[command, s] for s in subs] or [[command]]):
            done = runner.invoke(app, [*argv, "--help"])
            assert done.exit_code == 0, f"flowrun {' '.join(argv)} --help: {done.output}"
            assert "Example" in done.output or subs == [] and "Commands" in done.output, " ".join(argv)


def test_exit_code_table_matches_the_code() -> None:
    table = dict(re.findall(r"^\| (\d) \| ([^|]+) \|$", README, re.MULTILINE))
    assert table["0"].startswith("the execution ended SUCCESS or WARNING")
    assert {int(k) for k in table} == {ExitCode.OK, ExitCode.FLOW_FAILED, ExitCode.USAGE, ExitCode.INVALID,
                                       ExitCode.STATE, ExitCode.PAUSED}
    assert "PAUSED" in table[str(ExitCode.PAUSED)] and "invalid" in table[str(ExitCode.INVALID)]


def test_exit_code_table_is_the_one_of_the_code_and_of_help() -> None:
    from typer.testing import CliRunner

    from flowrun.cli import app

    table = {int(k): v for k, v in re.findall(r"^\| (\d) \| ([^|]+) \|$", README, re.MULTILINE)}
    assert table == EXIT_CODE_MEANINGS
    shown = " ".join(CliRunner().invoke(app, ["--help"]).output.split())
    for code, meaning in EXIT_CODE_MEANINGS.items():
        assert f"{code} {meaning}" in shown, code


def _cli_rows() -> list[tuple[list[list[str]], list[str]]]:
    """(argv of each command named, options mentioned) for every row of the README's CLI table."""
    rows = []
    for span in re.findall(r"^\| `(flowrun [^`]+)`", README, re.MULTILINE):
        words = span.split()
        subs = words[2].split("\\|") if len(words) > 2 and re.fullmatch(r"[a-z]+(\\\|[a-z]+)*", words[2]) else []
        argvs = [[words[1], sub] for sub in subs] or [[words[1]]]
        rows.append((argvs, re.findall(r"--[a-z][a-z-]*", span)))
    return rows


def test_every_option_in_the_cli_table_is_in_help() -> None:
    from typer.testing import CliRunner

    from flowrun.cli import app

    runner = CliRunner()
    rows = _cli_rows()
    assert len(rows) >= 14 and any(options for _, options in rows)
    for argvs, options in rows:
        helps = ""
        for argv in argvs:
            result = runner.invoke(app, [*argv, "--help"])
            assert result.exit_code == 0, (argv, result.output)
            helps += result.output
        missing = [option for option in options if not re.search(rf"{option}\b", helps)]
        assert missing == [], f"README mentions {missing} for {argvs}, --help does not"


def test_every_command_of_help_is_in_the_cli_table() -> None:
    """The other way round: each command and subcommand `--help` lists has a row (or is named in one)."""
    import typer

    from flowrun.cli import app

    named = {tuple(argv) for argvs, _ in _cli_rows() for argv in argvs}
    table = "\n".join(line for line in README.splitlines() if line.startswith("| `flowrun "))
    root = typer.main.get_command(app)
    missing = []
    for name, command in root.commands.items():  # type: ignore[attr-defined]
        subs = getattr(command, "commands", None)
        for argv in ([(name, sub) for sub in subs] if subs else [(name,)]):
            if argv not in named and f"flowrun {' '.join(argv)}" not in table:
                missing.append(" ".join(argv))
    assert missing == [], f"commands without a README row: {missing}"


def test_the_two_commands_come_first() -> None:
    first_block = README.split("```", 2)[1]
    assert "make run" in first_block and "make test" in first_block
