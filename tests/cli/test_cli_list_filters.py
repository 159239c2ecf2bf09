"""`executions list` filters: --label, --namespace (and those below it), --since and --until."""

from __future__ import annotations

import pytest
from conftest import Project


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> tuple[Project, dict[str, str]]:
    project = Project(tmp_path_factory.mktemp("filters"))
    ids = {}
    for name, namespace, month in (("a", "team", "2019-01"), ("b", "team.sub", "2019-02"),
                                   ("c", "teams", "2019_01")):
        project.flow_file("cli/labelled.yaml", f"{name}.yaml", namespace=namespace)
        result = project.cli("run", f"flows/{name}.yaml", "--label", f"month={month}", "--json")
        assert result.code == 0, result.stderr
        ids[name] = result.json()["id"]
    return project, ids


def _listed(project: Project, *args: str) -> set[str]:
    result = project.cli("executions", "list", "--json", *args)
    assert result.code == 0, result.stderr
    return {row["id"] for row in result.json()}


def test_label_filter_matches_the_exact_label(history: tuple[Project, dict[str, str]]) -> None:
    project, ids = history
    assert _listed(project, "--label", "month=2019-01") == {ids["a"]}
    assert _listed(project, "--label", "month=2019_01") == {ids["c"]}  # `_` is no LIKE wildcard
    assert _listed(project, "--label", "month=2019%") == set()
    assert _listed(project, "-l", "month=2019-01", "-l", "other=x") == set()


def test_namespace_filter_takes_the_namespaces_below(history: tuple[Project, dict[str, str]]) -> None:
    project, ids = history
    assert _listed(project, "--namespace", "team") == {ids["a"], ids["b"]}  # not `teams`
    assert _listed(project, "--namespace", "team.sub") == {ids["b"]}


def test_since_and_until_take_dates_and_durations(history: tuple[Project, dict[str, str]]) -> None:
    project, ids = history
    assert _listed(project, "--since", "P1D") == set(ids.values())
    assert _listed(project, "--since", "2000-01-01", "--until", "2001-01-01T00:00:00") == set()
    assert _listed(project, "--until", "PT0S") == set(ids.values())
    text = project.cli("executions", "list", "--since", "PT1H", "--namespace", "team.sub").stdout
    assert ids["b"] in text and "team.sub/labelled  month=2019-02" in text


def test_a_bad_window_or_label_exits_2(history: tuple[Project, dict[str, str]]) -> None:
    project, _ = history
    bad = project.cli("executions", "list", "--since", "yesterday")
    assert bad.code == 2 and "--since `yesterday` is neither a date nor a duration" in bad.stderr
    assert "Traceback" not in bad.stderr
    assert project.cli("executions", "list", "--label", "month").code == 2
