"""Recognise `beforeCommands` that only build and activate a virtualenv, so they can be served from the cache."""

from __future__ import annotations

import shlex
from pathlib import Path

from flowrun.plain import Plain
from flowrun.scripts.venvs import normalize_requirements, read_requirements_file

_OPERATOR_CHARS = set("();<>|&")
_PYTHONS = {"python", "python3"}
_QUIET_FLAGS = {"-q", "--quiet", "-qq", "--no-cache-dir", "--disable-pip-version-check", "--no-input",
                "--root-user-action=ignore", "--progress-bar=off"}


class VenvPlan(Plain):
    """beforeCommands recognised as: create DIR, activate DIR, pip install requirements into it."""

    FIELDS = ("venv_dir", "python", "requirements", "seed", "upgrade", "served")

    def __init__(self, venv_dir: str, python: str, requirements: tuple[str, ...], seed: bool, upgrade: bool = False,
                 served: list[int] | None = None) -> None:
        self.venv_dir = venv_dir
        self.python = python  # the command that created it (`python3`, `python`, or `uv`)
        self.requirements = requirements
        self.seed = seed
        self.upgrade = upgrade
        #: indexes (into the beforeCommands lines) that the cache replaces; the others run as written
        self.served: list[int] = [] if served is None else served


def split_lines(before_commands: list[str]) -> list[str]:
    """Each beforeCommands entry may hold several lines; the program runs them one per line."""
    return [line for entry in before_commands for line in str(entry).splitlines()]


def _tokens(line: str) -> list[str] | None:
    """Words of a simple command line; None when it uses expansions, redirections or operators."""
    if "$" in line or "`" in line:
        return None
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    try:
        tokens = list(lexer)
    except ValueError:
        return None
    if any(tok and set(tok) <= _OPERATOR_CHARS for tok in tokens):
        return None
    return tokens


def _venv_create(tokens: list[str]) -> tuple[str, str] | None:
    if len(tokens) == 4 and tokens[0] in _PYTHONS and tokens[1:3] == ["-m", "venv"]:
        return tokens[0], tokens[3]
    if len(tokens) == 3 and tokens[:2] == ["uv", "venv"]:
        return "uv", tokens[2]
    return None


def _activated_dir(tokens: list[str]) -> str | None:
    if len(tokens) == 2 and tokens[0] in (".", "source") and tokens[1].endswith("/bin/activate"):
        return tokens[1][: -len("/bin/activate")]
    return None


def _pip_args(tokens: list[str]) -> list[str] | None:
    if len(tokens) >= 2 and tokens[0] in ("pip", "pip3") and tokens[1] == "install":
        return tokens[2:]
    if len(tokens) >= 4 and tokens[0] in _PYTHONS and tokens[1:4] == ["-m", "pip", "install"]:
        return tokens[4:]
    return None


def _same_dir(a: str, b: str) -> bool:
    return Path(a.rstrip("/")) == Path(b.rstrip("/"))


def _requirements(args: list[str], cwd: Path) -> tuple[list[str], bool] | None:
    """Requirement lines named by one `pip install` (files read from `cwd`), and whether it upgrades."""
    reqs: list[str] = []
    upgrade = False
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in ("-r", "--requirement"):
            if i + 1 >= len(args):
                return None
            arg, i = "-r" + args[i + 1], i + 1
        if arg.startswith("--requirement="):
            arg = "-r" + arg.split("=", 1)[1]
        if arg.startswith("-r"):
            lines = read_requirements_file(cwd / arg[2:])
            if lines is None:
                return None
            reqs += lines
        elif arg in ("-U", "--upgrade"):
            upgrade = True
        elif arg in _QUIET_FLAGS:
            pass
        elif arg.startswith("-"):
            return None
        else:
            reqs.append(arg)
        i += 1
    return reqs, upgrade


def plan_venv(lines: list[str], cwd: Path) -> VenvPlan | None:
    """A plan when every non-blank line is a create / activate / pip-install form about one venv in `cwd`."""
    created: tuple[str, str] | None = None
    activated = False
    reqs: list[str] = []
    upgrade = False
    served: list[int] = []
    for index, line in enumerate(lines):
        tokens = _tokens(line)
        if tokens is None:
            return None
        if not tokens:
            continue
        if (create := _venv_create(tokens)) is not None:
            if created is not None:
                return None
            created = create
            served.append(index)
        elif (folder := _activated_dir(tokens)) is not None:
            if created is None or not _same_dir(folder, created[1]):
                return None
            activated = True
        elif (args := _pip_args(tokens)) is not None:
            if not activated:
                return None
            found = _requirements(args, cwd)
            if found is None:
                return None
            reqs += found[0]
            upgrade = upgrade or found[1]
            served.append(index)
        else:
            return None
    if created is None or not activated:
        return None
    target = (cwd / created[1]).resolve() if not Path(created[1]).is_absolute() else Path(created[1])
    if cwd.resolve() not in target.parents:
        return None
    normalized = normalize_requirements(reqs)
    if normalized is None:
        return None
    return VenvPlan(created[1], created[0], normalized, seed=created[0] != "uv", upgrade=upgrade, served=served)
