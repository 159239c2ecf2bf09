"""Kestra's namespace.UploadFiles/DownloadFiles/DeleteFiles in real flows, on the project's namespace_files/ tree."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from conftest import Project
from coretask_harness import CORE, FILE_INPUT, assert_clean, file_input, read, run, taskrun

NS = f"{CORE}.namespace"


def ns_dir(project: Project, namespace: str) -> Path:
    return project.root / "namespace_files" / namespace


def ns_files(project: Project, namespace: str) -> dict[str, str]:
    base = ns_dir(project, namespace)
    return {p.relative_to(base).as_posix(): p.read_text() for p in sorted(base.rglob("*")) if p.is_file()}


def put(project: Project, namespace: str, rel: str, content: str) -> None:
    path = ns_dir(project, namespace) / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8")


def upload_map(project: Project, content: str, conflict: str = "") -> object:
    extra = f"    conflict: {conflict}\n" if conflict else ""
    tasks = f"""\
  - id: upload
    type: {NS}.UploadFiles
    namespace: "{{{{ flow.namespace }}}}.shared"
    destination: /folder
    filesMap:
      /path/file.txt: "{{{{ inputs.file }}}}"
{extra}"""
    return run(project, tasks, {"file": str(file_input(project, "src.txt", content))}, input_decl=FILE_INPUT)


# -- UploadFiles -----------------------------------------------------------------------------------------------
def test_upload_files_map_with_each_conflict_policy(project: Project) -> None:
    """Kestra's UploadFilesTest: ERROR fails on an existing file, OVERWRITE replaces it, SKIP keeps it."""
    first = upload_map(project, "one")
    assert first.state == "SUCCESS" and taskrun(first, "upload").outputs == {}
    assert ns_files(project, "t.team.shared") == {"folder/path/file.txt": "one"}
    refused = upload_map(project, "two", "ERROR")
    assert refused.state == "FAILED"
    assert "namespace file `folder/path/file.txt` already exists" in taskrun(refused, "upload").error
    skipped = upload_map(project, "three", "SKIP")
    assert skipped.state == "SUCCESS" and ns_files(project, "t.team.shared") == {"folder/path/file.txt": "one"}
    upload_map(project, "four")
    assert ns_files(project, "t.team.shared") == {"folder/path/file.txt": "four"}


def test_upload_working_directory_files_by_glob(project: Project) -> None:
    tasks = f"""\
  - id: wdir
    type: {CORE}.flow.WorkingDirectory
    tasks:
      - id: make
        type: io.kestra.plugin.scripts.shell.Commands
        taskRunner:
          type: io.kestra.plugin.core.runner.Process
        commands:
          - mkdir -p project/dbt/models other
          - echo model > project/dbt/models/a.sql
          - echo conf > project/dbt/dbt_project.yml
          - echo no > other/x.txt
      - id: upload
        type: {NS}.UploadFiles
        namespace: t.team
        files: ["glob:**/dbt/**"]
        destination: code
"""
    execution = run(project, tasks)
    assert execution.state == "SUCCESS", [tr.error for tr in execution.task_runs]
    assert ns_files(project, "t.team") == {"code/project/dbt/dbt_project.yml": "conf\n",
                                           "code/project/dbt/models/a.sql": "model\n"}


def test_upload_refuses_paths_leaving_the_namespace_and_skips_missing_uris(project: Project) -> None:
    tasks = f"""\
  - id: upload
    type: {NS}.UploadFiles
    namespace: t.team
    filesMap:
      ../../escape.txt: "{{{{ inputs.file }}}}"
"""
    execution = run(project, tasks, {"file": str(file_input(project, "e.txt", "x"))}, input_decl=FILE_INPUT)
    assert execution.state == "FAILED"
    assert "namespace file path `/../../escape.txt` escapes the namespace" in taskrun(execution, "upload").error
    assert not (project.root / "escape.txt").exists() and not (project.root / "namespace_files").exists()
    missing = run(project, f"  - id: upload\n    type: {NS}.UploadFiles\n    namespace: t.team\n"
                           "    filesMap:\n      a.txt: kestra:///t/team/f/nope.txt\n")
    assert missing.state == "SUCCESS" and ns_files(project, "t.team") == {}


def test_upload_files_validation(project: Project) -> None:
    project.flow(f"id: f\nnamespace: t\ntasks:\n  - id: up\n    type: {NS}.UploadFiles\n    namespace: t\n"
                 f"  - id: down\n    type: {NS}.DownloadFiles\n    files: ['**']\n", "bad.yaml")
    result = project.cli("validate", "flows/bad.yaml")
    assert_clean(result, 3)
    assert "flows/bad.yaml:4:5: task `up`: set `files` (globs of working-directory files) or `filesMap`" \
        in result.stderr
    assert "task `down`: missing required property `namespace`" in result.stderr


# -- DownloadFiles ---------------------------------------------------------------------------------------------
def test_download_namespace_files_matching_globs(project: Project) -> None:
    """Kestra's DownloadFilesTest.shouldDownloadNamespaceFile, plus a destination."""
    put(project, "tutorial", "a/b/test1.txt", "1")
    put(project, "tutorial", "a/b/test2.txt", "2")
    tasks = f"""\
  - id: download
    type: {NS}.DownloadFiles
    namespace: "{{{{ inputs.ns }}}}"
    files: ["**test1.txt"]
  - id: all
    type: {NS}.DownloadFiles
    namespace: tutorial
    files: "**"
    destination: copies
"""
    execution = run(project, tasks, {"ns": "tutorial"}, input_decl="  - id: ns\n    type: STRING\n")
    assert execution.state == "SUCCESS"
    files = taskrun(execution, "download").outputs["files"]
    assert list(files) == ["/a/b/test1.txt"] and read(project, files["/a/b/test1.txt"]) == "1"
    everything = taskrun(execution, "all").outputs["files"]
    assert sorted(everything) == ["/a/b/test1.txt", "/a/b/test2.txt"]
    assert everything["/a/b/test2.txt"].endswith("/copies/a/b/test2.txt")
    with sqlite3.connect(project.home / "state.db") as conn:
        counts = [m for (m,) in conn.execute("SELECT value FROM metrics WHERE execution_id = ? AND name = "
                                             "'downloaded' ORDER BY id", (execution.id,))]
    assert counts == [1.0, 2.0]


def test_download_from_an_invalid_namespace_fails(project: Project) -> None:
    execution = run(project, f"  - id: download\n    type: {NS}.DownloadFiles\n    namespace: '../x'\n"
                             "    files: ['**']\n")
    assert execution.state == "FAILED" and "`../x` is not a valid namespace" in taskrun(execution, "download").error
    execution = run(project, f"  - id: download\n    type: {NS}.DownloadFiles\n    namespace: t\n    files: []\n")
    assert "`files` selects nothing" in taskrun(execution, "download").error


# -- DeleteFiles -----------------------------------------------------------------------------------------------
def test_delete_files_with_and_without_parent_folders(project: Project) -> None:
    for rel in ("keep/me.txt", "up/one.upl", "up/deep/two.upl", "gone/three.upl"):
        put(project, "t.team", rel, rel)
    tasks = f"""\
  - id: delete
    type: {NS}.DeleteFiles
    namespace: t.team
    files: ["up/**.upl"]
  - id: prune
    type: {NS}.DeleteFiles
    namespace: t.team
    files: "**.upl"
    deleteParentFolder: true
"""
    execution = run(project, tasks)
    assert execution.state == "SUCCESS"
    assert ns_files(project, "t.team") == {"keep/me.txt": "keep/me.txt"}
    assert sorted(p.name for p in ns_dir(project, "t.team").iterdir()) == ["keep", "up"]
    with sqlite3.connect(project.home / "state.db") as conn:
        counts = [m for (m,) in conn.execute("SELECT value FROM metrics WHERE execution_id = ? AND name = 'deleted' "
                                             "ORDER BY id", (execution.id,))]
    assert counts == [2.0, 1.0]


def test_delete_files_bad_flag_fails(project: Project) -> None:
    put(project, "t.team", "a.upl", "x")
    execution = run(project, f"  - id: delete\n    type: {NS}.DeleteFiles\n    namespace: t.team\n"
                             "    files: '**'\n    deleteParentFolder: sometimes\n")
    assert execution.state == "FAILED"
    assert "`deleteParentFolder` must be true or false" in taskrun(execution, "delete").error
    assert ns_files(project, "t.team") == {"a.upl": "x"}
