"""http.Download and http.Request end to end through `run_flow`, against real servers on 127.0.0.1."""

from __future__ import annotations

import base64
import json
import socket
import time
from typing import Any

import http_fixture
import pytest
from conftest import Project
from http_fixture import HttpServer, Seen
from httpserver import LocalHTTPServer

from flowrun.storage.internal import InternalStorage

DOWNLOAD = "io.kestra.plugin.core.http.Download"
REQUEST = "io.kestra.plugin.core.http.Request"
http_server = http_fixture.http_server


def one_task(type_: str, props: dict[str, Any], then: str = "") -> str:
    """A flow with one HTTP task `call` (props as YAML flow mappings), optionally followed by more tasks."""
    lines = [f"    {key}: {json.dumps(value)}" for key, value in props.items()]
    return "\n".join(["id: http_flow", "namespace: test.http", "tasks:", "  - id: call",
                      f"    type: {type_}", *lines]) + "\n" + then


def run(project: Project, text: str, **inputs: Any) -> Any:
    execution = project.run(project.flow(text), inputs)
    runs = {tr.task_id: tr for tr in execution.task_runs}
    return execution, runs


def stored(project: Project, uri: str) -> bytes:
    return InternalStorage(project.home / "storage").local_path(uri).read_bytes()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- Download ---------------------------------------------------------------------------------------------
def test_download_streams_the_served_bytes_into_storage(project: Project) -> None:
    data = bytes(range(256)) * 10_000  # 2.5 MB: several 1 MB chunks
    with LocalHTTPServer({"/data/trips.csv.gz": ("application/gzip", data)}) as server:
        then = '  - id: size\n    type: io.kestra.plugin.core.debug.Return\n    format: "{{ outputs.call.length }}"\n'
        execution, runs = run(project, one_task(DOWNLOAD, {"uri": server.url("/data/trips.csv.gz")}, then))
    assert execution.state == "SUCCESS", runs["call"].error
    out = runs["call"].outputs
    assert (out["code"], out["length"]) == (200, len(data))
    assert out["uri"].startswith(f"kestra:///test/http/http-flow/executions/{execution.id}/tasks/call/")
    assert out["uri"].endswith(".gz")  # random name keeping the URL's extension, as Kestra
    assert stored(project, out["uri"]) == data
    assert out["headers"]["Content-Type"] == ["application/gzip"]
    assert runs["size"].outputs["value"] == str(len(data))


@pytest.mark.parametrize(("disposition", "name"), [
    ('attachment; filename="report 2024.csv"', "report+2024.csv"),  # URL-encoded like Kestra
    ("attachment; filename=plain.txt", "plain.txt"),
    ("attachment; filename=\"x.bin\"; filename*=UTF-8''donn%C3%A9es.csv", "donn%C3%A9es.csv"),
    ('attachment; filename="../../etc/passwd"', "passwd"),  # never a path
    ("attachment", None),  # no file name: random, no extension (the URL has none)
])
def test_download_names_the_file_from_content_disposition(project: Project, http_server: HttpServer,
                                                           disposition: str, name: str | None) -> None:
    http_server.routes["/export"] = (200, {"Content-Disposition": disposition}, b"a,b\n1,2\n")
    execution, runs = run(project, one_task(DOWNLOAD, {"uri": http_server.url("/export")}))
    assert execution.state == "SUCCESS", runs["call"].error
    uri = runs["call"].outputs["uri"]
    assert uri.rsplit("/", 1)[1] == name if name else "." not in uri.rsplit("/", 1)[1]
    assert stored(project, uri) == b"a,b\n1,2\n"


def test_download_save_as_wins_over_content_disposition(project: Project, http_server: HttpServer) -> None:
    http_server.routes["/export"] = (200, {"Content-Disposition": "attachment; filename=x.csv"}, b"a\n")
    props = {"uri": http_server.url("/export"), "saveAs": "{{ flow.id }}.csv"}
    execution, runs = run(project, one_task(DOWNLOAD, props))
    assert execution.state == "SUCCESS", runs["call"].error
    assert runs["call"].outputs["uri"].endswith("/http_flow.csv")


def test_download_http_error_fails_unless_allowed(project: Project) -> None:
    with LocalHTTPServer({}) as server:
        url = server.url("/missing.csv")
        execution, runs = run(project, one_task(DOWNLOAD, {"uri": url}))
        assert execution.state == "FAILED"
        assert runs["call"].state == "FAILED"
        assert "HTTP 404" in runs["call"].error and url in runs["call"].error

        execution, runs = run(project, one_task(DOWNLOAD, {"uri": url, "allowFailed": True}))
    assert execution.state == "SUCCESS", runs["call"].error
    assert runs["call"].outputs["code"] == 404
    assert b"not found" in stored(project, runs["call"].outputs["uri"])


def test_download_empty_body_fails_unless_disabled(project: Project, http_server: HttpServer) -> None:
    http_server.routes["/empty.csv"] = (200, {}, b"")
    url = http_server.url("/empty.csv")
    execution, runs = run(project, one_task(DOWNLOAD, {"uri": url}))
    assert execution.state == "FAILED"
    assert "empty body" in runs["call"].error and url in runs["call"].error

    execution, runs = run(project, one_task(DOWNLOAD, {"uri": url, "failOnEmptyResponse": False}))
    assert execution.state == "SUCCESS", runs["call"].error
    assert runs["call"].outputs["length"] == 0
    assert stored(project, runs["call"].outputs["uri"]) == b""


def test_download_shorter_than_content_length_fails(project: Project, http_server: HttpServer) -> None:
    http_server.routes["/short.bin"] = (200, {"Content-Length": "1000"}, b"only ten b")
    execution, runs = run(project, one_task(DOWNLOAD, {"uri": http_server.url("/short.bin")}))
    assert execution.state == "FAILED"
    assert "Content-Length" in runs["call"].error and "1000" in runs["call"].error


def test_download_connection_refused_names_the_url(project: Project) -> None:
    url = f"http://127.0.0.1:{free_port()}/file.csv"
    execution, runs = run(project, one_task(DOWNLOAD, {"uri": url}))
    assert execution.state == "FAILED"
    error = runs["call"].error
    assert error == f"cannot connect to {url}: connection refused"


# -- Request ----------------------------------------------------------------------------------------------
def echo(seen: Seen) -> tuple[int, dict[str, Any], bytes]:
    body = {"method": seen.method, "headers": seen.headers, "body": seen.body.decode()}
    return 200, {"Content-Type": "application/json", "X-Tag": ["a", "b"]}, json.dumps(body).encode()


def test_request_get_with_headers(project: Project, http_server: HttpServer) -> None:
    http_server.routes["/api/items"] = echo
    url = http_server.url("/api/items?page=2")
    props = {"uri": url, "headers": {"X-Api-Key": "{{ inputs.key }}"}}
    text = one_task(REQUEST, props).replace("tasks:", "inputs:\n  - id: key\n    type: STRING\ntasks:")
    execution, runs = run(project, text, key="k-123")
    assert execution.state == "SUCCESS", runs["call"].error
    out = runs["call"].outputs
    assert (out["uri"], out["code"]) == (url, 200)
    assert isinstance(out["body"], str)  # not parsed, as Kestra
    assert json.loads(out["body"])["headers"]["X-Api-Key"] == "k-123"
    assert out["headers"]["X-Tag"] == ["a", "b"]
    assert http_server.requests[-1].method == "GET"


def test_request_post_json_body(project: Project, http_server: HttpServer) -> None:
    http_server.routes["/api/items"] = echo
    props = {"uri": http_server.url("/api/items"), "method": "POST", "contentType": "application/json",
             "body": '{"name": "{{ inputs.name }}"}'}
    text = one_task(REQUEST, props).replace("tasks:", "inputs:\n  - id: name\n    type: STRING\ntasks:")
    then = '  - id: show\n    type: io.kestra.plugin.core.debug.Return\n    format: "{{ outputs.call.body }}"\n'
    execution, runs = run(project, text + then, name="Ana")
    assert execution.state == "SUCCESS", runs["call"].error
    seen = http_server.requests[-1]
    assert (seen.method, json.loads(seen.body)) == ("POST", {"name": "Ana"})
    assert seen.headers["Content-Type"].startswith("application/json")
    assert json.loads(runs["show"].outputs["value"])["method"] == "POST"


def test_request_form_data_is_url_encoded(project: Project, http_server: HttpServer) -> None:
    http_server.routes["/login"] = echo
    props = {"uri": http_server.url("/login"), "method": "POST", "formData": {"user": "ana", "n": 2}}
    execution, runs = run(project, one_task(REQUEST, props))
    assert execution.state == "SUCCESS", runs["call"].error
    assert http_server.requests[-1].body == b"user=ana&n=2"


def test_request_http_error_keeps_the_body_as_evidence(project: Project, http_server: HttpServer) -> None:
    http_server.routes["/boom"] = (500, {}, b"database is down")
    execution, runs = run(project, one_task(REQUEST, {"uri": http_server.url("/boom")}))
    assert execution.state == "FAILED"
    assert "HTTP 500" in runs["call"].error and "database is down" in runs["call"].error

    for allow in ({"allowFailed": True}, {"options": {"allowFailed": True}}, {"options": {"allowedResponseCodes": [500]}}):
        execution, runs = run(project, one_task(REQUEST, {"uri": http_server.url("/boom"), **allow}))
        assert execution.state == "SUCCESS", allow
        assert (runs["call"].outputs["code"], runs["call"].outputs["body"]) == (500, "database is down")


def guarded(seen: Seen) -> tuple[int, dict[str, Any], bytes]:
    expected = "Basic " + base64.b64encode(b"ana:s3cret").decode()
    if seen.headers.get("Authorization") != expected:
        return 401, {"WWW-Authenticate": 'Basic realm="x"'}, b"who are you?"
    return 200, {"Content-Type": "text/plain"}, b"welcome"


@pytest.mark.parametrize("options", [
    {"auth": {"type": "BASIC", "username": "ana", "password": "s3cret"}},
    {"basicAuthUser": "ana", "basicAuthPassword": "s3cret"},  # deprecated spelling, still accepted
])
def test_request_basic_auth(project: Project, http_server: HttpServer, options: dict[str, Any]) -> None:
    http_server.routes["/private"] = guarded
    execution, runs = run(project, one_task(REQUEST, {"uri": http_server.url("/private"), "options": options}))
    assert execution.state == "SUCCESS", runs["call"].error
    assert runs["call"].outputs["body"] == "welcome"


def test_request_without_auth_is_refused(project: Project, http_server: HttpServer) -> None:
    http_server.routes["/private"] = guarded
    execution, runs = run(project, one_task("io.kestra.plugin.fs.http.Request",  # legacy alias
                                            {"uri": http_server.url("/private")}))
    assert execution.state == "FAILED"
    assert "HTTP 401" in runs["call"].error


def test_download_stops_when_the_task_times_out(project: Project, http_server: HttpServer) -> None:
    def slow(_seen: Seen) -> tuple[int, dict[str, Any], Any]:
        def chunks() -> Any:
            for _ in range(40):
                yield b"x" * (1024 * 1024)
                time.sleep(0.25)
        return 200, {"Content-Length": str(40 * 1024 * 1024)}, chunks()

    http_server.routes["/slow.bin"] = slow
    text = one_task(DOWNLOAD, {"uri": http_server.url("/slow.bin"), "timeout": "PT1S"})
    started = time.monotonic()
    execution, runs = run(project, text)
    assert execution.state == "FAILED"
    assert "timed out" in runs["call"].error
    assert time.monotonic() - started < 5
    assert not list((project.home / "storage").rglob("*.bin"))  # the partial file is removed


def test_request_encrypt_body_outputs_encrypted_body(project: Project, http_server: HttpServer) -> None:
    http_server.routes["/token"] = (200, {}, b"tok-98765")
    then = '  - id: use\n    type: io.kestra.plugin.core.debug.Return\n    format: "{{ outputs.call.encryptedBody }}"\n'
    execution, runs = run(project, one_task(REQUEST, {"uri": http_server.url("/token"), "encryptBody": True}, then))
    assert execution.state == "SUCCESS", runs["call"].error
    assert "body" not in runs["call"].outputs
    assert runs["use"].outputs["value"] == "tok-98765"  # readable downstream, masked in logs and state
