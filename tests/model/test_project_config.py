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


def _validations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    import flowrun.project

    seen: list[str] = []
    real = flowrun.project._validate_config

    def counting(path, source):  # type: ignore[no-untyped-def]
        seen.append(source.decode())
        return real(path, source)

    monkeypatch.setattr(flowrun.project, "_validate_config", counting)
    return seen


def test_an_unchanged_config_is_validated_once_and_a_changed_one_again(project: Project,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The validated flowrun.yaml is kept under the state dir, keyed by its path and bytes (and flowrun's code)."""
    from flowrun.project import open_project

    seen = _validations(monkeypatch)
    project.config("maxParallel: 3\nglobals:\n  region: eu\n")
    first, second = open_project(str(project.home), project.root), open_project(str(project.home), project.root)
    assert (first.config.max_parallel, second.config.max_parallel, second.config.globals) == (3, 3, {"region": "eu"})
    assert seen == ["maxParallel: 3\nglobals:\n  region: eu\n"]
    assert list((project.home / "cache" / "config").iterdir())
    project.config("maxParallel: 5\n")
    assert open_project(str(project.home), project.root).config.max_parallel == 5
    assert seen[1:] == ["maxParallel: 5\n"]


def test_an_invalid_config_is_reported_on_every_load(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    from flowrun.errors import InvalidFlowError
    from flowrun.project import open_project

    seen = _validations(monkeypatch)
    project.config("maxParallel: 0\n")
    for _ in range(2):
        with pytest.raises(InvalidFlowError, match="maxParallel must be at least 1"):
            open_project(str(project.home), project.root)
    assert len(seen) == 2


def test_a_config_naming_another_state_dir_leaves_the_default_one_alone(project: Project, tmp_path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Without --home or FLOWRUN_HOME, the default state dir keeps the config only when the config names no other
    (a `home:` elsewhere is validated on each load, and no `.flowrun` dir appears in the project)."""
    from flowrun.project import open_project

    monkeypatch.delenv("FLOWRUN_HOME", raising=False)
    seen = _validations(monkeypatch)
    project.config(f"home: {tmp_path / 'elsewhere'}\n")
    for _ in range(2):
        assert open_project(None, project.root).home == tmp_path / "elsewhere"
    assert len(seen) == 2 and not (project.root / ".flowrun").exists()
    project.config("maxParallel: 2\n")
    for _ in range(2):
        assert open_project(None, project.root).home == project.root / ".flowrun"
    assert len(seen) == 3 and list((project.root / ".flowrun" / "cache" / "config").iterdir())


def test_a_cached_run_with_a_config_imports_neither_pyyaml_nor_pydantic(project: Project) -> None:
    import os
    import subprocess
    import sys

    project.config("maxParallel: 3\npluginDefaults:\n  - type: io.kestra.plugin.core.log.Log\n    values:\n"
                   "      level: WARN\n")
    project.flow(FLOW, "hello.yaml")
    probe = ("import sys, atexit\n"
             "atexit.register(lambda: print('MODULES', ','.join(m for m in ('yaml', 'pydantic') if m in sys.modules),"
             " file=sys.stderr))\n"
             "sys.argv = ['flowrun', 'run', 'flows/hello.yaml']\nfrom flowrun.cli import main\nmain()\n")
    env = {**os.environ, "FLOWRUN_HOME": str(project.home)}
    runs = [subprocess.run([sys.executable, "-c", probe], cwd=project.root, env=env, capture_output=True, text=True)
            for _ in range(2)]
    assert [r.returncode for r in runs] == [0, 0], runs[0].stderr
    assert "MODULES yaml,pydantic" in runs[0].stderr
    assert "MODULES \n" in runs[1].stderr or runs[1].stderr.rstrip().endswith("MODULES")
    assert "WARN  say: hi" in runs[1].stdout, runs[1].stdout  # the cached config's plugin default applies
