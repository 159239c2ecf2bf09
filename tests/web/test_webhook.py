"""The Webhook trigger served by `flowrun server`, with Kestra's answers: 200 and the execution (one per request),
204 when its conditions do not hold, 404 for a wrong key or flow, and `wait` with `returnOutputs`."""

from __future__ import annotations

import requests
from conftest import Project
from web_harness import Server, served, wait_for_state  # noqa: F401 (fixture)

HOOK = "/api/v1/main/executions/webhook/web.demo/hook"


def _executions(project: Project) -> list[dict]:
    return project.cli("executions", "list", "--flow", "web.demo/hook", "--json").json()


def test_each_request_with_the_key_starts_exactly_one_execution(project: Project, served: Server) -> None:  # noqa: F811
    project.flow_file("web/hook.yaml", "hook.yaml")
    answers = [requests.post(served.url + f"{HOOK}/s3cr3t-key", json={"who": f"caller{i}"}, timeout=60)
               for i in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    ids = [a.json()["id"] for a in answers]
    assert len(set(ids)) == 3 and all(a.json()["flowId"] == "hook" for a in answers)
    for number, execution_id in enumerate(ids):
        data = wait_for_state(project, execution_id, ("SUCCESS",))
        assert data["inputs"] == {"who": f"caller{number}"}
        assert data["trigger"]["body"] == {"who": f"caller{number}"}
    assert sorted(e["id"] for e in _executions(project)) == sorted(ids)


def test_a_wrong_key_or_flow_is_404_and_starts_nothing(project: Project, served: Server) -> None:  # noqa: F811
    project.flow_file("web/hook.yaml", "hook.yaml")
    wrong = requests.post(served.url + f"{HOOK}/not-the-key", json={"who": "x"}, timeout=30)
    assert wrong.status_code == 404 and wrong.json() == {"message": "Webhook not found"}
    missing = requests.post(served.url + "/api/v1/main/executions/webhook/web.demo/nope/s3cr3t-key", timeout=30)
    assert missing.status_code == 404
    assert _executions(project) == []


def test_conditions_that_do_not_hold_answer_204(project: Project, served: Server) -> None:  # noqa: F811
    project.flow_file("web/hook.yaml", "hook.yaml")
    skipped = requests.post(served.url + f"{HOOK}/s3cr3t-key", json={"who": "skip"}, timeout=30)
    assert skipped.status_code == 204 and skipped.content == b""
    assert _executions(project) == []


def test_wait_with_return_outputs_answers_the_outputs_on_the_path_without_tenant(project: Project,
                                                                                  served: Server) -> None:  # noqa: F811
    project.flow_file("web/hook.yaml", "hook.yaml")
    answer = requests.get(served.url + "/api/v1/executions/webhook/web.demo/hook/wait-key", timeout=60,
                          data='{"who": "Ana"}', headers={"content-type": "application/json"})
    assert answer.status_code == 200
    assert answer.json() == {"greeting": "hi Ana"}
    [execution] = _executions(project)
    assert execution["state"] == "SUCCESS"


def test_a_body_over_the_limit_is_refused_with_413_and_starts_nothing(project: Project, served: Server) -> None:  # noqa: F811
    from flowrun.web.webhook import MAX_BODY

    project.flow_file("web/hook.yaml", "hook.yaml")

    def chunks():  # no Content-Length: the server has to stop reading on its own
        for _ in range(MAX_BODY // (1 << 20) + 1):
            yield b"x" * (1 << 20)

    answer = requests.post(served.url + f"{HOOK}/s3cr3t-key", data=chunks(), timeout=60)
    assert answer.status_code == 413 and "body too large" in answer.json()["message"]
    assert _executions(project) == []
