"""`flowrun server` end to end in headless Chromium: browse flows, run with typed inputs from the form, follow
logs live, read the Gantt, restart after a fix, resume a pause, start a backfill, refuse a POST without CSRF."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import Project
from playwright.sync_api import expect
from web_harness import Server, browser, screenshot, served, wait_for_state  # noqa: F401 (fixtures)

pytestmark = pytest.mark.timeout(240)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:  # noqa: F811
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    opened.set_default_timeout(30_000)
    yield opened
    context.close()


def _flows(project: Project, *names: str, code: int = 1) -> None:
    for name in names:
        project.flow_file(f"web/{name}.yaml", f"{name}.yaml", code=code) if name == "fixable" else \
            project.flow_file(f"web/{name}.yaml", f"{name}.yaml")


def _execution_id(page: Any) -> str:
    match = re.search(r"/executions/([A-Za-z0-9]+)$", page.url)
    assert match, page.url
    return match.group(1)


def test_the_flows_page_shows_the_namespace_tree_and_a_flow(project: Project, served: Server, page: Any) -> None:  # noqa: F811
    _flows(project, "typed_inputs", "daily")
    page.goto(served.url + "/flows")
    assert page.locator("details.namespace").evaluate_all("nodes => nodes.map(n => n.dataset.namespace)") == \
        ["web", "web.demo"]
    assert page.locator("a.flow-link").all_inner_texts() == ["daily", "typed_inputs"]
    page.fill("input[name=q]", "typed")
    page.click("button[type=submit]")
    expect(page.locator("a.flow-link")).to_have_text(["typed_inputs"])  # each click loads a new page: wait for it
    page.click("a.flow-link")
    expect(page.locator("h1")).to_have_text("web.demo/typed_inputs")
    assert page.locator("#topology, .panel svg.topology").count() >= 1
    assert "hello · Log" in (page.locator("svg.topology").text_content() or "")
    assert "description: A flow whose inputs cover the form's widgets." in page.locator("pre.source").inner_text()
    screenshot(page, "flows")


def _fill_typed_form(page: Any, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("a file from the form\n", encoding="utf-8")
    page.select_option("select[name=taxi]", "green")
    page.select_option("select[name=months]", ["01", "03"])
    page.fill("input[name=day]", "2024-05-02")
    page.check("input[type=checkbox][name=full]")
    page.fill("textarea[name=settings]", '{"rows": 7}')
    page.set_input_files("input[name=notes]", str(notes))
    page.fill("input[name=token]", "hunter2-secret")
    page.fill("textarea[name=_labels]", "origin=form")


def test_run_a_flow_with_typed_inputs_from_the_form(project: Project, served: Server, page: Any,  # noqa: F811
                                                    tmp_path: Path) -> None:
    _flows(project, "typed_inputs")
    page.goto(served.url + "/flows/web.demo/typed_inputs")
    assert page.locator("select[name=taxi] option").all_inner_texts() == ["yellow", "green"]
    _fill_typed_form(page, tmp_path)
    page.click("#run-form button[type=submit]")
    page.wait_for_url(re.compile(r"/executions/[A-Za-z0-9]+$"))
    data = wait_for_state(project, _execution_id(page), ("SUCCESS",))
    page.reload()
    assert data["inputs"]["taxi"] == "green" and data["inputs"]["months"] == ["01", "03"]
    assert data["inputs"]["token"] == "******"
    assert data["inputs"]["notes"].startswith("kestra://")  # the uploaded file, copied into the execution
    assert not [p for p in (project.home / "uploads").rglob("*") if p.is_file()]  # and its upload removed
    logs = page.locator("#logs").inner_text()
    assert 'taxi=green months=["01","03"] day=2024-05-02 full=true rows=7' in logs
    assert "origin:form" in page.locator("table").first.inner_text()
    assert "hunter2-secret" not in page.content()  # a SECRET input is never rendered
    download = page.locator("a.download").first
    assert download.inner_text().endswith("out.txt")
    with page.expect_download() as caught:
        download.click()
    assert Path(caught.value.path()).read_text(encoding="utf-8") == "report for green\n"
    screenshot(page, "run-from-form")


def test_logs_arrive_live_on_the_open_page(project: Project, served: Server, page: Any, tmp_path: Path) -> None:  # noqa: F811
    _flows(project, "typed_inputs")
    page.goto(served.url + "/flows/web.demo/typed_inputs")
    page.click("#run-form button[type=submit]")
    page.wait_for_url(re.compile(r"/executions/[A-Za-z0-9]+$"))
    page.evaluate("window.__sameDocument = true")
    assert "the late line" not in page.locator("#logs").inner_text()  # the task before it sleeps 1.5 s
    page.locator("#logs .line", has_text="the late line of yellow").wait_for()
    assert page.evaluate("window.__sameDocument") is True  # arrived through the event stream, no reload
    page.locator("#execution-state", has_text="SUCCESS").wait_for()
    page.locator("#gantt svg g.run[data-task=late][data-state=SUCCESS]").wait_for()  # redrawn in place
    assert page.locator("#gantt svg g.run").count() == 3 and page.evaluate("window.__sameDocument") is True
    page.select_option("#log-level", "WARN")
    assert page.locator("#logs .line", has_text="the late line").is_hidden()
    screenshot(page, "live-logs")


def test_the_gantt_and_topology_of_an_execution(project: Project, served: Server, page: Any) -> None:  # noqa: F811
    _flows(project, "typed_inputs", "fixable", "approval")
    project.cli("run", "web.demo/fixable")
    project.cli("run", "web.demo/approval")
    ran = project.cli("run", "web.demo/typed_inputs", "--input", "taxi=green", "--label", "month=03", "--json")
    assert ran.code == 0, ran.stderr
    execution_id = ran.json()["id"]
    page.goto(served.url + "/executions")
    rows = page.locator("tr.execution")
    assert rows.count() == 3
    assert page.locator("table.executions th").all_inner_texts() == ["Id", "Flow", "State", "Start date", "Duration",
                                                                   "Labels", "Trigger"]
    assert "web.demo.typed_inputs" in rows.first.inner_text() and "month:03" in rows.first.inner_text()
    screenshot(page, "executions")
    page.select_option("select[name=state]", "FAILED")
    page.click("form.filters button")
    expect(page.locator("tr.execution")).to_have_count(1)
    assert "web.demo.fixable" in page.locator("tr.execution").inner_text()
    page.goto(served.url + f"/executions/{execution_id}")
    bars = page.locator("#gantt svg g.run")
    assert [bars.nth(i).get_attribute("data-task") for i in range(bars.count())] == ["hello", "wait", "late"]
    assert page.locator("#gantt svg rect").count() == 3
    states = page.locator("#topology g.node[data-task=wait]").get_attribute("data-state")
    assert states == "SUCCESS"
    assert page.locator("#topology g.node[data-task=wait] rect").get_attribute("fill") == "#2fa66a"
    screenshot(page, "execution-gantt")


def test_restart_a_failed_execution_after_fixing_the_flow(project: Project, served: Server, page: Any) -> None:  # noqa: F811
    _flows(project, "fixable", code=1)
    failed = project.cli("run", "web.demo/fixable", "--json")
    assert failed.code == 1
    execution_id = failed.json()["id"]
    page.goto(served.url + f"/executions/{execution_id}")
    assert page.locator("#execution-state").inner_text() == "FAILED"
    _flows(project, "fixable", code=0)
    page.click("#restart")
    page.wait_for_url(re.compile(f"/executions/{execution_id}$"))
    wait_for_state(project, execution_id, ("SUCCESS",))
    page.reload()
    assert page.locator("#execution-state").inner_text() == "SUCCESS"
    runs = page.locator("table.taskruns tr.taskrun").all_inner_texts()
    assert any(row.startswith("check") and "SUCCESS" in row for row in runs), runs
    assert "system.restarted:true" in page.locator("table").first.inner_text()
    screenshot(page, "restarted")


def test_resume_a_paused_execution_with_its_on_resume_form(project: Project, served: Server, page: Any) -> None:  # noqa: F811
    _flows(project, "approval")
    paused = project.cli("run", "web.demo/approval", "--json")
    execution_id = paused.json()["id"]
    page.goto(served.url + f"/executions/{execution_id}")
    assert page.locator("#execution-state").inner_text() == "PAUSED"
    assert page.locator("#resume-form input[name=reason]").input_value() == "none"
    page.check("#resume-form input[type=checkbox][name=approved]")
    page.fill("#resume-form input[name=reason]", "looks good")
    page.click("#resume")
    page.wait_for_url(re.compile(f"/executions/{execution_id}$"))
    wait_for_state(project, execution_id, ("SUCCESS",))
    page.reload()
    assert page.locator("#execution-state").inner_text() == "SUCCESS"
    assert "approved=true reason=looks good" in page.locator("#logs").inner_text()
    screenshot(page, "resumed")


def test_start_a_backfill_after_its_dry_run_table(project: Project, served: Server, page: Any) -> None:  # noqa: F811
    _flows(project, "daily")
    page.goto(served.url + "/flows/web.demo/daily")
    page.click("text=Backfill…")
    page.fill("input[name=start]", "2024-01-01")
    page.fill("input[name=end]", "2024-01-03")
    page.click("#preview")
    rows = page.locator("tr.plan-row")
    expect(rows).to_have_count(3)  # the preview is a form POST: wait for its page, not the one before it
    assert [rows.nth(i).locator("td").nth(3).inner_text() for i in range(3)] == ["run", "run", "run"]
    assert project.cli("executions", "list", "--json").json() == []  # a dry run runs nothing
    page.click("#start-backfill")
    page.wait_for_url(re.compile(r"/backfills$"))
    expect(page.locator("tr.backfill")).to_have_count(1)
    for _ in range(100):
        if "SUCCESS" in page.locator("tr.backfill").inner_text():
            break
        page.wait_for_timeout(300)
        page.reload()
    row = page.locator("tr.backfill").inner_text()
    assert "SUCCESS" in row and "web.demo/daily" in row, row
    page.click("tr.backfill a")
    expect(page.locator("tr.execution")).to_have_count(3)
    assert "backfill:true" in page.locator("tr.execution").first.inner_text()
    screenshot(page, "backfill")


def test_a_post_without_the_csrf_token_is_refused(project: Project, served: Server, page: Any) -> None:  # noqa: F811
    _flows(project, "typed_inputs")
    page.goto(served.url + "/flows/web.demo/typed_inputs")
    page.evaluate("document.querySelector('#run-form input[name=csrf]').remove()")
    with page.expect_response(re.compile(r"/run$")) as answer:
        page.click("#run-form button[type=submit]")
    assert answer.value.status == 403
    assert "missing or wrong CSRF token" in page.locator("body").inner_text()
    assert project.cli("executions", "list", "--json").json() == []
    screenshot(page, "csrf-refused")
