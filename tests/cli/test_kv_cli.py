"""`flowrun kv` through the real CLI: exit codes, naming rules, expired keys, and secrets encrypted at rest."""

from __future__ import annotations

import base64
import hashlib
import time

from conftest import Project
from helpers import assert_clean

SECRET = "s3cr3t-token-8f2e1c"
PASSWORD = "hunter2-pass-4410"


def state_bytes(project: Project) -> bytes:
    """Every byte of the state DB (main file, WAL and shared memory)."""
    return b"".join(path.read_bytes() for path in sorted(project.home.glob("state.db*")))


# -- exit codes -------------------------------------------------------------------------------------------
def test_missing_key_exits_1(project: Project) -> None:
    result = project.cli("kv", "get", "t", "nope")
    assert_clean(result, 1)
    assert "key `nope` does not exist in namespace `t`" in result.stderr
    result = project.cli("kv", "delete", "t", "nope")
    assert_clean(result, 1)
    assert "key `nope` does not exist in namespace `t`" in result.stderr


def test_expired_key_reads_as_missing_in_get_delete_and_list(project: Project) -> None:
    for key in ("gone", "also_gone"):
        assert_clean(project.cli("kv", "set", "t", key, "v", "--ttl", "PT0.2S"), 0)
    assert_clean(project.cli("kv", "set", "t", "kept", "v"), 0)
    time.sleep(0.3)
    got = project.cli("kv", "get", "t", "gone")
    assert_clean(got, 1)
    assert "key `gone` does not exist in namespace `t`" in got.stderr and "expired" in got.stderr
    deleted = project.cli("kv", "delete", "t", "also_gone")
    assert_clean(deleted, 1)
    assert "key `also_gone` does not exist in namespace `t`" in deleted.stderr
    listed = project.cli("kv", "list", "t")
    assert_clean(listed, 0)
    assert [line.split()[0] for line in listed.stdout.splitlines()] == ["kept"]


def test_bad_typed_value_exits_3_without_json_noise(project: Project) -> None:
    result = project.cli("kv", "set", "t", "n", "notanumber", "--type", "NUMBER")
    assert_clean(result, 3)
    assert "value `notanumber` of key `n` is not a valid NUMBER" in result.stderr
    assert "Expecting value" not in result.stderr and "line 1 column 1" not in result.stderr
    bad_json = project.cli("kv", "set", "t", "j", "{nope", "--type", "JSON")
    assert_clean(bad_json, 3)
    assert "is not a valid JSON" in bad_json.stderr
    assert_clean(project.cli("kv", "get", "t", "n"), 1)  # nothing was stored


def test_bad_type_option_and_value_file_are_usage_errors(project: Project) -> None:
    result = project.cli("kv", "set", "t", "k", "v", "--type", "BLOB")
    assert_clean(result, 2)
    assert "--type" in result.stderr and "NUMBER" in result.stderr
    result = project.cli("kv", "set", "t", "k", "@/nonexistent/value.json")
    assert_clean(result, 2)
    assert "/nonexistent/value.json" in result.stderr


def test_bad_ttl_exits_2(project: Project) -> None:
    result = project.cli("kv", "set", "t", "k", "v", "--ttl", "1 hour")
    assert_clean(result, 2)  # a bad option value; a KV Set task's bad ttl stays an invalid input (3)
    assert "--ttl: `1 hour` is not an ISO-8601 duration" in result.stderr


# -- naming rules (Kestra's) --------------------------------------------------------------------------------
def test_bad_namespace_and_key_exit_2_with_the_rule(project: Project) -> None:
    for args in (("set", "bad ns!", "k", "v"), ("get", "bad ns!", "k"), ("list", "bad ns!"),
                 ("delete", "bad ns!", "k"), ("set", "Upper.Case", "k", "v"), ("set", ".dot", "k", "v")):
        result = project.cli("kv", *args)
        assert_clean(result, 2)
        assert "is not a valid namespace" in result.stderr, args
        assert "[a-z0-9][a-z0-9._-]*" in result.stderr
    for key in ("bad key!", "-dash", "ünï"):
        result = project.cli("kv", "set", "--", "t", key, "v")
        assert_clean(result, 2)
        assert f"invalid KV key `{key}`" in result.stderr
        assert "[a-zA-Z0-9][a-zA-Z0-9._-]*" in result.stderr
    assert_clean(project.cli("kv", "list", "t"), 0)
    assert project.cli("kv", "list", "t").stdout == ""  # nothing was stored


def test_kv_tasks_check_the_namespace(project: Project) -> None:
    project.flow("""\
        id: bad_ns
        namespace: t
        tasks:
          - id: put
            type: io.kestra.plugin.core.kv.Set
            namespace: "bad ns!"
            key: k
            value: v
        """)
    result = project.cli("run", "flows/flow.yaml")
    assert_clean(result, 1)
    logs = project.cli("logs", project.cli("executions", "list", "--json").json()[0]["id"]).stdout
    assert "put" in logs and "`bad ns!` is not a valid namespace" in logs


# -- secrets ------------------------------------------------------------------------------------------------
SECRET_FLOW = """\
    id: keep
    namespace: t
    inputs:
      - id: password
        type: SECRET
    tasks:
      - id: put
        type: io.kestra.plugin.core.kv.Set
        key: token
        value: "{{ secret('API_TOKEN') }}"
      - id: put_password
        type: io.kestra.plugin.core.kv.Set
        key: password
        value: "{{ inputs.password }}"
      - id: put_plain
        type: io.kestra.plugin.core.kv.Set
        key: plain
        value: visible-value
      - id: use
        type: io.kestra.plugin.core.log.Log
        message: "token is {{ kv('token') }}"
      - id: size
        type: io.kestra.plugin.core.debug.Return
        format: "{{ kv('token') | sha256 }}"
      - id: get
        type: io.kestra.plugin.core.kv.Get
        key: token
    """


def test_kv_value_set_from_a_secret_is_encrypted_and_masked(project: Project) -> None:
    project.flow(SECRET_FLOW)
    env = {"SECRET_API_TOKEN": base64.b64encode(SECRET.encode()).decode()}
    result = project.cli("run", "flows/flow.yaml", "--input", f"password={PASSWORD}", "--json", env=env)
    assert_clean(result, 0)
    doc = result.json()
    size = next(tr for tr in doc["taskRuns"] if tr["taskId"] == "size")
    assert size["outputs"]["value"] == hashlib.sha256(SECRET.encode()).hexdigest()  # kv() reads the real value
    logs = project.cli("logs", doc["id"]).stdout
    assert "token is ******" in logs and SECRET not in logs
    stored = state_bytes(project)
    assert SECRET.encode() not in stored and PASSWORD.encode() not in stored
    assert b"visible-value" in stored  # a plain value stays plain, as in Kestra

    masked = project.cli("kv", "get", "t", "token")
    assert_clean(masked, 0)
    assert masked.stdout == "******\n"
    assert project.cli("kv", "get", "t", "password").stdout == "******\n"
    assert project.cli("kv", "get", "t", "plain").stdout == "visible-value\n"
    revealed = project.cli("kv", "get", "t", "token", "--reveal")
    assert_clean(revealed, 0)
    assert revealed.stdout == SECRET + "\n"

    listed = project.cli("kv", "list", "t")
    assert_clean(listed, 0)
    lines = {line.split()[0]: line for line in listed.stdout.splitlines()}
    assert "secret" in lines["token"] and "value=******" in lines["token"] and SECRET not in listed.stdout
    assert "value=visible-value" in lines["plain"] and "secret" not in lines["plain"]
    assert f"value={SECRET}" in project.cli("kv", "list", "t", "--reveal").stdout


def test_kv_set_secret_from_the_cli(project: Project) -> None:
    assert_clean(project.cli("kv", "set", "t", "creds", '{"user": "ana", "password": "' + PASSWORD + '"}',
                             "--type", "JSON", "--secret"), 0)
    assert PASSWORD.encode() not in state_bytes(project)
    assert project.cli("kv", "get", "t", "creds").stdout == "******\n"
    revealed = project.cli("kv", "get", "t", "creds", "--reveal")
    assert revealed.stdout == '{"user": "ana", "password": "' + PASSWORD + '"}\n'
    project.flow("""\
        id: reads
        namespace: t
        tasks:
          - id: say
            type: io.kestra.plugin.core.log.Log
            message: "password {{ kv('creds').password }} of {{ kv('creds').user }}"
          - id: get
            type: io.kestra.plugin.core.kv.Get
            key: creds
        """)
    result = project.cli("run", "flows/flow.yaml", "--json")
    assert_clean(result, 0)
    logs = project.cli("logs", result.json()["id"]).stdout
    assert "password ****** of ******" in logs and PASSWORD not in logs  # every string of a secret JSON
    assert PASSWORD.encode() not in state_bytes(project)
    # set again without --secret: the value is plain again
    assert_clean(project.cli("kv", "set", "t", "creds", "now-plain"), 0)
    assert project.cli("kv", "get", "t", "creds").stdout == "now-plain\n"
