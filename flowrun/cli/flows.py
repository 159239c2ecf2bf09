"""`validate`, `graph` and `flows revisions`: check, draw and list the revisions of flows."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from flowrun.cli.complete import flow_files, flow_refs
from flowrun.cli.options import Home, JsonFlag, err
from flowrun.errors import ExitCode, UsageError

group = typer.Typer(no_args_is_help=True, help="Inspect flows and their stored revisions.")


def graph(
    flow: Annotated[str, typer.Argument(help="A flow file, NAMESPACE/FLOW_ID, or an execution id (its tasks "
                                        "coloured by state).", metavar="FLOW|ID",
                                        autocompletion=flow_refs)],
    format: Annotated[str, typer.Option("--format", help="tree, mermaid or dot.")] = "tree",
    home: Home = None,
) -> None:
    """Draw a flow's topology, nested flowables included; given an execution id, the revision it ran with each
    task coloured by its state.

    Example: flowrun graph flows/hello.yaml --format mermaid   (or: flowrun graph 4bWcR8u3mRkNp2WJmY0E7H)
    """
    from flowrun.app.flows import execution_graph, is_execution_ref, load_flow_ref
    from flowrun.report import graph as pictures

    if format not in ("tree", "mermaid", "dot"):
        raise UsageError(f"unknown format `{format}`", hint="use tree, mermaid or dot")
    states = None
    if is_execution_ref(flow, home):
        loaded, states = execution_graph(flow, home)
    else:
        loaded = load_flow_ref(flow, home)
    if format == "tree":
        from rich.console import Console

        Console().print(pictures.graph_tree(loaded, states))
    else:
        draw = pictures.graph_mermaid if format == "mermaid" else pictures.graph_dot
        typer.echo(draw(loaded, states))


def validate(
    paths: Annotated[list[str] | None, typer.Argument(help="Flow files or directories (searched recursively).",
                                                      metavar="PATH...", show_default=False,
                                                      autocompletion=flow_files)] = None,
    changed: Annotated[bool, typer.Option("--changed", help="[REF] Also the flows under flows/ that changed since "
                                          "git REF (default HEAD; the argument that is not a file): committed "
                                          "since, staged, modified or untracked.")] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print every file and its problems (file, line, "
                                              "column, path, message, severity) as JSON on stdout.")] = False,
    home: Home = None,
) -> None:
    """Validate flow files without running them. Exits 0 when all are valid (warnings allowed), 3 otherwise.

    Example: flowrun validate flows/ --json   (or: flowrun validate --changed origin/main)
    """
    from flowrun.app.flows import validate_paths

    paths = list(paths or [])
    if changed:
        paths, found, ref = _changed_paths(paths, home)
        if not found and not paths:
            typer.echo(f"no flow changed since {ref}")
            return
        paths += [path for path in found if path not in paths]
    results = validate_paths(paths, home)
    if not results:
        raise UsageError("no flow files found", hint="pass a .yaml file or a directory holding some, or --changed")
    bad = sum(1 for _, problems in results if any(problem.is_error for problem in problems))
    if json_output:
        typer.echo(json.dumps(_validation_json(results), indent=2))
    else:
        _echo_validation(results)
    if bad:
        err(f"{bad} of {len(results)} flow file(s) invalid")
        raise typer.Exit(ExitCode.INVALID)


def _echo_validation(results: list[tuple[str, list[Any]]]) -> None:
    for file, problems in results:
        for problem in problems:
            err(str(problem))
        if not any(problem.is_error for problem in problems):
            typer.echo(f"ok  {file}")


def _validation_json(results: list[tuple[str, list[Any]]]) -> dict[str, Any]:
    from flowrun.cli.jsonout import problem_json

    files = [{"file": file, "valid": not any(p.is_error for p in problems),
              "problems": [problem_json(p) for p in problems]} for file, problems in results]
    return {"valid": all(f["valid"] for f in files), "files": files}


def _changed_paths(args: list[str], home: str | None) -> tuple[list[str], list[str], str]:
    """With --changed, the one argument that is not a file or directory is the git ref (default HEAD)."""
    from pathlib import Path

    from flowrun.app.git import changed_flow_files

    refs = [arg for arg in args if not Path(arg).exists()]
    if len(refs) > 1:
        raise UsageError(f"--changed takes one git ref, not {', '.join(refs)}",
                         hint="the other arguments must be flow files or directories")
    ref = refs[0] if refs else "HEAD"
    return [arg for arg in args if arg not in refs], changed_flow_files(ref, home), ref


@group.command("list")
def flows_list(json_output: JsonFlag = False, home: Home = None) -> None:
    """List the project's flows (under flows/): namespace, id, revision, triggers, file and valid or invalid.

    The revision is the stored one the file is; `3+` when the file changed since revision 3 (it becomes the
    next revision when it runs), `-` when it never ran.

    Example: flowrun flows list --json
    """
    from flowrun.app.flows import list_flows

    rows = list_flows(home)
    if json_output:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = [("NAMESPACE", "ID", "REV", "TRIGGERS", "FILE", "VALID")]
    for row in rows:
        revision = "-" if row["revision"] is None else f"{row['revision']}{'+' if row['changed'] else ''}"
        triggers = ",".join(f"{t['id']}:{str(t['type']).rsplit('.', 1)[-1]}" for t in row["triggers"]) or "-"
        table.append((row["namespace"] or "?", row["id"] or "?", revision, triggers, row["file"],
                      "valid" if row["valid"] else f"invalid ({_problems_text(len(row['problems']))})"))
    widths = [max(len(str(line[i])) for line in table) for i in range(5)]
    for line in table:
        typer.echo("  ".join(str(cell).ljust(width) for cell, width in zip(line[:5], widths, strict=True))
                   + "  " + line[5])


def _problems_text(count: int) -> str:
    return f"{count} problem" + ("" if count == 1 else "s")


@group.command("revisions")
def flows_revisions(
    flow: Annotated[str, typer.Argument(help="A flow file, or NAMESPACE/FLOW_ID.", autocompletion=flow_refs)],
    show: Annotated[int | None, typer.Option("--show", help="Print the source of this revision.",
                                             show_default=False)] = None,
    json_output: JsonFlag = False,
    home: Home = None,
) -> None:
    """List a flow's revisions: number, date, source hash and the executions that ran each.

    Every distinct source of a flow that runs is stored once as the next revision.

    Example: flowrun flows revisions flows/hello.yaml --show 1
    """
    from flowrun.app import flows as revisions

    if show is not None:
        typer.echo(revisions.revision_source(home, flow, show), nl=False)
        return
    data = revisions.flow_revisions(home, flow)
    if json_output:
        typer.echo(json.dumps(data, indent=2))
        return
    for line in _revision_lines(data):
        typer.echo(line)


def _revision_lines(data: dict[str, Any]) -> list[str]:
    title = f"{data['namespace']}/{data['flowId']}"
    if data["file"]:
        where = f"revision {data['fileRevision']}" if data["fileRevision"] else "not a revision yet (it is when it runs)"
        title += f"  ({data['file']} is {where})"
    lines = [title]
    if not data["revisions"]:
        return [*lines, "  no revisions yet"]
    lines.append(f"  {'REV':>4}  {'CREATED':<27}  {'HASH':<12}  EXECUTIONS")
    for rev in data["revisions"]:
        ids = rev["executions"]
        used = ", ".join(ids[:3]) + (f" (+{len(ids) - 3} more)" if len(ids) > 3 else "") if ids else "-"
        lines.append(f"  {rev['revision']:>4}  {rev['created']:<27}  {rev['hash'][:12]}  {used}")
    return lines


def echo_execution_revision(home: str | None, execution_id: str) -> None:
    """`executions show ID --revision`: the revision number on stderr, its flow source on stdout."""
    from flowrun.app.inspect import execution_flow_source

    number, source = execution_flow_source(home, execution_id)
    sys.stderr.write(f"revision {number}\n")
    typer.echo(source, nl=False)


def schema() -> None:
    """Print the JSON Schema of the flow document (every task type, input, trigger and condition) for editors.

    Wire it into VS Code's YAML extension with a first line such as
    `# yaml-language-server: $schema=../docs/flow.schema.json`.

    Example: flowrun schema > flow.schema.json
    """
    from flowrun.schema import flow_schema

    typer.echo(json.dumps(flow_schema(), indent=2, sort_keys=False))


def add_commands(app: typer.Typer) -> None:
    """Add `graph`, `validate` and `schema` to the main CLI (`flows` is a group)."""
    app.command()(graph)
    app.command()(validate)
    app.command()(schema)
