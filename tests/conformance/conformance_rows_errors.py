"""Conformance rows: `errors` and `finally` branches, of the flow and of each flowable container: the task-run
count with and without a failure (FinallyTest), the final state (errors never rescue a failure)."""

from __future__ import annotations

from conformance_table import KT, Row

F = KT + "plugin/core/flow/FinallyTest#"
OK = {"#ok": "SUCCESS", "#a1": "SUCCESS", "#a2": "SUCCESS"}
KO = {"#ko": "FAILED", "#a1": "SUCCESS", "#a2": "SUCCESS"}
KO_E = {**KO, "#e1": "SUCCESS", "#e2": "SUCCESS", "e1.value": "e1"}
FAILED = {"failed": True}
NOT_FAILED = {"failed": False}

ROWS: list[Row] = [
    Row("errors/finally-sequential.yaml", F + "sequentialWithoutErrors", "SUCCESS", 5, OK, NOT_FAILED),
    Row("errors/finally-sequential.yaml", F + "sequentialWithErrors", "FAILED", 5, KO, FAILED),
    Row("errors/finally-sequential-errors.yaml", F + "sequentialErrorBlockWithoutErrors", "SUCCESS", 5, OK,
        NOT_FAILED),
    Row("errors/finally-sequential-errors.yaml", F + "sequentialErrorBlockWithErrors", "FAILED", 7, KO_E, FAILED),
    Row("errors/finally-sequential-error-first.yaml", F + "sequentialErrorFirst", "FAILED", 3,
        {"#ko": "FAILED", "#a1": "SUCCESS"}),
    Row("errors/finally-allowfailure.yaml", F + "allowFailureWithoutErrors", "SUCCESS", 5, OK, NOT_FAILED),
    Row("errors/finally-allowfailure.yaml", F + "allowFailureWithErrors", "WARNING", 7, KO_E, FAILED),
    Row("errors/finally-parallel.yaml", F + "parallelWithoutErrors", "SUCCESS", 8, OK, NOT_FAILED),
    Row("errors/finally-parallel.yaml", F + "parallelWithErrors", "FAILED", 10, KO_E, FAILED),
    Row("errors/finally-foreach.yaml", F + "forEachWithoutErrors", "SUCCESS", 9, OK, NOT_FAILED),
    Row("errors/finally-foreach.yaml", F + "forEachWithErrors", "FAILED", 11, KO_E, FAILED),
    Row("errors/finally-dag.yaml", F + "dagWithoutErrors", "SUCCESS", 7, OK, NOT_FAILED),
    Row("errors/finally-dag.yaml", F + "dagWithErrors", "FAILED", 9, KO_E, FAILED),
    Row("errors/finally-flow.yaml", F + "flowWithoutErrors", "SUCCESS", 4, OK, NOT_FAILED),
    Row("errors/finally-flow.yaml", F + "flowWithErrors", "FAILED", 4, KO, FAILED),
    Row("errors/finally-flow-errors.yaml", F + "flowErrorBlockWithoutErrors", "SUCCESS", 4, OK, NOT_FAILED),
    Row("errors/finally-flow-errors.yaml", F + "flowErrorBlockWithErrors", "FAILED", 6, KO_E, FAILED),
    Row("errors/finally-flow-error-first.yaml", F + "flowErrorFirst", "FAILED", 2,
        {"#ko": "FAILED", "#a1": "SUCCESS"}),
]
