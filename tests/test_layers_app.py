"""The use-case layer: nothing below `flowrun.app` and `flowrun.cli` imports them, and `flowrun run` parses once."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Project

PACKAGE = Path(__file__).resolve().parent.parent / "flowrun"
UPPER = ("flowrun.app", "flowrun.cli", "flowrun.web")
#: modules above the use cases: the command line, the web UI and `python -m flowrun`
ENTRY = ("flowrun.cli", "flowrun.__main__", "flowrun.web")


def _module_name(path: Path, root: Path = PACKAGE) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, root: Path = PACKAGE) -> Iterator[tuple[int, str]]:
    """(line, module) of every import in the file, function-level ones included, relative ones resolved."""
    name = _module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield node.lineno, base
            for alias in node.names:  # `from flowrun import app` imports the module flowrun.app
                yield node.lineno, f"{base}.{alias.name}"


def _within(module: str, roots: tuple[str, ...]) -> bool:
    return any(module == root or module.startswith(root + ".") for root in roots)


def _upward_imports(below: tuple[str, ...], above: tuple[str, ...], root: Path = PACKAGE) -> list[str]:
    """`file:line: module imports target` for each import of a module of `above` by one not in `below`."""
    found = []
    for path in sorted(root.rglob("*.py")):
        module = _module_name(path, root)
        if _within(module, below):
            continue
        for line, target in _imports(path, root):
            if _within(target, above):
                found.append(f"{path.relative_to(root.parent)}:{line}: {module} imports {target}")
    return found


def test_nothing_below_the_app_layer_imports_app_or_cli() -> None:
    assert _upward_imports(UPPER + ENTRY, UPPER) == []


def test_the_app_layer_does_not_import_the_cli() -> None:
    found = [item for item in _upward_imports((), ("flowrun.cli", "flowrun.web")) if ": flowrun.app" in item]
    assert found == []


def test_the_web_layer_does_not_import_the_cli() -> None:
    """web -> app, beside cli: a page handler calls the same use cases, never a typer command."""
    found = [item for item in _upward_imports((), ("flowrun.cli",)) if ": flowrun.web" in item]
    assert found == []


def test_the_walk_sees_function_level_and_relative_imports(tmp_path: Path) -> None:
    """The check above would pass vacuously if the walk missed imports inside functions."""
    cli_imports = {target for path in (PACKAGE / "cli").rglob("*.py") for _, target in _imports(path)}
    assert any(target.startswith("flowrun.app.") for target in cli_imports)
    subflow = {target for _, target in _imports(PACKAGE / "engine" / "subflow.py")}
    assert "flowrun.engine.launch" in subflow  # imported inside run_subflow
    package = tmp_path / "flowrun"
    (package / "engine").mkdir(parents=True)
    probe = package / "engine" / "probe.py"
    probe.write_text("def f():\n    from ..app import run\n    from . import launch\n", encoding="utf-8")
    assert [t for _, t in _imports(probe, package)] == ["flowrun.app", "flowrun.app.run", "flowrun.engine",
                                                         "flowrun.engine.launch"]
    assert _upward_imports(UPPER + ENTRY, UPPER, package) == [
        "flowrun/engine/probe.py:2: flowrun.engine.probe imports flowrun.app",
        "flowrun/engine/probe.py:2: flowrun.engine.probe imports flowrun.app.run"]


SCHEDULED = """
id: hello
namespace: layers
inputs:
  - id: who
    type: STRING
    defaults: world
tasks:
  - id: say
    type: io.kestra.plugin.core.log.Log
    message: "hi {{ inputs.who }}"
triggers:
  - id: daily
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 9 * * *"
    inputs:
      who: schedule
"""


def _count_parses(monkeypatch: pytest.MonkeyPatch, flow_file: Path) -> dict[str, int]:
    """How many times the flow file is parsed (a YAML Document of it) and validated (a Flow of it)."""
    from flowrun.load import Document
    from flowrun.model.flow import Flow

    counts = {"parsed": 0, "validated": 0}
    document_init, flow_init = Document.__init__, Flow.__init__

    def count_document(self: Document, *args: object, **kwargs: object) -> None:
        document_init(self, *args, **kwargs)  # type: ignore[arg-type]
        counts["parsed"] += Path(self.file).resolve() == flow_file.resolve()

    def count_flow(self: Flow, *args: object, **kwargs: object) -> None:
        flow_init(self, *args, **kwargs)  # type: ignore[arg-type]
        counts["validated"] += self.path is not None and Path(self.path).resolve() == flow_file.resolve()

    monkeypatch.setattr(Document, "__init__", count_document)
    monkeypatch.setattr(Flow, "__init__", count_flow)
    return counts


def _cli_in_process(monkeypatch: pytest.MonkeyPatch, project: Project, *args: str) -> int:
    from flowrun.cli import main

    monkeypatch.chdir(project.root)
    monkeypatch.setenv("FLOWRUN_HOME", str(project.home))
    monkeypatch.setattr(sys, "argv", ["flowrun", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    return int(exited.value.code or 0)


@pytest.mark.parametrize("extra", [(), ("--trigger", "daily", "--date", "2019-01-02T09:00:00")],
                         ids=["plain", "as-trigger"])
def test_flowrun_run_parses_and_validates_the_flow_once(project: Project, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str],
                                                        extra: tuple[str, ...]) -> None:
    flow_file = project.flow(SCHEDULED, "hello.yaml")
    counts = _count_parses(monkeypatch, flow_file)

    code = _cli_in_process(monkeypatch, project, "run", "flows/hello.yaml", "--json", *extra)

    out = capsys.readouterr()
    assert code == 0, out.err
    assert counts == {"parsed": 1, "validated": 1}
    document = __import__("json").loads(out.out)
    assert document["state"] == "SUCCESS"
    assert document["inputs"] == {"who": "schedule" if extra else "world"}
