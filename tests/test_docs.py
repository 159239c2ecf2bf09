"""The README stays honest: its commands exist, its exit codes match the code, its example flow runs."""

from __future__ import annotations

import re
import subprocess
import sys

from conftest import ROOT

from flowrun.errors import ExitCode

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_command_in_the_cli_table_exists() -> None:
    commands = set(re.findall(r"^\| `flowrun ([a-z]+)(?: ([a-z|]+))?", README, re.MULTILINE))
    assert len(commands) >= 14
    for command, sub in sorted(commands):
        subs = [s for s in sub.split("|") if s and s.isalpha()] if sub and "|" in sub else []
        for argv in ([[command, s] for s in subs] or [[command]]):
            done = subprocess.run([sys.executable, "-m", "flowrun", *argv, "--help"], capture_output=True, text=True)
            assert done.returncode == 0, f"flowrun {' '.join(argv)} --help: {done.stderr}"
            assert "Example" in done.stdout or subs == [] and "Commands" in done.stdout, " ".join(argv)


def test_exit_code_table_matches_the_code() -> None:
    table = dict(re.findall(r"^\| (\d) \| ([^|]+) \|$", README, re.MULTILINE))
    assert table["0"].startswith("the execution ended SUCCESS or WARNING")
    assert {int(k) for k in table} == {ExitCode.OK, ExitCode.FLOW_FAILED, ExitCode.USAGE, ExitCode.INVALID,
                                       ExitCode.STATE, ExitCode.PAUSED}
    assert "PAUSED" in table[str(ExitCode.PAUSED)] and "invalid" in table[str(ExitCode.INVALID)]


def test_the_two_commands_come_first() -> None:
    first_block = README.split("```", 2)[1]
    assert "make run" in first_block and "make test" in first_block
