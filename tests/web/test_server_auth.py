"""`flowrun server` on a non-loopback address: refused without credentials, and every page behind HTTP basic
(bcrypt-hashed) or a bearer token; the Webhook endpoint stays reachable by its key alone, as in Kestra."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import requests
from conftest import Project
from web_harness import browser, screenshot, start_server  # noqa: F401 (fixture)

from flowrun.web.security import access_from


def test_a_non_loopback_bind_without_credentials_is_refused_with_what_to_do(project: Project) -> None:
    done = subprocess.run([sys.executable, "-m", "flowrun", "server", "--host", "0.0.0.0", "--port", "0"],
                          cwd=project.root, capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "FLOWRUN_HOME": str(project.home)})
    assert done.returncode == 2
    assert "refusing to serve on 0.0.0.0 without authentication" in done.stderr
    assert "--auth user:password" in done.stderr and "FLOWRUN_SERVER_TOKEN" in done.stderr


def test_credentials_are_checked_against_a_hash_never_kept_in_clear() -> None:
    access = access_from("0.0.0.0", "admin:correct horse", env={})
    assert access.password_hash is not None and b"correct horse" not in access.password_hash
    assert access.allows("Basic YWRtaW46Y29ycmVjdCBob3JzZQ==")  # admin:correct horse
    assert not access.allows("Basic YWRtaW46d3Jvbmc=")  # admin:wrong
    assert not access.allows(None) and not access.allows("Bearer correct horse")
    assert access_from("::1", None, env={}).required is False


def test_a_request_without_auth_on_a_non_loopback_bind_is_rejected(project: Project, browser: Any) -> None:  # noqa: F811
    project.flow_file("web/hook.yaml", "hook.yaml")
    server = start_server(project, "--host", "0.0.0.0", "--auth", "admin:s3cret pass")
    url = server.url.replace("0.0.0.0", "127.0.0.1")
    try:
        anonymous = browser.new_context()
        page = anonymous.new_page()
        # headless Chromium shows no login prompt for a 401 challenge: read the answer through the page's own
        # request context (same cookies and headers as the page), then show it
        answer = page.request.get(url + "/executions")
        assert answer.status == 401 and answer.headers["www-authenticate"].startswith("Basic")
        page.set_content(f"<pre>{answer.text()}</pre>")
        assert "this flowrun server needs credentials" in page.locator("body").inner_text()
        assert "Executions" not in answer.text()
        screenshot(page, "auth-refused")
        anonymous.close()
        signed = browser.new_context(http_credentials={"username": "admin", "password": "s3cret pass"})
        page = signed.new_page()
        answer = page.goto(url + "/flows")
        assert answer is not None and answer.status == 200
        assert page.locator("a.flow-link").all_inner_texts() == ["hook"]
        signed.close()
        hook = requests.post(url + "/api/v1/main/executions/webhook/web.demo/hook/s3cr3t-key", json={"who": "x"},
                             timeout=60)
        assert hook.status_code == 200 and hook.json()["flowId"] == "hook"
    finally:
        server.stop()


def test_a_bearer_token_from_the_environment_opens_the_pages(project: Project) -> None:
    server = start_server(project, "--host", "0.0.0.0", env={"FLOWRUN_SERVER_TOKEN": "tok-123"})
    url = server.url.replace("0.0.0.0", "127.0.0.1")
    try:
        assert requests.get(url + "/executions", timeout=30).status_code == 401
        assert requests.get(url + "/executions", headers={"Authorization": "Bearer nope"}, timeout=30).status_code == 401
        shown = requests.get(url + "/executions", headers={"Authorization": "Bearer tok-123"}, timeout=30)
        assert shown.status_code == 200 and "<h1>Executions" in shown.text
    finally:
        server.stop()


def test_a_loopback_server_answers_only_requests_addressed_to_loopback(project: Project) -> None:
    """A page on another site that rebinds its DNS name to 127.0.0.1 still sends its own name as Host."""
    server = start_server(project)
    try:
        port = server.url.rsplit(":", 1)[1]
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", "localhost"):
            assert requests.get(server.url + "/executions", headers={"Host": host}, timeout=30).status_code == 200
        rebound = requests.get(server.url + "/executions", headers={"Host": f"evil.example:{port}"}, timeout=30)
        assert rebound.status_code == 403 and "only requests to 127.0.0.1" in rebound.text
    finally:
        server.stop()


def test_the_servers_token_does_not_reach_the_flows_it_runs(project: Project) -> None:
    project.flow_file("web/env_probe.yaml", "env_probe.yaml")
    server = start_server(project, "--host", "0.0.0.0", env={"FLOWRUN_SERVER_TOKEN": "tok-456"})
    url = server.url.replace("0.0.0.0", "127.0.0.1")
    try:
        answer = requests.post(url + "/api/v1/main/executions/webhook/web.demo/env_probe/probe-key", timeout=60)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"token": "unset"}
    finally:
        server.stop()
