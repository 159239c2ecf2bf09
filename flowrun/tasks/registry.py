"""The one map from Kestra `type` names (and legacy aliases) to flowrun task classes, imported on first use."""

from __future__ import annotations

import importlib
import importlib.util
from functools import cache
from typing import TYPE_CHECKING

from flowrun.errors import ExitCode, FlowrunError

if TYPE_CHECKING:
    from flowrun.tasks.base import Task

CORE = "io.kestra.plugin.core"
SCRIPTS = "io.kestra.plugin.scripts"
JDBC = "io.kestra.plugin.jdbc"
GCP = "io.kestra.plugin.gcp"
DBT = "io.kestra.plugin.dbt.cli"
GIT = "io.kestra.plugin.git"

#: canonical Kestra type -> "module:Class"
TASKS: dict[str, str] = {
    f"{CORE}.log.Log": "flowrun.tasks.core:Log",
    f"{CORE}.debug.Return": "flowrun.tasks.core:Return",
    f"{CORE}.debug.Echo": "flowrun.tasks.core:Echo",
    f"{CORE}.execution.Fail": "flowrun.tasks.core:Fail",
    f"{CORE}.execution.Labels": "flowrun.tasks.core:Labels",
    f"{CORE}.output.OutputValues": "flowrun.tasks.core:OutputValues",
    f"{CORE}.flow.Sleep": "flowrun.tasks.core:Sleep",
    f"{CORE}.kv.Set": "flowrun.tasks.kv:Set",
    f"{CORE}.kv.Get": "flowrun.tasks.kv:Get",
    f"{CORE}.kv.GetKeys": "flowrun.tasks.kv:GetKeys",
    f"{CORE}.kv.Delete": "flowrun.tasks.kv:Delete",
    f"{CORE}.http.Download": "flowrun.tasks.http:Download",
    f"{CORE}.http.Request": "flowrun.tasks.http:Request",
    f"{CORE}.storage.PurgeCurrentExecutionFiles": "flowrun.tasks.storage:PurgeCurrentExecutionFiles",
    f"{CORE}.execution.PurgeExecutions": "flowrun.tasks.purge:PurgeExecutions",
    f"{CORE}.log.PurgeLogs": "flowrun.tasks.purge:PurgeLogs",
    f"{CORE}.kv.PurgeKV": "flowrun.tasks.purge:PurgeKV",
    f"{CORE}.state.Get": "flowrun.tasks.task_state:Get",
    f"{CORE}.state.Set": "flowrun.tasks.task_state:Set",
    f"{CORE}.state.Delete": "flowrun.tasks.task_state:Delete",
    f"{CORE}.log.Fetch": "flowrun.tasks.log_fetch:Fetch",
    f"{CORE}.storage.Concat": "flowrun.tasks.storage_files:Concat",
    f"{CORE}.storage.Split": "flowrun.tasks.storage_files:Split",
    f"{CORE}.storage.Size": "flowrun.tasks.storage_files:Size",
    f"{CORE}.storage.Delete": "flowrun.tasks.storage_files:Delete",
    f"{CORE}.storage.Reverse": "flowrun.tasks.storage_files:Reverse",
    f"{CORE}.storage.LocalFiles": "flowrun.tasks.storage_files:LocalFiles",
    f"{CORE}.storage.DeduplicateItems": "flowrun.tasks.storage_items:DeduplicateItems",
    f"{CORE}.storage.FilterItems": "flowrun.tasks.storage_items:FilterItems",
    f"{CORE}.namespace.UploadFiles": "flowrun.tasks.namespace:UploadFiles",
    f"{CORE}.namespace.DownloadFiles": "flowrun.tasks.namespace:DownloadFiles",
    f"{CORE}.namespace.DeleteFiles": "flowrun.tasks.namespace:DeleteFiles",
    # flowable tasks
    f"{CORE}.flow.If": "flowrun.tasks.flowable:If",
    f"{CORE}.flow.Switch": "flowrun.tasks.flowable:Switch",
    f"{CORE}.flow.Sequential": "flowrun.tasks.flowable:Sequential",
    f"{CORE}.flow.Parallel": "flowrun.tasks.flowable:Parallel",
    f"{CORE}.flow.ForEach": "flowrun.tasks.flowable:ForEach",
    f"{CORE}.flow.EachSequential": "flowrun.tasks.flowable:EachSequential",
    f"{CORE}.flow.EachParallel": "flowrun.tasks.flowable:EachParallel",
    f"{CORE}.flow.Dag": "flowrun.tasks.flowable:Dag",
    f"{CORE}.flow.AllowFailure": "flowrun.tasks.flowable:AllowFailure",
    f"{CORE}.flow.WorkingDirectory": "flowrun.tasks.flowable:WorkingDirectory",
    f"{CORE}.flow.Pause": "flowrun.tasks.pause:Pause",
    f"{CORE}.flow.Subflow": "flowrun.tasks.flowable:Subflow",
    f"{CORE}.flow.LoopUntil": "flowrun.tasks.loop_until:LoopUntil",
    f"{CORE}.flow.WaitFor": "flowrun.tasks.loop_until:WaitFor",
    f"{CORE}.flow.ForEachItem": "flowrun.tasks.foreach_item:ForEachItem",
    f"{CORE}.flow.Template": "flowrun.tasks.template:Template",
    f"{CORE}.templating.TemplatedTask": "flowrun.tasks.template:TemplatedTask",
    f"{CORE}.execution.Exit": "flowrun.tasks.execution:Exit",
    f"{CORE}.execution.Resume": "flowrun.tasks.execution:Resume",
    f"{CORE}.execution.Count": "flowrun.tasks.execution:Count",
    f"{CORE}.trigger.Toggle": "flowrun.tasks.trigger_toggle:Toggle",
    f"{CORE}.execution.Assert": "flowrun.tasks.checks:Assert",
    f"{CORE}.execution.SetVariables": "flowrun.tasks.checks:SetVariables",
    f"{CORE}.execution.UnsetVariables": "flowrun.tasks.checks:UnsetVariables",
    f"{CORE}.metric.Publish": "flowrun.tasks.checks:Publish",
    f"{CORE}.storage.Write": "flowrun.tasks.checks:Write",
    # scripts
    f"{SCRIPTS}.python.Script": "flowrun.tasks.scripts:PythonScript",
    f"{SCRIPTS}.python.Commands": "flowrun.tasks.scripts:PythonCommands",
    f"{SCRIPTS}.shell.Script": "flowrun.tasks.scripts:ShellScript",
    f"{SCRIPTS}.shell.Commands": "flowrun.tasks.scripts:ShellCommands",
    f"{SCRIPTS}.node.Script": "flowrun.tasks.scripts:NodeScript",
    f"{SCRIPTS}.node.Commands": "flowrun.tasks.scripts:NodeCommands",
    # jdbc
    f"{JDBC}.postgresql.Query": "flowrun.tasks.postgres:Query",
    f"{JDBC}.postgresql.Queries": "flowrun.tasks.postgres:Queries",
    f"{JDBC}.postgresql.CopyIn": "flowrun.tasks.postgres:CopyIn",
    f"{JDBC}.postgresql.CopyOut": "flowrun.tasks.postgres:CopyOut",
    f"{JDBC}.duckdb.Query": "flowrun.tasks.duckdb:Query",
    f"{JDBC}.duckdb.Queries": "flowrun.tasks.duckdb:Queries",
    # google cloud
    f"{GCP}.gcs.Upload": "flowrun.tasks.gcs:Upload",
    f"{GCP}.gcs.Download": "flowrun.tasks.gcs:Download",
    f"{GCP}.gcs.Downloads": "flowrun.tasks.gcs:Downloads",
    f"{GCP}.gcs.List": "flowrun.tasks.gcs:List",
    f"{GCP}.gcs.Delete": "flowrun.tasks.gcs:Delete",
    f"{GCP}.gcs.DeleteList": "flowrun.tasks.gcs:DeleteList",
    f"{GCP}.gcs.Copy": "flowrun.tasks.gcs:Copy",
    f"{GCP}.gcs.CreateBucket": "flowrun.tasks.gcs:CreateBucket",
    f"{GCP}.bigquery.Query": "flowrun.tasks.bigquery:Query",
    f"{GCP}.bigquery.CreateDataset": "flowrun.tasks.bigquery:CreateDataset",
    f"{GCP}.bigquery.CreateTable": "flowrun.tasks.bigquery:CreateTable",
    f"{GCP}.bigquery.DeleteDataset": "flowrun.tasks.bigquery:DeleteDataset",
    f"{GCP}.bigquery.DeleteTable": "flowrun.tasks.bigquery:DeleteTable",
    f"{GCP}.bigquery.Load": "flowrun.tasks.bigquery:Load",
    f"{GCP}.bigquery.LoadFromGcs": "flowrun.tasks.bigquery:LoadFromGcs",
    f"{GCP}.bigquery.ExtractToGcs": "flowrun.tasks.bigquery:ExtractToGcs",
    # dbt
    f"{DBT}.DbtCLI": "flowrun.tasks.dbt:DbtCLI",
    **{f"{DBT}.{name}": f"flowrun.tasks.dbt:{name}" for name in (
        "Build", "Run", "Test", "Seed", "Snapshot", "Compile", "Deps", "Freshness", "List")},
    # git
    f"{GIT}.Clone": "flowrun.tasks.git:Clone",
    f"{GIT}.SyncNamespaceFiles": "flowrun.tasks.git:SyncNamespaceFiles",
    f"{GIT}.SyncFlows": "flowrun.tasks.git:SyncFlows",
    f"{GIT}.PushFlows": "flowrun.tasks.git_push:PushFlows",
    f"{GIT}.PushNamespaceFiles": "flowrun.tasks.git_push:PushNamespaceFiles",
    f"{GIT}.Push": "flowrun.tasks.git_legacy:Push",
    f"{GIT}.Sync": "flowrun.tasks.git_legacy:Sync",
}

#: legacy or alternative name -> canonical name
ALIASES: dict[str, str] = {
    "io.kestra.core.tasks.log.Log": f"{CORE}.log.Log",
    "io.kestra.core.tasks.debugs.Return": f"{CORE}.debug.Return",
    "io.kestra.core.tasks.debugs.Echo": f"{CORE}.debug.Echo",
    "io.kestra.core.tasks.executions.Fail": f"{CORE}.execution.Fail",
    "io.kestra.core.tasks.executions.Labels": f"{CORE}.execution.Labels",
    "io.kestra.core.tasks.outputs.OutputValues": f"{CORE}.output.OutputValues",
    "io.kestra.core.tasks.flows.Sleep": f"{CORE}.flow.Sleep",
    "io.kestra.core.tasks.storages.PurgeExecution": f"{CORE}.storage.PurgeCurrentExecutionFiles",
    "io.kestra.core.tasks.storages.PurgeCurrentExecutionFiles": f"{CORE}.storage.PurgeCurrentExecutionFiles",
    "io.kestra.core.tasks.storages.Purge": f"{CORE}.execution.PurgeExecutions",
    "io.kestra.plugin.core.storage.Purge": f"{CORE}.execution.PurgeExecutions",
    "io.kestra.core.tasks.states.Get": f"{CORE}.state.Get",
    "io.kestra.core.tasks.states.Set": f"{CORE}.state.Set",
    "io.kestra.core.tasks.states.Delete": f"{CORE}.state.Delete",
    "io.kestra.core.tasks.log.Fetch": f"{CORE}.log.Fetch",
    **{f"io.kestra.core.tasks.storages.{name}": f"{CORE}.storage.{name}" for name in (
        "Concat", "Split", "Size", "Delete", "Reverse", "LocalFiles", "DeduplicateItems", "FilterItems")},
    "io.kestra.plugin.fs.http.Download": f"{CORE}.http.Download",
    "io.kestra.plugin.fs.http.Request": f"{CORE}.http.Request",
    "io.kestra.core.tasks.flows.If": f"{CORE}.flow.If",
    "io.kestra.core.tasks.flows.Switch": f"{CORE}.flow.Switch",
    "io.kestra.core.tasks.flows.Sequential": f"{CORE}.flow.Sequential",
    "io.kestra.core.tasks.flows.Parallel": f"{CORE}.flow.Parallel",
    "io.kestra.core.tasks.flows.ForEach": f"{CORE}.flow.ForEach",
    "io.kestra.core.tasks.flows.EachSequential": f"{CORE}.flow.EachSequential",
    "io.kestra.core.tasks.flows.EachParallel": f"{CORE}.flow.EachParallel",
    "io.kestra.core.tasks.flows.Dag": f"{CORE}.flow.Dag",
    "io.kestra.core.tasks.flows.AllowFailure": f"{CORE}.flow.AllowFailure",
    "io.kestra.core.tasks.flows.WorkingDirectory": f"{CORE}.flow.WorkingDirectory",
    "io.kestra.core.tasks.flows.Worker": f"{CORE}.flow.WorkingDirectory",
    "io.kestra.core.tasks.flows.Pause": f"{CORE}.flow.Pause",
    "io.kestra.core.tasks.flows.Subflow": f"{CORE}.flow.Subflow",
    "io.kestra.core.tasks.flows.WaitFor": f"{CORE}.flow.WaitFor",
    "io.kestra.core.tasks.flows.ForEachItem": f"{CORE}.flow.ForEachItem",
    "io.kestra.core.tasks.flows.Template": f"{CORE}.flow.Template",
    "io.kestra.core.tasks.templating.TemplatedTask": f"{CORE}.templating.TemplatedTask",
    "io.kestra.core.tasks.executions.Counts": f"{CORE}.execution.Count",
    f"{CORE}.execution.Counts": f"{CORE}.execution.Count",
    f"{CORE}.storage.PurgeExecution": f"{CORE}.storage.PurgeCurrentExecutionFiles",
    "io.kestra.core.tasks.executions.Assert": f"{CORE}.execution.Assert",
    "io.kestra.core.tasks.storages.Write": f"{CORE}.storage.Write",
    "io.kestra.core.tasks.metrics.Publish": f"{CORE}.metric.Publish",
    "io.kestra.core.tasks.trigger.Toggle": f"{CORE}.trigger.Toggle",
    "io.kestra.core.tasks.flows.Flow": f"{CORE}.flow.Subflow",
    "io.kestra.plugin.core.flow.Flow": f"{CORE}.flow.Subflow",
    "io.kestra.core.tasks.scripts.Bash": f"{SCRIPTS}.shell.Commands",
    "io.kestra.core.tasks.scripts.Python": f"{SCRIPTS}.python.Commands",
    "io.kestra.core.tasks.scripts.Node": f"{SCRIPTS}.node.Commands",
    "io.kestra.plugin.scripts.bash.Commands": f"{SCRIPTS}.shell.Commands",
    "io.kestra.plugin.scripts.bash.Script": f"{SCRIPTS}.shell.Script",
}

#: task-runner plugins (not tasks): accepted inside `taskRunner:` blocks
TASK_RUNNERS = {
    f"{CORE}.runner.Process",
    f"{SCRIPTS}.runner.docker.Docker",
    "io.kestra.plugin.scripts.runner.docker.Docker",
}


class UnknownType(FlowrunError):
    """A `type` that no task class serves; `message` says what to do."""

    exit_code = ExitCode.INVALID

    def __init__(self, type_name: str, message: str) -> None:
        super().__init__(message)
        self.type_name = type_name


def canonical(type_name: str) -> str:
    return ALIASES.get(type_name, type_name)


def _module_exists(target: str) -> bool:
    module = target.split(":")[0]
    return importlib.util.find_spec(module) is not None


def available_types() -> list[str]:
    """Every type name flowrun runs (canonical names and aliases) whose module is present."""
    names = [t for t, target in TASKS.items() if _module_exists(target)]
    names += [a for a, c in ALIASES.items() if c in names]
    return sorted(names)


def describe_unknown(type_name: str, task_id: str | None = None) -> str:
    import difflib

    subject = f"task `{task_id}`: " if task_id else ""
    if type_name.startswith("io.kestra."):
        close = difflib.get_close_matches(type_name, available_types(), n=1, cutoff=0.9)
        hint = f"; did you mean {close[0]}?" if close else " (see the Kestra compatibility table in the README)"
        return f"{subject}type {type_name} is not supported by flowrun{hint}"
    close = difflib.get_close_matches(type_name, available_types(), n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return f"{subject}unknown task type `{type_name}`{hint}"


@cache
def task_class(type_name: str) -> type[Task]:
    """The task class serving `type_name`; raises UnknownType."""
    name = canonical(type_name)
    target = TASKS.get(name)
    if target is None or not _module_exists(target):
        raise UnknownType(type_name, describe_unknown(type_name))
    module_name, class_name = target.split(":")
    cls = getattr(importlib.import_module(module_name), class_name, None)
    if cls is None:
        raise UnknownType(type_name, describe_unknown(type_name))
    return cls
