"""A command line that starts with a group name (`flowrun kv list`) gets an app with that group alone
(flowrun/cli/__init__.py `_typer_app`): its commands, parameters and help are those of the whole app."""

from __future__ import annotations

import typer.main
from typer._click.core import Command, Context  # typer's own copy of click
from typer.core import TyperGroup

from flowrun import cli


def _help(command: Command, *path: str) -> str:
    with Context(command, info_name="flowrun") as root:
        context = root
        for name in path:
            assert isinstance(context.command, TyperGroup)
            sub = context.command.get_command(context, name)
            assert sub is not None, f"no command {' '.join(path)}"
            context = Context(sub, info_name=name, parent=context)
        return context.command.get_help(context)


def test_each_group_alone_has_the_commands_and_help_of_the_whole_app() -> None:
    whole = typer.main.get_command(cli._typer_app())
    assert isinstance(whole, TyperGroup)
    for group in cli.GROUPS:
        alone = typer.main.get_command(cli._typer_app([group, "--help"]))
        assert isinstance(alone, TyperGroup) and list(alone.commands) == [group]
        full_group, lone_group = whole.commands[group], alone.commands[group]
        assert isinstance(full_group, TyperGroup) and isinstance(lone_group, TyperGroup)
        assert list(lone_group.commands) == list(full_group.commands), group
        assert _help(alone, group) == _help(whole, group)
        for name in full_group.commands:
            assert _help(alone, group, name) == _help(whole, group, name), f"{group} {name}"


def test_a_command_line_without_a_group_gets_the_whole_app() -> None:
    assert cli._typer_app(["run", "--help"]) is cli._typer_app() is cli._typer_app(None)
    assert cli._typer_app(["--home", "x", "kv", "list"]) is cli._typer_app()
