"""Kestra's storage tasks on internal-storage files in real flows: Concat, Split, Size, Delete, Reverse, LocalFiles."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import Project
from coretask_harness import CORE, FILE_INPUT, assert_clean, file_input, local, read, run, taskrun

from flowrun.storage.split import parse_bytes

S = f"{CORE}.storage"


def padded(count: int) -> list[str]:
    """The lines of Kestra's SplitTest: numbers left-padded to 20 characters."""
    return [f"{n:>20}" for n in range(count)]


def numbers_file(project: Project, count: int, name: str = "get.yml") -> Path:
    return file_input(project, name, "\n".join(padded(count)) + "\n")


def split(project: Project, count: int, option: str) -> list[str]:
    execution = run(project, f"  - id: split\n    type: {S}.Split\n    from: \"{{{{ inputs.file }}}}\"\n    {option}\n",
                    {"file": str(numbers_file(project, count))}, input_decl=FILE_INPUT)
    assert execution.state == "SUCCESS", taskrun(execution, "split").error
    return list(taskrun(execution, "split").outputs["uris"])


# -- Concat ----------------------------------------------------------------------------------------------------
def test_concat_files_with_separator_and_extension(project: Project) -> None:
    decl = "  - id: a\n    type: FILE\n  - id: b\n    type: FILE\n"
    tasks = f"""\
  - id: concat
    type: {S}.Concat
    files: ["{{{{ inputs.a }}}}", "{{{{ inputs.b }}}}"]
    separator: "|"
    extension: .txt
  - id: json
    type: io.kestra.core.tasks.storages.Concat
    files: '["{{{{ inputs.b }}}}", "{{{{ inputs.a }}}}"]'
"""
    inputs = {"a": str(file_input(project, "a.txt", "first")), "b": str(file_input(project, "b.txt", "second"))}
    execution = run(project, tasks, inputs, input_decl=decl)
    assert execution.state == "SUCCESS"
    concat = taskrun(execution, "concat").outputs["uri"]
    assert concat.endswith(".txt") and read(project, concat) == "first|second|"
    joined = taskrun(execution, "json").outputs["uri"]
    assert joined.endswith(".tmp") and read(project, joined) == "secondfirst"


def test_concat_of_a_missing_file_fails_naming_it(project: Project) -> None:
    execution = run(project, f"  - id: concat\n    type: {S}.Concat\n    files: [\"kestra:///t/team/f/nope.txt\"]\n")
    assert execution.state == "FAILED"
    assert "kestra:///t/team/f/nope.txt" in taskrun(execution, "concat").error
    execution = run(project, f"  - id: concat\n    type: {S}.Concat\n    files: [/etc/passwd]\n")
    assert "must be a kestra:// internal storage URI" in taskrun(execution, "concat").error


# -- Split -----------------------------------------------------------------------------------------------------
def test_split_by_rows_bytes_and_partitions_like_kestra(project: Project) -> None:
    """Kestra's SplitTest.rows, bytes and partition."""
    expected = "\n".join(padded(1000)) + "\n"
    rows = split(project, 1000, "rows: 10")
    assert len(rows) == 100 and all(uri.endswith(".yml") for uri in rows)
    assert "".join(read(project, uri) for uri in rows) == expected
    by_bytes = split(project, 12288, "bytes: 1KB")
    assert len(by_bytes) == 251
    assert "".join(read(project, uri) for uri in by_bytes) == "\n".join(padded(12288)) + "\n"
    parts = split(project, 1000, "partitions: 8")
    assert len(parts) == 8 and sum(read(project, uri).count("\n") for uri in parts) == 1000
    assert read(project, parts[0]).splitlines()[:2] == [padded(1000)[0], padded(1000)[8]]


def test_split_by_regex_and_custom_separator(project: Project) -> None:
    content = '{"t":"a","n":1}\n{"t":"b","n":2}\nnoise\n{"t":"a","n":3}\r\n'
    tasks = f"""\
  - id: split
    type: {S}.Split
    from: "{{{{ inputs.file }}}}"
    regexPattern: '"t":"([^"]+)"'
    separator: ";"
"""
    execution = run(project, tasks, {"file": str(file_input(project, "rows.json", content))}, input_decl=FILE_INPUT)
    uris = taskrun(execution, "split").outputs["uris"]
    assert [read(project, uri) for uri in uris] == ['{"t":"a","n":1};{"t":"a","n":3};', '{"t":"b","n":2};']
    assert all(uri.endswith(".json") for uri in uris)


@pytest.mark.parametrize(("options", "message"), [
    ("", "set exactly one of bytes, partitions, rows or regexPattern"),
    ("rows: 2\n    partitions: 2", "(got partitions, rows)"),
    ("bytes: 10XB", "invalid size `10XB`"),
    ("rows: 0", "`rows` must be at least 1"),
    ("regexPattern: 'no group'", "needs a capture group"),
])
def test_split_rejects_bad_options(project: Project, options: str, message: str) -> None:
    tasks = f"  - id: split\n    type: {S}.Split\n    from: \"{{{{ inputs.file }}}}\"\n    {options}\n"
    execution = run(project, tasks, {"file": str(numbers_file(project, 3))}, input_decl=FILE_INPUT)
    assert execution.state == "FAILED"
    assert message in taskrun(execution, "split").error


def test_parse_bytes_like_micronaut() -> None:
    assert [parse_bytes(t) for t in ("10", "1KB", "2mb", "1GB")] == [10, 1024, 2 * 1024 ** 2, 1024 ** 3]
    with pytest.raises(ValueError, match="invalid size"):
        parse_bytes("1.5MB")


# -- Size, Delete ----------------------------------------------------------------------------------------------
def test_size_then_delete_then_delete_again(project: Project) -> None:
    tasks = f"""\
  - id: size
    type: {S}.Size
    uri: "{{{{ inputs.file }}}}"
  - id: delete
    type: {S}.Delete
    uri: "{{{{ inputs.file }}}}"
  - id: again
    type: io.kestra.core.tasks.storages.Delete
    uri: "{{{{ inputs.file }}}}"
"""
    execution = run(project, tasks, {"file": str(file_input(project, "data.csv", "a,b\n1,2\n"))},
                    input_decl=FILE_INPUT)
    assert execution.state == "SUCCESS"
    uri = execution.inputs["file"]
    assert taskrun(execution, "size").outputs == {"size": 8}
    assert taskrun(execution, "delete").outputs == {"uri": uri, "deleted": True}
    assert taskrun(execution, "again").outputs == {"uri": uri, "deleted": False}
    assert not local(project, uri).exists()


def test_size_of_missing_file_and_delete_error_on_missing_fail(project: Project) -> None:
    missing = "kestra:///t/team/f/executions/x/nothing.csv"
    execution = run(project, f"  - id: size\n    type: {S}.Size\n    uri: {missing}\n")
    assert execution.state == "FAILED" and "does not exist" in taskrun(execution, "size").error
    execution = run(project, f"  - id: delete\n    type: {S}.Delete\n    uri: {missing}\n    errorOnMissing: true\n")
    assert execution.state == "FAILED" and f"unable to find file `{missing}`" in taskrun(execution, "delete").error
    execution = run(project, f"  - id: delete\n    type: {S}.Delete\n    uri: kestra:///../../etc/passwd\n")
    assert execution.state == "FAILED" and "escapes the internal storage root" in taskrun(execution, "delete").error


# -- Reverse ---------------------------------------------------------------------------------------------------
def test_reverse_lines_keeps_extension_and_charset(project: Project) -> None:
    """Kestra's ReverseTest.run, plus a Latin-1 file and a separator."""
    latin = project.root / "latin.txt"
    latin.write_bytes("café\nthé".encode("latin-1"))
    decl = "  - id: file\n    type: FILE\n  - id: latin\n    type: FILE\n"
    tasks = f"""\
  - id: reverse
    type: {S}.Reverse
    from: "{{{{ inputs.file }}}}"
  - id: latin
    type: {S}.Reverse
    from: "{{{{ inputs.latin }}}}"
    charset: ISO-8859-1
    separator: "\\r\\n"
"""
    inputs = {"file": str(file_input(project, "get.yml", "1\n2\n3\n")), "latin": str(latin)}
    execution = run(project, tasks, inputs, input_decl=decl)
    reversed_uri = taskrun(execution, "reverse").outputs["uri"]
    assert reversed_uri.endswith(".yml") and read(project, reversed_uri) == "3\n2\n1\n"
    assert local(project, taskrun(execution, "latin").outputs["uri"]).read_bytes() == "thé\r\ncafé\r\n".encode(
        "latin-1")


def test_reverse_with_unknown_charset_fails(project: Project) -> None:
    tasks = f"  - id: reverse\n    type: {S}.Reverse\n    from: \"{{{{ inputs.file }}}}\"\n    charset: KLINGON\n"
    execution = run(project, tasks, {"file": str(file_input(project, "x.txt", "a\n"))}, input_decl=FILE_INPUT)
    assert execution.state == "FAILED" and "unknown charset `KLINGON`" in taskrun(execution, "reverse").error


# -- LocalFiles ------------------------------------------------------------------------------------------------
def test_local_files_inputs_and_outputs_inside_a_working_directory(project: Project) -> None:
    tasks = f"""\
  - id: wdir
    type: {CORE}.flow.WorkingDirectory
    tasks:
      - id: inputs
        type: {S}.LocalFiles
        inputs:
          hello.txt: "Hello {{{{ flow.id }}}}"
          data/copy.csv: "{{{{ inputs.file }}}}"
          empty.txt: null
      - id: shell
        type: io.kestra.plugin.scripts.shell.Commands
        taskRunner:
          type: io.kestra.plugin.core.runner.Process
        commands:
          - mkdir -p sub/dir
          - cat hello.txt data/copy.csv > sub/dir/both.txt
          - test -f empty.txt && echo ok > sub/flag.txt
      - id: outputs
        type: io.kestra.core.tasks.storages.LocalFiles
        outputs:
          - sub/**
"""
    execution = run(project, tasks, {"file": str(file_input(project, "in.csv", "x,y\n"))}, input_decl=FILE_INPUT)
    assert execution.state == "SUCCESS", [tr.error for tr in execution.task_runs]
    assert taskrun(execution, "inputs").outputs == {"uris": {}}
    uris = taskrun(execution, "outputs").outputs["uris"]
    assert sorted(uris) == ["sub/dir/both.txt", "sub/flag.txt"]
    assert read(project, uris["sub/dir/both.txt"]) == "Hello fx,y\n"


def test_local_files_refuses_paths_outside_the_working_directory(project: Project) -> None:
    tasks = f"""\
  - id: wdir
    type: {CORE}.flow.WorkingDirectory
    tasks:
      - id: inputs
        type: {S}.LocalFiles
        inputs:
          ../escape.txt: nope
"""
    execution = run(project, tasks)
    assert execution.state == "FAILED"
    assert "outside the working directory" in taskrun(execution, "inputs").error
    assert not (project.home / "tmp" / "escape.txt").exists()


# -- PurgeCurrentExecutionFiles -------------------------------------------------------------------------------
def test_purge_current_execution_files_deletes_this_executions_files_only(project: Project) -> None:
    keep = run(project, f"  - id: write\n    type: {S}.Concat\n    files: [\"{{{{ inputs.file }}}}\"]\n",
               {"file": str(file_input(project, "keep.txt", "kept"))}, flow_id="other", input_decl=FILE_INPUT)
    kept = taskrun(keep, "write").outputs["uri"]
    tasks = f"""\
  - id: write
    type: {S}.Concat
    files: ["{{{{ inputs.file }}}}"]
  - id: purge
    type: {S}.PurgeCurrentExecutionFiles
"""
    execution = run(project, tasks, {"file": str(file_input(project, "a.txt", "gone"))}, input_decl=FILE_INPUT)
    assert execution.state == "SUCCESS", taskrun(execution, "purge").error
    written = taskrun(execution, "write").outputs["uri"]
    uris = taskrun(execution, "purge").outputs["uris"]
    assert written in uris and not local(project, written).exists()
    assert all(execution.id in uri for uri in uris), uris
    assert read(project, kept) == "kept"


# -- validation ------------------------------------------------------------------------------------------------
def test_validate_reports_every_bad_storage_task_at_once(project: Project) -> None:
    project.flow(f"""\
id: f
namespace: t
tasks:
  - id: split
    type: {S}.Split
    rows: 2
  - id: concat
    type: {S}.Concat
    file: [kestra:///a]
  - id: size
    type: {S}.Size
    url: kestra:///a
  - id: items
    type: {S}.FilterItems
    from: kestra:///a
  - id: local
    type: {S}.LocalFiles
    output: ["*"]
""", "bad.yaml")
    result = project.cli("validate", "flows/bad.yaml")
    assert_clean(result, 3)
    for needle in ("task `split`", "from", "task `concat`", "'file'", "task `size`", "'url'", "task `items`",
                   "filterCondition", "task `local`", "'output'"):
        assert needle in result.stderr, result.stderr
