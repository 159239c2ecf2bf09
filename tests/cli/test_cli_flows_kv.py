"""`flows list` (namespace, id, revision, triggers, file, valid), `run NAMESPACE/ID` typos, `kv list --json`."""

from __future__ import annotations

import re

from conftest import Project


def test_flows_list_shows_every_flow_with_its_revision_triggers_and_validity(project: Project) -> None:
    project.flow_file("cli/scheduled.yaml", "scheduled.yaml")
    project.flow_file("cli/broken.yaml", "sub/broken.yaml")
    assert project.cli("run", "tests.cli/scheduled").code == 0
    lines = project.cli("flows", "list").stdout.splitlines()
    assert re.match(r"NAMESPACE\s+ID\s+REV\s+TRIGGERS\s+FILE\s+VALID$", lines[0])
    assert re.match(r"tests\.cli\s+broken\s+-\s+-\s+flows/sub/broken\.yaml\s+invalid \(1 problem\)$", lines[2])
    assert re.match(r"tests\.cli\s+scheduled\s+1\s+daily:Schedule\s+flows/scheduled\.yaml\s+valid$", lines[1])
    with (project.root / "flows" / "scheduled.yaml").open("a", encoding="utf-8") as handle:
        handle.write("description: changed since revision 1\n")
    rows = {row["id"]: row for row in project.cli("flows", "list", "--json").json()}
    assert rows["scheduled"]["revision"] == 1 and rows["scheduled"]["changed"] is True
    assert rows["scheduled"]["triggers"] == [{"id": "daily", "type": "io.kestra.plugin.core.trigger.Schedule"}]
    assert rows["broken"]["valid"] is False and "did you mean io.kestra.plugin.core.log.Log?" in rows["broken"]["problems"][0]


def test_run_by_id_with_a_typo_suggests_the_closest_flow(project: Project) -> None:
    project.flow_file("cli/scheduled.yaml", "scheduled.yaml")
    result = project.cli("run", "tests.cli/scheduld")
    assert result.code == 2 and "Traceback" not in result.stderr
    assert "no flow `scheduld` in namespace `tests.cli`" in result.stderr
    assert "did you mean tests.cli/scheduled?" in result.stderr
    far = project.cli("run", "elsewhere/unrelated")
    assert far.code == 2 and "did you mean" not in far.stderr


def test_kv_list_json_masks_secrets_unless_revealed(project: Project) -> None:
    assert project.cli("kv", "set", "dev", "token", "s3cret", "--secret").code == 0
    assert project.cli("kv", "set", "dev", "limits", '{"rows": 5}', "--type", "JSON").code == 0
    text = project.cli("kv", "list", "dev").stdout
    assert "token  STRING  secret  expires=-  value=******" in text and "s3cret" not in text
    assert 'limits  JSON  expires=-  value={"rows": 5}' in text
    rows = {row["key"]: row for row in project.cli("kv", "list", "dev", "--json").json()}
    assert rows["token"]["value"] == "******" and rows["token"]["secret"] is True
    assert rows["limits"]["value"] == {"rows": 5} and rows["limits"]["type"] == "JSON"
    revealed = project.cli("kv", "list", "dev", "--json", "--reveal").json()
    assert {row["key"]: row["value"] for row in revealed}["token"] == "s3cret"
