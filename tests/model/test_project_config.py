"""`flowrun.yaml`: empty or comment-only means all defaults; anything but a mapping is a clear config error."""

from __future__ import annotations

import pytest
from conftest import Project

FLOW = """\
id: hello
namespace: t
tasks:
  - id: say
    type: io.kestra.plugin.core.log.Log
    message: hi
"""


@pytest.mark.parametrize("text", ["", "\n\n", "# settings come later\n# (none yet)\n", "---\n# nothing\n"])
def test_an_empty_or_comment_only_config_means_all_defaults(project: Project, text: str) -> None:
    (project.root / "flowrun.yaml").write_text(text, encoding="utf-8")
    project.flow(FLOW, "hello.yaml")
    checked = project.cli("validate", "flows/hello.yaml")
    assert checked.code == 0 and "ok  flows/hello.yaml" in checked.stdout, checked
    ran = project.cli("run", "flows/hello.yaml", env={"FLOWRUN_HOME": ""})
    assert ran.code == 0, ran
    assert (project.root / ".flowrun" / "state.db").is_file()  # the default state dir


@pytest.mark.parametrize(("text", "kind"), [("- home: x\n- maxParallel: 2\n", "a list"),
                                            ("just words\n", "the str 'just words'")])
def test_a_config_that_is_not_a_mapping_names_the_file(project: Project, text: str, kind: str) -> None:
    config = project.config(text)
    project.flow(FLOW, "hello.yaml")
    for args in (("validate", "flows/hello.yaml"), ("executions", "list")):
        result = project.cli(*args)
        assert result.code == 3, result
        assert f"{config}:1: the project config must be a mapping of settings, not {kind}" in result.stderr
        assert "hint: write `key: value` lines" in result.stderr
        assert "a flow needs" not in result.stderr and "Traceback" not in result.stderr
