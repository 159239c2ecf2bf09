"""The polling http.Trigger in `flowrun tick`: its interval, responseCondition, one run per distinct response."""

from __future__ import annotations

import json
import threading

import http_fixture
from conftest import Project
from http_fixture import HttpServer
from schedule_harness import cli, db_rows, executions, schedule_flow

from flowrun.app.tick import tick as run_tick

http_server = http_fixture.http_server

TASKS = """
tasks:
  - id: seen
    type: io.kestra.plugin.core.debug.Return
    format: "{{ trigger.code }} {{ json(trigger.body).price }} {{ inputs.price }}"
inputs:
  - id: price
    type: INT
    defaults: 0
"""


def http_flow(project: Project, server: HttpServer, condition: str = "{{ json(response.body).price <= 110 }}",
              extra: str = "") -> None:
    trigger = f"""  - id: poll
    type: io.kestra.plugin.core.http.Trigger
    uri: {server.url("/price")}
    interval: PT30S
    responseCondition: "{condition}"
    inputs:
      price: "{{{{ json(trigger.body).price }}}}"
{extra}"""
    schedule_flow(project, "watch", trigger, tasks=TASKS)


def price(server: HttpServer, value: int) -> None:
    server.routes["/price"] = (200, {"Content-Type": "application/json"}, json.dumps({"price": value}))


def _tick(project: Project, now: str) -> object:
    return run_tick(str(project.home), str(project.root), now)


def test_a_matching_response_starts_the_flow_with_the_response_as_trigger(project: Project,
                                                                          http_server: HttpServer) -> None:
    http_flow(project, http_server)
    price(http_server, 100)
    report = _tick(project, "2030-01-01T00:00:00Z")
    assert [(r["trigger"], r["state"]) for r in report.runs] == [("poll", "SUCCESS")]
    run = executions(project, "watch")[0]
    assert run["trigger"]["code"] == 200 and json.loads(run["trigger"]["body"]) == {"price": 100}
    assert json.loads(run["inputs"]) == {"price": 100}
    [seen] = db_rows(project, "SELECT outputs FROM task_runs WHERE execution_id = ?", (run["id"],))
    assert json.loads(seen["outputs"])["value"] == "200 100 100"


def test_the_same_response_runs_once_and_a_new_one_runs_again(project: Project, http_server: HttpServer) -> None:
    http_flow(project, http_server)
    price(http_server, 100)
    assert len(_tick(project, "2030-01-01T00:00:00Z").runs) == 1
    assert _tick(project, "2030-01-01T00:01:00Z").runs == []  # polled again, same response: not run again
    price(http_server, 90)
    assert len(_tick(project, "2030-01-01T00:02:00Z").runs) == 1
    assert len(http_server.requests) == 3
    assert [json.loads(e["trigger"]["body"])["price"] for e in executions(project, "watch")] == [100, 90]


def test_a_failed_condition_starts_nothing_and_the_interval_is_kept(project: Project,
                                                                    http_server: HttpServer) -> None:
    http_flow(project, http_server)
    price(http_server, 200)
    assert _tick(project, "2030-01-01T00:00:00Z").runs == []
    assert _tick(project, "2030-01-01T00:00:10Z").runs == []  # within PT30S: not even polled
    assert len(http_server.requests) == 1
    price(http_server, 100)
    assert len(_tick(project, "2030-01-01T00:00:31Z").runs) == 1
    assert len(http_server.requests) == 2


def test_the_default_condition_accepts_statuses_below_400(project: Project, http_server: HttpServer) -> None:
    schedule_flow(project, "watch", f"""  - id: poll
    type: io.kestra.plugin.core.http.Trigger
    uri: {http_server.url("/price")}
""", tasks=TASKS)
    http_server.routes["/price"] = (503, {}, '{"price": 1}')
    assert _tick(project, "2030-01-01T00:00:00Z").runs == []
    price(http_server, 5)
    assert _tick(project, "2030-01-01T00:00:30Z").runs == []  # the default interval is PT1M
    assert [r["state"] for r in _tick(project, "2030-01-01T00:01:00Z").runs] == ["SUCCESS"]


def test_stop_after_disables_the_trigger(project: Project, http_server: HttpServer) -> None:
    http_flow(project, http_server, extra="    stopAfter: [SUCCESS]\n")
    price(http_server, 100)
    assert len(_tick(project, "2030-01-01T00:00:00Z").runs) == 1
    price(http_server, 90)
    assert _tick(project, "2030-01-01T00:05:00Z").runs == []
    assert len(http_server.requests) == 1


def test_an_unreachable_endpoint_is_a_problem_not_a_crash(project: Project) -> None:
    schedule_flow(project, "watch", """  - id: poll
    type: io.kestra.plugin.core.http.Trigger
    uri: http://127.0.0.1:9/nothing
""", tasks=TASKS)
    result = cli(project, "tick", "--now", "2030-01-01T00:00:00Z")
    assert "Traceback" not in result.stderr
    assert "trigger `poll` of sched/watch: cannot connect to http://127.0.0.1:9/nothing" in result.stderr
    assert executions(project, "watch") == []


def test_concurrent_ticks_start_one_execution_per_response(project: Project, http_server: HttpServer) -> None:
    http_flow(project, http_server)
    price(http_server, 100)
    reports: list[object] = []
    # two tick processes at once: one takes the poll, or both poll and one takes the response's claim
    threads = [threading.Thread(target=lambda: reports.append(cli(project, "tick", "--now", "2030-01-01T00:00:00Z")))
               for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [e["state"] for e in executions(project, "watch")] == ["SUCCESS"]


def test_conditions_are_rejected_at_load_time(project: Project, http_server: HttpServer) -> None:
    http_flow(project, http_server, extra="    conditions:\n      - type: io.kestra.plugin.core.condition.Weekend\n")
    result = cli(project, "validate", str(project.root / "flows" / "watch.yaml"))
    assert result.code == 3
    assert "`conditions` on an http.Trigger are not supported by flowrun" in result.stderr + result.stdout
