"""Issue 11 items 3 and 5: alias bombs, recursive aliases and deep nesting are invalid flows, file by file."""

from __future__ import annotations

import time

import pytest
from conftest import CliResult, Project

from flowrun.errors import InvalidFlowError
from flowrun.load import parse_yaml
from flowrun.templating import TemplateError, render

LOG = "io.kestra.plugin.core.log.Log"
OK_FLOW = f"id: ok\nnamespace: t\ntasks:\n  - id: a\n    type: {LOG}\n    message: hi\n"
# 360 bytes: 9**7 = 4,782,969 "lol" once the aliases are expanded
BOMB = "id: bomb\nnamespace: t\n" + "".join(
    f"{name}: &{name} [{', '.join([prev] * 9)}]\n"
    for name, prev in zip("abcdefg", ['"lol"', "*a", "*b", "*c", "*d", "*e", "*f"], strict=True)
) + "tasks: []\n"
RECURSIVE = "id: rec\nnamespace: t\nx: &a [1, *a]\ntasks: []\n"
DEEP = "id: deep\nnamespace: t\nx: " + "[" * 500 + "]" * 500 + "\ntasks: []\n"
DEEP_BLOCK = "id: deepb\nnamespace: t\ntasks: []\nx:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 300)) + "  " * 300 + "v: 1\n"


def _clean(result: CliResult) -> None:
    out = result.stdout + result.stderr
    assert "Traceback" not in out and "internal error" not in out, out


def test_an_alias_bomb_is_refused_quickly_with_its_line(project: Project) -> None:
    path = project.flow(BOMB, "bomb.yaml")
    started = time.monotonic()
    result = project.cli("validate", str(path))
    assert time.monotonic() - started < 15
    assert result.code == 3
    assert f"{path}:8:4: YAML aliases expand this value to more than 200,000 values" in result.stdout + result.stderr
    _clean(result)


def test_a_recursive_alias_is_an_invalid_flow(project: Project) -> None:
    path = project.flow(RECURSIVE, "rec.yaml")
    for command in ("validate", "run"):
        result = project.cli(command, str(path))
        assert result.code == 3
        assert f"{path}:3:4: recursive YAML alias: this value contains itself" in result.stdout + result.stderr
        _clean(result)


def test_deep_nesting_is_an_invalid_flow() -> None:
    for text, where in ((DEEP, "x.yaml:3:132"), (DEEP_BLOCK, "x.yaml:133:")):
        with pytest.raises(InvalidFlowError) as caught:
            parse_yaml(text, "x.yaml")
        assert str(caught.value).startswith(where) and "nested more than 128 levels deep" in str(caught.value)


def test_reasonable_aliases_and_nesting_still_load() -> None:
    text = ("id: a\nnamespace: t\nbase: &base {retry: 3, tags: [x, y]}\nother: {<<: *base, more: 1}\n"
            "list: [*base, *base]\nnested: " + "[" * 100 + "]" * 100 + "\ntasks: []\n")
    data = parse_yaml(text, "a.yaml").data
    assert data["other"] == {"retry": 3, "tags": ["x", "y"], "more": 1}
    assert data["list"] == [data["base"], data["base"]]


def test_validate_reports_every_file_even_after_a_bad_one(project: Project) -> None:
    good1 = project.flow(OK_FLOW, "a.yaml")
    bad = [project.flow(RECURSIVE, "b.yaml"), project.flow(DEEP, "c.yaml"), project.flow(BOMB, "d.yaml")]
    good2 = project.flow(OK_FLOW.replace("id: ok", "id: ok2"), "e.yaml")
    result = project.cli("validate", str(good1), *map(str, bad), str(good2))
    assert result.code == 3
    out = result.stdout + result.stderr
    assert f"ok  {good1}" in out and f"ok  {good2}" in out
    for path in bad:
        assert f"{path}:" in out
    assert "3 of 5 flow file(s) invalid" in out
    _clean(result)


def test_yaml_function_refuses_recursive_aliases_and_bombs() -> None:
    with pytest.raises(TemplateError, match="Invalid yaml: yaml\\(\\):1:4: recursive YAML alias"):
        render("{{ yaml(text) }}", {"text": "a: &a [1, *a]"})
    with pytest.raises(TemplateError, match="YAML aliases expand this value"):
        render("{{ yaml(text) }}", {"text": BOMB})
    assert render("{{ yaml(text).b }}", {"text": "a: &a [1]\nb: *a"}) == "[1]"
