"""The validated-flow cache (flowrun/flow_cache.py): a second load of an unchanged flow file validates nothing,
and each input of the validated result (the file, flowrun.yaml, a plugin default, flowrun's version and code,
pydantic's version) invalidates it exactly; a corrupt entry is rebuilt, never an error."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import Project
from helpers import flow_text

import flowrun
from flowrun import flow_cache
from flowrun.load import load_project_flow
from flowrun.project import open_project


@pytest.fixture
def validations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files validated (parsed and built into a Flow), in order."""
    import flowrun.validate

    seen: list[str] = []
    real = flowrun.validate.validate_document

    def counting(doc, defaults=()):  # type: ignore[no-untyped-def]
        seen.append(Path(doc.file).name)
        return real(doc, defaults)

    monkeypatch.setattr(flowrun.validate, "validate_document", counting)
    monkeypatch.setattr(flow_cache, "_fingerprint", None)
    return seen


def _load(project: Project, path: Path):  # type: ignore[no-untyped-def]
    return load_project_flow(path, open_project(str(project.home), project.root))


def _message(flow) -> str:  # type: ignore[no-untyped-def]
    return str(flow.tasks[0].message)


def test_a_second_load_of_an_unchanged_file_validates_nothing(project: Project, validations: list[str]) -> None:
    path = project.flow_file("flow_cache/hello.yaml", "hello.yaml", message="one")
    first, second = _load(project, path), _load(project, path)
    assert validations == ["hello.yaml"]
    assert _message(first) == _message(second) == "one"
    assert second.document.locate(("tasks", 0, "message"))[0] == first.document.locate(("tasks", 0, "message"))[0]
    assert list((project.home / "cache" / "flows").iterdir())


def test_a_changed_file_is_validated_again(project: Project, validations: list[str]) -> None:
    path = project.flow_file("flow_cache/hello.yaml", "hello.yaml", message="one")
    _load(project, path)
    path.write_text(flow_text("flow_cache/hello.yaml", message="two"), encoding="utf-8")
    assert _message(_load(project, path)) == "two"
    assert validations == ["hello.yaml", "hello.yaml"]


def test_a_changed_flowrun_yaml_is_validated_again(project: Project, validations: list[str]) -> None:
    path = project.flow_file("flow_cache/hello.yaml", "hello.yaml", message="one")
    project.config("# the project\n")
    _load(project, path)
    project.config("# the project, edited\n")
    _load(project, path)
    _load(project, path)
    assert validations == ["hello.yaml", "hello.yaml"]


def test_a_changed_plugin_default_is_validated_again(project: Project, validations: list[str]) -> None:
    path = project.flow_file("flow_cache/hello.yaml", "hello.yaml", message="one")
    project.config(flow_text("flow_cache/flowrun_defaults.yaml", level="WARN"))
    assert _load(project, path).tasks[0].level == "WARN"
    project.config(flow_text("flow_cache/flowrun_defaults.yaml", level="ERROR"))
    assert _load(project, path).tasks[0].level == "ERROR"
    assert validations == ["hello.yaml", "hello.yaml"]


def test_the_plugin_defaults_handed_to_validation_are_part_of_the_key(project: Project,
                                                                      validations: list[str]) -> None:
    """Defaults that do not come from the bytes of flowrun.yaml (a caller's own) invalidate as well."""
    from flowrun.model.base import PluginDefault

    path = project.flow_file("flow_cache/hello.yaml", "hello.yaml", message="one")
    loaded = open_project(str(project.home), project.root)
    load_project_flow(path, loaded)
    loaded.config.plugin_defaults = [PluginDefault(type="io.kestra.plugin.core.log.Log", values={"level": "DEBUG"})]
    assert load_project_flow(path, loaded).tasks[0].level == "DEBUG"
    assert validations == ["hello.yaml", "hello.yaml"]


def test_another_flowrun_version_is_validated_again(project: Project, validations: list[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    path = project.flow_file("flow_cache/hello.yaml", "hello.yaml", message="one")
    _load(project, path)
    monkeypatch.setattr(flowrun, "__version__", flowrun.__version__ + ".post1")
    monkeypatch.setattr(flow_cache, "_fingerprint", None)
    _load(project, path)
    assert validations == ["hello.yaml", "hello.yaml"]


def test_edited_flowrun_code_is_validated_again(project: Project, validations: list[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A checkout edited without a new version: a source file's size or mtime is part of the key."""
    path = project.flow_file("flow_cache/hello.yaml", "hello.yaml", message="one")
    _load(project, path)
    real = flow_cache._source_files
    monkeypatch.setattr(flow_cache, "_source_files", lambda root: [*real(root), f"{root}/new.py\x000\x001\n"])
    monkeypatch.setattr(flow_cache, "_fingerprint", None)
    _load(project, path)
    assert validations == ["hello.yaml", "hello.yaml"]


def test_another_pydantic_is_validated_again(project: Project, validations: list[str], tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """What validation accepts depends on pydantic: the first `pydantic/version.py` on sys.path (its path, size and
    mtime; found, not imported) is part of the key."""
    import sys

    path = project.flow_file("flow_cache/hello.yaml", "hello.yaml", message="one")
    _load(project, path)
    upgraded = tmp_path / "site" / "pydantic"
    upgraded.mkdir(parents=True)
    (upgraded / "version.py").write_text("VERSION = '99.0'\n", encoding="utf-8")
    monkeypatch.setattr(sys, "path", [str(tmp_path / "site"), *sys.path])
    monkeypatch.setattr(flow_cache, "_fingerprint", None)
    _load(project, path)
    assert validations == ["hello.yaml", "hello.yaml"]


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty", "directory", "unreadable", "not-a-flow"])
def test_a_corrupt_or_unreadable_entry_is_rebuilt(project: Project, validations: list[str], damage: str) -> None:
    path = project.flow_file("flow_cache/hello.yaml", "hello.yaml", message="one")
    _load(project, path)
    entry = flow_cache.entry_path(project.home, path)
    good = entry.read_bytes()
    if damage == "garbage":
        entry.write_bytes(os.urandom(200))
    elif damage == "truncated":
        entry.write_bytes(good[: len(good) - 40])
    elif damage == "empty":
        entry.write_bytes(b"")
    elif damage == "directory":
        entry.unlink()
        entry.mkdir()
    elif damage == "unreadable":
        entry.chmod(0)
    else:  # the right key, but a pickle of something else
        import pickle

        key = good[len(flow_cache._FORMAT): len(flow_cache._FORMAT) + 32]
        entry.write_bytes(flow_cache._FORMAT + key + pickle.dumps({"not": "a flow"}))
    assert _message(_load(project, path)) == "one"
    assert len(validations) == (1 if damage == "unreadable" and os.geteuid() == 0 else 2)
    if damage != "directory":
        assert _message(_load(project, path)) == "one"
        assert len(validations) <= 2  # rebuilt once, then served from the cache


def test_flowrun_run_uses_the_cache_on_the_second_run(project: Project) -> None:
    """The whole command: a cold run validates (and stores), the second run is served by the cache."""
    path = project.flow_file("flow_cache/hello.yaml", "hello.yaml", message="cached hello")
    first = project.cli("run", str(path.relative_to(project.root)))
    assert first.code == 0, first.stderr
    entries = list((project.home / "cache" / "flows").iterdir())
    assert len(entries) == 1
    stored = entries[0].stat().st_mtime_ns
    second = project.cli("run", str(path.relative_to(project.root)))
    assert second.code == 0, second.stderr
    assert "cached hello" in second.stdout
    assert entries[0].stat().st_mtime_ns == stored  # read, not rewritten
