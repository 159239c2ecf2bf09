"""`flowrun report ID --html FILE`: one self-contained page that opens in Chromium with no network request and
shows every task run, the Gantt, the topology and the logs."""

from __future__ import annotations

from typing import Any

from conftest import Project
from web_harness import browser, screenshot  # noqa: F401 (fixture)


def test_the_report_opens_offline_and_shows_every_task_run(project: Project, browser: Any, tmp_path: Any) -> None:  # noqa: F811
    project.flow_file("web/typed_inputs.yaml", "typed_inputs.yaml")
    ran = project.cli("run", "web.demo/typed_inputs", "--input", "token=hunter2-secret", "--json")
    assert ran.code == 0, ran.stderr
    execution_id = ran.json()["id"]
    target = tmp_path / "report.html"
    made = project.cli("report", execution_id[:8], "--html", str(target))
    assert made.code == 0, made.stderr
    html = target.read_text(encoding="utf-8")
    assert "<script" not in html and "<link" not in html and "hunter2-secret" not in html

    context = browser.new_context()
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(target.as_uri())
    page.wait_for_load_state("networkidle")
    assert requested == [target.as_uri()]  # the file itself, nothing else
    rows = page.locator("tr.taskrun")
    assert [rows.nth(i).get_attribute("data-task") for i in range(rows.count())] == ["hello", "wait", "late"]
    assert page.locator("svg.gantt g.run").count() == 3 and page.locator("svg.topology g.node").count() == 4
    assert "the late line of yellow" in page.locator(".logs").inner_text()
    assert page.locator("h1 .state").inner_text() == "SUCCESS"
    screenshot(page, "report")
    context.close()


def test_a_report_of_an_unknown_execution_is_a_usage_error(project: Project, tmp_path: Any) -> None:
    done = project.cli("report", "nope", "--html", str(tmp_path / "r.html"))
    assert done.code == 2 and "no execution `nope`" in done.stderr
    assert not (tmp_path / "r.html").exists()


def test_a_report_into_a_missing_folder_is_a_usage_error(project: Project, tmp_path: Any) -> None:
    project.flow_file("web/typed_inputs.yaml", "typed_inputs.yaml")
    ran = project.cli("run", "web.demo/typed_inputs", "--input", "token=hunter2-secret", "--json")
    assert ran.code == 0, ran.stderr
    done = project.cli("report", ran.json()["id"], "--html", str(tmp_path / "no" / "such" / "r.html"))
    assert done.code == 2, done.stderr
    assert "--html" in done.stderr and "cannot write the file" in done.stderr and "Traceback" not in done.stderr
