"""The server's pages and actions over HTTP: problems with their lines, secrets never rendered, downloads that
cannot leave the execution's storage, kill and replay through a POST with the page's CSRF token."""

from __future__ import annotations

import re

import requests
from conftest import Project
from web_harness import Server, served, wait_for_state  # noqa: F401 (fixture)


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


def test_an_invalid_flow_shows_its_problems_with_their_lines_and_no_run_form(project: Project,
                                                                              served: Server) -> None:  # noqa: F811
    project.flow_file("web/broken.yaml", "broken.yaml")
    html = requests.get(served.url + "/flows/web.demo/broken", timeout=30).text
    assert re.search(r"<td>6</td><td>error</td><td>[^<]*mesage", html), html[:3000]
    assert 'id="run-form"' not in html


def test_a_schedule_shows_its_next_dates(project: Project, served: Server) -> None:  # noqa: F811
    project.flow_file("web/daily.yaml", "daily.yaml")
    html = requests.get(served.url + "/flows/web.demo/daily", timeout=30).text
    assert re.search(r"<td>every_day</td><td>Schedule</td><td>\d{4}-\d\d-\d\dT06:00:00", html)


def test_kv_secrets_are_masked_on_the_kv_page(project: Project, served: Server) -> None:  # noqa: F811
    assert project.cli("kv", "set", "web.demo", "plain", "visible-value").code == 0
    assert project.cli("kv", "set", "web.demo", "hidden", "hunter2-kv", "--secret").code == 0
    html = requests.get(served.url + "/kv?namespace=web.demo", timeout=30).text
    assert "visible-value" in html and "<code>******</code>" in html
    assert "hunter2-kv" not in html


def test_downloads_cannot_leave_the_executions_own_storage(project: Project, served: Server) -> None:  # noqa: F811
    project.flow_file("web/typed_inputs.yaml", "typed_inputs.yaml")
    first = project.cli("run", "web.demo/typed_inputs", "--json").json()
    second = project.cli("run", "web.demo/typed_inputs", "--json").json()
    uri = first["taskRuns"][1]["outputs"]["outputFiles"]["out.txt"]
    own = requests.get(served.url + f"/executions/{first['id']}/file", params={"uri": uri}, timeout=30)
    assert own.status_code == 200 and own.text == "report for yellow\n"
    other = requests.get(served.url + f"/executions/{second['id']}/file", params={"uri": uri}, timeout=30)
    assert other.status_code == 404 and "outside this execution" in other.text
    (project.home / "outside.txt").write_text("not yours", encoding="utf-8")
    for escape in ("kestra:///../outside.txt", f"kestra:///{uri[10:].rsplit('/', 1)[0]}/../../../../../../../../outside.txt",
                   "file:///etc/passwd"):
        answer = requests.get(served.url + f"/executions/{first['id']}/file", params={"uri": escape}, timeout=30)
        assert answer.status_code == 404 and "not yours" not in answer.text, escape
    folder = project.home / "storage" / uri[len("kestra:///"):].rsplit("/", 1)[0]
    (folder / "link.txt").symlink_to(project.home / "outside.txt")
    linked = requests.get(served.url + f"/executions/{first['id']}/file",
                          params={"uri": uri.rsplit("/", 1)[0] + "/link.txt"}, timeout=30)
    assert linked.status_code == 404 and "not yours" not in linked.text


def test_kill_a_running_execution_and_replay_one_from_a_task(project: Project, served: Server) -> None:  # noqa: F811
    project.flow_file("web/slow.yaml", "slow.yaml")
    project.flow_file("web/typed_inputs.yaml", "typed_inputs.yaml")
    session = requests.Session()
    token = _csrf(session.get(served.url + "/flows/web.demo/slow", timeout=30).text)
    started = session.post(served.url + "/flows/web.demo/slow/run", files={"csrf": (None, token)}, timeout=60,
                           allow_redirects=False)
    assert started.status_code == 303
    execution_id = started.headers["location"].rsplit("/", 1)[1]
    wait_for_state(project, execution_id, ("RUNNING",))
    page = session.get(served.url + f"/executions/{execution_id}", timeout=30).text
    assert 'id="kill"' in page
    killed = session.post(served.url + f"/executions/{execution_id}/kill", data={"csrf": token}, timeout=30)
    assert killed.status_code == 200 and 'id="execution-state"' in killed.text
    assert wait_for_state(project, execution_id, ("KILLED",))["state"] == "KILLED"

    done = project.cli("run", "web.demo/typed_inputs", "--json").json()
    replayed = session.post(served.url + f"/executions/{done['id']}/replay", data={"csrf": token, "from": "late"},
                            timeout=60)
    assert replayed.status_code == 200
    new_id = replayed.url.rsplit("/", 1)[1]
    assert new_id != done["id"]
    again = wait_for_state(project, new_id, ("SUCCESS",))
    assert [run["taskId"] for run in again["taskRuns"]] == ["hello", "wait", "late"]
    assert "the late line of yellow" in session.get(served.url + f"/executions/{new_id}", timeout=30).text


def test_the_executions_page_filters_and_paginates(project: Project) -> None:
    from datetime import UTC, datetime, timedelta

    from web_harness import start_server

    from flowrun.model.execution import Execution, new_id
    from flowrun.state.db import Database

    project.home.mkdir(parents=True, exist_ok=True)
    db = Database(project.home / "state.db")
    for index in range(30):
        begun = datetime(2024, 3, 1, tzinfo=UTC) + timedelta(days=index)
        db.save_execution(Execution(id=new_id(), namespace="shop.orders" if index % 3 else "shop", flow_id="load",
                                    state="FAILED" if index == 7 else "SUCCESS", start_date=begun,
                                    end_date=begun + timedelta(seconds=90), labels=[("run", f"r{index}")]), {}, {})
    db.close()
    server = start_server(project)
    try:
        def rows(query: str) -> list[str]:
            html = requests.get(server.url + "/executions" + query, timeout=30).text
            return re.findall(r'<tr class="execution">.*?</tr>', html, re.S)

        first = requests.get(server.url + "/executions", timeout=30).text
        assert "page 1 of 2" in first and len(rows("")) == 25 and "1m30s" in first
        assert len(rows("?page=2")) == 5 and "run:r0" in rows("?page=2")[-1]
        assert len(rows("?namespace=shop")) == 25 and len(rows("?namespace=shop.orders&page=2")) == 0
        assert len(rows("?namespace=shop.orders")) == 20
        [failed] = rows("?state=FAILED")
        assert "run:r7" in failed and "FAILED" in failed
        assert len(rows("?label=run:r12")) == 1 and len(rows("?label=run%3Dr12")) == 1
        assert len(rows("?from=2024-03-05&to=2024-03-07")) == 3
    finally:
        server.stop()
