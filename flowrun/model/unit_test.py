"""The document of a flow unit test (Kestra's Unit Tests): test cases with their fixtures and assertions."""

from __future__ import annotations

from typing import Any

from flowrun.model.base import Strict
from flowrun.model.lite import Field, model_validator

UNIT_TEST_TYPE = "io.kestra.core.tests.flow.UnitTest"
#: the assertion operators, by their YAML name (Kestra's older `equalsTo`/`notEqualsTo` spellings included)
OPERATORS = ("equalTo", "notEqualTo", "contains", "startsWith", "endsWith", "greaterThan", "greaterThanOrEqualTo",
             "lessThan", "lessThanOrEqualTo", "in", "notIn", "isNull", "isNotNull")
ALIASES = {"equalsTo": "equalTo", "notEqualsTo": "notEqualTo"}


class TaskFixture(Strict):
    """A task that does not run: it ends in `state` (default SUCCESS) with `outputs` (rendered, so they may
    name `files['x']`); with `value`, only its task run of that loop value is mocked."""

    id: str
    value: str | None = None
    description: str | None = None
    state: str = "SUCCESS"
    outputs: dict[str, Any] = Field(default_factory=dict)


class TriggerFixture(Strict):
    """The trigger the execution seems started by: its `variables` are the `trigger` variables."""

    id: str
    type: str | None = None
    variables: dict[str, Any] = Field(default_factory=dict)


class Fixtures(Strict):
    """What a test case sets up: flow inputs, inline files (`files['name']` is the stored file's URI), mocked
    tasks and a trigger."""

    inputs: dict[str, Any] = Field(default_factory=dict)
    files: dict[str, str] = Field(default_factory=dict)
    tasks: list[TaskFixture] = Field(default_factory=list)
    trigger: TriggerFixture | None = None


class AssertionSpec(Strict):
    """`value` (a template, rendered against the ended execution) checked by one or more operators."""

    value: Any
    task_id: str | None = Field(default=None, alias="taskId")
    description: str | None = None
    error_message: str | None = Field(default=None, alias="errorMessage")
    equal_to: Any = Field(default=None, alias="equalTo")
    equals_to: Any = Field(default=None, alias="equalsTo")
    not_equal_to: Any = Field(default=None, alias="notEqualTo")
    not_equals_to: Any = Field(default=None, alias="notEqualsTo")
    contains: Any = None
    starts_with: Any = Field(default=None, alias="startsWith")
    ends_with: Any = Field(default=None, alias="endsWith")
    greater_than: float | None = Field(default=None, alias="greaterThan")
    greater_than_or_equal_to: float | None = Field(default=None, alias="greaterThanOrEqualTo")
    less_than: float | None = Field(default=None, alias="lessThan")
    less_than_or_equal_to: float | None = Field(default=None, alias="lessThanOrEqualTo")
    in_: list[Any] | None = Field(default=None, alias="in")
    not_in: list[Any] | None = Field(default=None, alias="notIn")
    is_null: bool | None = Field(default=None, alias="isNull")
    is_not_null: bool | None = Field(default=None, alias="isNotNull")

    @model_validator(mode="after")
    def _one_operator_at_least(self) -> AssertionSpec:
        if not self.operators():
            raise ValueError(f"an assertion needs an operator: one of {', '.join(OPERATORS)}")
        return self

    def operators(self) -> list[tuple[str, Any]]:
        """(operator, expected) for every operator set, by its YAML name."""
        found = []
        for name, info in type(self).model_fields.items():
            alias = info.alias or name
            if alias in OPERATORS or alias in ALIASES:
                expected = getattr(self, name)
                if expected is not None:
                    found.append((ALIASES.get(alias, alias), expected))
        return found


class TestCase(Strict):
    """One transient execution of the flow with its fixtures, then its assertions."""

    __test__ = False  # not a pytest class

    id: str
    type: str = UNIT_TEST_TYPE
    description: str | None = None
    disabled: bool = False
    fixtures: Fixtures = Field(default_factory=Fixtures)
    assertions: list[AssertionSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _known_type(self) -> TestCase:
        if self.type != UNIT_TEST_TYPE:
            raise ValueError(f"test case type `{self.type}` is not supported; use {UNIT_TEST_TYPE}")
        return self


class UnitTestDoc(Strict):
    """A test file: the flow it tests (`namespace`, `flowId`) and its test cases."""

    id: str
    namespace: str
    flow_id: str = Field(alias="flowId")
    description: str | None = None
    test_cases: list[TestCase] = Field(alias="testCases", min_length=1)
