"""Input declarations, CLI input values and their resolution into typed `inputs` (Kestra 1.x rules)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import SHARED

from flowrun.errors import ExitCode, InputError, UsageError
from flowrun.inputs import ResolvedInputs, parse_cli_inputs, resolve_inputs
from flowrun.model.inputs import INPUT_TYPES, BooleanInput, SelectInput, parse_input_spec

ZOOMCAMP = SHARED / "compat" / "zoomcamp" / "current"


def same(value: Any, _inputs: Mapping[str, Any]) -> Any:
    """A render that leaves every value unchanged."""
    return value


def fake_render(value: Any, inputs: Mapping[str, Any]) -> Any:
    """A tiny stand-in for Pebble: `{{ inputs.x }}` in a string becomes the value of input x."""
    if isinstance(value, list):
        return [fake_render(v, inputs) for v in value]
    if not isinstance(value, str):
        return value
    for key, val in inputs.items():
        value = value.replace("{{ inputs." + key + " }}", str(val))
    return value


Decls = list[dict[str, Any]]


def resolve(decls: Decls, supplied: Mapping[str, Any] | None = None,
            render: Any = same, **kwargs: Any) -> ResolvedInputs:
    return resolve_inputs([parse_input_spec(d) for d in decls], supplied or {}, render, **kwargs)


def one(decl: dict[str, Any], value: Any) -> Any:
    """The resolved value of a single input `x` given `value`."""
    return resolve([{"id": "x", **decl}], {"x": value}).flat["x"]


def problems(decls: Decls, supplied: Mapping[str, Any] | None = None, **kwargs: Any) -> list[str]:
    with pytest.raises(InputError) as info:
        resolve(decls, supplied, **kwargs)
    assert info.value.exit_code == ExitCode.INVALID
    return [str(p) for p in info.value.problems]


def bad(decl: dict[str, Any], value: Any) -> str:
    found = problems([{"id": "x", **decl}], {"x": value})
    assert len(found) == 1, found
    assert found[0].startswith("input `x`: ")
    return found[0]


# ------------------------------------------------------------------ declarations


def test_every_type_has_a_model() -> None:
    extras: dict[str, dict[str, Any]] = {"SELECT": {"values": ["a"]}, "MULTISELECT": {"values": ["a"]}, "ENUM": {"values": ["a"]},
              "ARRAY": {"itemType": "STRING"}}
    for kind in INPUT_TYPES:
        spec = parse_input_spec({"id": "x", "type": kind, **extras.get(kind, {})})
        assert spec.type == kind and spec.required is True


def test_declaration_fields_use_camel_case() -> None:
    spec = parse_input_spec({"id": "year", "type": "SELECT", "displayName": "Year", "values": [2019, "2020"],
                             "allowCustomValue": True, "isRadio": True, "defaults": "2019",
                             "dependsOn": {"inputs": ["taxi"], "condition": "{{ true }}"}})
    assert isinstance(spec, SelectInput)
    assert spec.values == ["2019", "2020"] and spec.allow_custom_value and spec.is_radio
    assert spec.depends_on is not None and spec.depends_on.inputs == ["taxi"]


def test_deprecated_name_and_bool_alias() -> None:
    spec = parse_input_spec({"name": "flag", "type": "BOOL"})
    assert isinstance(spec, BooleanInput) and spec.id == "flag"


@pytest.mark.parametrize("raw, fragment", [
    ({"id": "x", "type": "COLOR"}, "valid types: STRING, INT"),
    ({"id": "x"}, "input type missing"),
    ({"id": "-x", "type": "STRING"}, "must match"),
    ({"id": "x y", "type": "STRING"}, "must match"),
    ({"id": "x", "type": "STRING", "colour": 1}, "Extra inputs are not permitted"),
    ({"id": "x", "type": "ARRAY"}, "itemType"),
    ({"id": "x", "type": "ARRAY", "itemType": "ARRAY"}, "itemType"),
    ({"id": "x", "type": "SELECT"}, "needs `values` or `expression`"),
    ({"id": "x", "type": "ENUM"}, "values"),
    ({"id": "x", "type": "MULTISELECT", "values": ["a"], "options": ["a"]}, "both `values` and `options`"),
    ({"id": "x", "type": "STRING", "validator": "(unclosed"}, "invalid regular expression"),
    ({"id": "x", "type": "DATE", "after": "31/01/2024"}, "not a valid DATE"),
    ({"id": "x", "type": "DURATION", "min": "5 minutes"}, "not a valid DURATION"),
])
def test_bad_declarations(raw: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_input_spec(raw)
    assert fragment in str(info.value)


def test_declaration_errors_are_located_relative_to_the_item() -> None:
    with pytest.raises(ValueError) as info:
        parse_input_spec({"id": "x", "type": "STRING", "colour": 1})
    assert info.value.errors()[0]["loc"] == ("colour",)  # type: ignore[attr-defined]


# ------------------------------------------------------------------ per-type parsing


@pytest.mark.parametrize("decl, value, expected", [
    ({"type": "STRING"}, "hello", "hello"),
    ({"type": "STRING"}, 42, "42"),
    ({"type": "STRING", "validator": "[a-z]+"}, "abc", "abc"),
    ({"type": "INT"}, "42", 42),
    ({"type": "INT"}, "-7", -7),
    ({"type": "INT"}, 5, 5),
    ({"type": "INT", "min": 1, "max": 10}, "10", 10),
    ({"type": "FLOAT"}, "1.5", 1.5),
    ({"type": "FLOAT"}, 2, 2.0),
    ({"type": "FLOAT"}, "1e3", 1000.0),
    ({"type": "FLOAT", "min": 0.5}, "0.5", 0.5),
    ({"type": "BOOLEAN"}, "true", True),
    ({"type": "BOOLEAN"}, "TRUE", True),
    ({"type": "BOOLEAN"}, "false", False),
    ({"type": "BOOLEAN"}, "yes", False),  # Boolean.valueOf: anything but "true" is false
    ({"type": "BOOL"}, True, True),
    ({"type": "DATE"}, "2024-01-31", "2024-01-31"),
    ({"type": "DATE"}, date(2024, 1, 31), "2024-01-31"),
    ({"type": "DATE", "after": "2024-01-01", "before": "2024-12-31"}, "2024-01-01", "2024-01-01"),
    ({"type": "DATETIME"}, "2024-01-01T10:00:00Z", "2024-01-01T10:00:00Z"),
    ({"type": "DATETIME"}, "2024-01-01T12:00:00+02:00", "2024-01-01T10:00:00Z"),
    ({"type": "DATETIME"}, "2024-01-01T10:00:00.5Z", "2024-01-01T10:00:00.500Z"),
    ({"type": "DATETIME"}, "2024-01-01T10:00:00.123456789Z", "2024-01-01T10:00:00.123456789Z"),
    ({"type": "DATETIME"}, datetime(2024, 1, 1, 10, tzinfo=UTC), "2024-01-01T10:00:00Z"),
    ({"type": "TIME"}, "13:45", "13:45:00"),
    ({"type": "TIME"}, "13:45:30.250", "13:45:30.25"),
    ({"type": "TIME", "after": "08:00", "before": "18:00:00"}, "08:00:00", "08:00:00"),
    ({"type": "DURATION"}, "PT5M", "PT5M"),
    ({"type": "DURATION"}, "P1DT2H", "P1DT2H"),
    ({"type": "DURATION", "min": "PT1M", "max": "PT1H"}, "PT60M", "PT60M"),
    ({"type": "SELECT", "values": ["yellow", "green"]}, "green", "green"),
    ({"type": "SELECT", "values": ["a"], "allowCustomValue": True}, "zzz", "zzz"),
    ({"type": "SELECT", "values": [{"label": "Two thousand", "value": "2000"}]}, 2000, "2000"),
    ({"type": "ENUM", "values": ["a", "b"]}, "b", "b"),
    ({"type": "MULTISELECT", "values": ["a", "b", "c"]}, '["a", "c"]', ["a", "c"]),
    ({"type": "MULTISELECT", "options": ["a", "b"]}, ["b"], ["b"]),
    ({"type": "MULTISELECT", "values": ["a"], "allowCustomValue": True}, ["a", "new"], ["a", "new"]),
    ({"type": "ARRAY", "itemType": "INT"}, "[1, 2, 3]", [1, 2, 3]),
    ({"type": "ARRAY", "itemType": "INT"}, ["1", 2], [1, 2]),
    ({"type": "ARRAY", "itemType": "STRING"}, ["brand", "price"], ["brand", "price"]),
    ({"type": "ARRAY", "itemType": "DATE"}, '["2024-01-01"]', ["2024-01-01"]),
    ({"type": "JSON"}, '{"a": [1, 2]}', {"a": [1, 2]}),
    ({"type": "JSON"}, {"a": 1}, {"a": 1}),
    ({"type": "JSON"}, "[1]", [1]),
    ({"type": "YAML"}, "a: 1\nb: [x, y]\n", {"a": 1, "b": ["x", "y"]}),
    ({"type": "URI"}, "https://example.com/path?q=1", "https://example.com/path?q=1"),
    ({"type": "EMAIL"}, "anna@example.com", "anna@example.com"),
    ({"type": "FILE"}, "kestra:///ns/flow/file.csv", "kestra:///ns/flow/file.csv"),
    ({"type": "SECRET"}, "s3cr3t", "s3cr3t"),
])
def test_good_values(decl: dict[str, Any], value: Any, expected: Any) -> None:
    assert one(decl, value) == expected


@pytest.mark.parametrize("decl, value, fragment", [
    ({"type": "STRING", "validator": "[a-z]+"}, "abc1", "must match the pattern `[a-z]+`"),
    ({"type": "INT"}, "abc", "expected INT (a whole number from -2147483648 to 2147483647) but received `abc`"),
    ({"type": "INT"}, "1.5", "expected INT"),
    ({"type": "INT"}, "2147483648", "expected INT"),
    ({"type": "INT"}, True, "expected INT"),
    ({"type": "INT", "min": 1}, "0", "must be >= 1"),
    ({"type": "INT", "max": 10}, 11, "must be <= 10"),
    ({"type": "FLOAT"}, "one", "expected FLOAT"),
    ({"type": "FLOAT", "max": 1.5}, "2", "must be <= 1.5"),
    ({"type": "DATE"}, "31/01/2024", "expected DATE (an ISO date such as 2024-01-31) but received `31/01/2024`"),
    ({"type": "DATE"}, "2024-02-30", "expected DATE"),
    ({"type": "DATE", "after": "2024-01-01"}, "2023-12-31", "must be on or after 2024-01-01"),
    ({"type": "DATE", "before": "2024-01-01"}, "2024-01-02", "must be on or before 2024-01-01"),
    ({"type": "DATETIME"}, "2024-01-01T10:00:00", "expected DATETIME"),
    ({"type": "DATETIME"}, "2024-01-01", "expected DATETIME"),
    ({"type": "DATETIME"}, datetime(2024, 1, 1), "a time zone is required"),
    ({"type": "DATETIME", "after": "2024-01-01T00:00:00Z"}, "2023-12-31T23:00:00-02:00", ""),
    ({"type": "DATETIME", "before": "2024-01-01T00:00:00Z"}, "2024-01-01T00:00:00.001Z", "must be on or before"),
    ({"type": "TIME"}, "25:00", "expected TIME"),
    ({"type": "TIME", "before": "12:00"}, "12:00:01", "must be on or before 12:00"),
    ({"type": "DURATION"}, "5 minutes", "expected DURATION (an ISO-8601 duration such as PT5M or P1DT2H)"),
    ({"type": "DURATION"}, "PT", "expected DURATION"),
    ({"type": "DURATION"}, "P1M", "expected DURATION"),  # java.time.Duration has no months
    ({"type": "DURATION", "max": "PT1H"}, "PT61M", "must be <= PT1H"),
    ({"type": "SELECT", "values": ["yellow", "green"]}, "purple", "value `purple` is not one of [yellow, green]"),
    ({"type": "ENUM", "values": ["a", "b"]}, "c", "value `c` is not one of [a, b]"),
    ({"type": "MULTISELECT", "values": ["a", "b"]}, '["a", "z"]', "value `z` is not one of [a, b]"),
    ({"type": "MULTISELECT", "values": ["a"]}, "a", "expected MULTISELECT"),
    ({"type": "ARRAY", "itemType": "INT"}, "[1, \"x\"]", "element 1 of the list: expected INT"),
    ({"type": "ARRAY", "itemType": "STRING"}, "brand,price", "expected ARRAY"),
    ({"type": "JSON"}, "{not json", "expected JSON (valid JSON) but received `{not json`"),
    ({"type": "YAML"}, "a: [1", "expected YAML"),
    ({"type": "URI"}, "not a uri", "expected URI"),
    ({"type": "EMAIL"}, "anna.example.com", "expected EMAIL"),
    ({"type": "SECRET", "validator": "[0-9]+"}, "abc", "must match the pattern"),
])
def test_bad_values(decl: dict[str, Any], value: Any, fragment: str) -> None:
    if not fragment:  # a value exactly on the bound passes (after == the same instant in another zone)
        assert one(decl, value) == "2024-01-01T01:00:00Z"
        return
    assert fragment in bad(decl, value)


def test_secret_values_are_listed_and_never_shown() -> None:
    resolved = resolve([{"id": "token", "type": "SECRET"}, {"id": "name", "type": "STRING"}],
                       {"token": "hunter2", "name": "n"})
    assert resolved.secret_ids == {"token"} and resolved.flat["token"] == "hunter2"
    message = bad({"type": "SECRET", "validator": "[0-9]+"}, "hunter2")
    assert "hunter2" not in message


# ------------------------------------------------------------------ files


def test_file_local_path_is_uploaded(tmp_path: Path) -> None:
    local = tmp_path / "data.csv"
    local.write_text("a,b\n")
    calls: list[tuple[str, Path]] = []

    def upload(input_id: str, path: Path) -> str:
        calls.append((input_id, path))
        return f"kestra:///ns/flow/executions/e1/inputs/{input_id}/{path.name}"

    resolved = resolve([{"id": "data", "type": "FILE"}], {"data": str(local)}, upload_file=upload)
    assert resolved.flat["data"] == "kestra:///ns/flow/executions/e1/inputs/data/data.csv"
    assert calls == [("data", local)]


def test_file_missing_or_wrong_extension(tmp_path: Path) -> None:
    found = problems([{"id": "data", "type": "FILE"}], {"data": str(tmp_path / "nope.csv")},
                     upload_file=lambda i, p: "kestra:///x")
    assert "no such local file" in found[0]
    csv = {"id": "data", "type": "FILE", "allowedFileExtensions": [".csv"]}
    assert "file extension `.txt` is not one of [.csv]" in problems([csv], {"data": "kestra:///a/b.txt"})[0]


# ------------------------------------------------------------------ required, defaults, dependsOn


def test_required_and_optional() -> None:
    found = problems([{"id": "taxi", "type": "STRING"}])
    assert found == ["input `taxi`: missing required input (type STRING); pass --input taxi=..."]
    resolved = resolve([{"id": "note", "type": "STRING", "required": False}])
    assert resolved.flat == {"note": None} and resolved.values == {"note": None}


def test_defaults_are_parsed_like_values() -> None:
    resolved = resolve([{"id": "n", "type": "INT", "defaults": "5"}, {"id": "f", "type": "BOOLEAN", "defaults": True}])
    assert resolved.flat == {"n": 5, "f": True}
    assert "expected INT" in problems([{"id": "n", "type": "INT", "defaults": "five"}])[0]


def test_supplied_value_beats_default() -> None:
    assert resolve([{"id": "n", "type": "INT", "defaults": 5}], {"n": "6"}).flat["n"] == 6


def test_defaults_are_rendered_with_earlier_inputs() -> None:
    decls = [{"id": "name", "type": "STRING"},
             {"id": "greeting", "type": "STRING", "defaults": "hello {{ inputs.name }}"}]
    assert resolve(decls, {"name": "Anna"}, render=fake_render).flat["greeting"] == "hello Anna"


def test_render_failure_is_a_problem() -> None:
    def broken(value: Any, inputs: Mapping[str, Any]) -> Any:
        raise RuntimeError("unknown variable `nope`")

    found = problems([{"id": "x", "type": "STRING", "defaults": "{{ nope }}"}], render=broken)
    assert found == ["input `x`: cannot render `defaults`: unknown variable `nope`"]


def test_select_expression_renders_the_values() -> None:
    decl = {"id": "env", "type": "SELECT", "expression": "{{ envs }}"}
    render = lambda value, inputs: ["dev", "prod"] if value == "{{ envs }}" else value  # noqa: E731
    assert resolve([decl], {"env": "prod"}, render=render).flat["env"] == "prod"
    assert "not one of [dev, prod]" in problems([decl], {"env": "qa"}, render=render)[0]
    assert "must render to a list" in problems([decl], {"env": "qa"})[0]


def test_auto_select_first() -> None:
    decl = {"id": "env", "type": "SELECT", "values": ["dev", "prod"], "autoSelectFirst": True}
    assert resolve([decl]).flat["env"] == "dev"


def test_optional_select_skips_the_values_check() -> None:
    # Kestra 1.x SelectInput.validate only checks membership when the input is required.
    decl = {"id": "env", "type": "SELECT", "values": ["dev"], "required": False}
    assert resolve([decl], {"env": "other"}).flat["env"] == "other"
    assert resolve([decl]).flat["env"] is None


def test_depends_on_condition() -> None:
    decls: Decls = [{"id": "mode", "type": "SELECT", "values": ["simple", "advanced"]},
             {"id": "level", "type": "INT", "dependsOn": {"inputs": ["mode"],
                                                           "condition": "{{ inputs.mode == 'advanced' }}"}},
             {"id": "detail", "type": "STRING", "dependsOn": {"inputs": ["level"]}}]

    def render(value: Any, inputs: Mapping[str, Any]) -> Any:
        if value == "{{ inputs.mode == 'advanced' }}":
            return inputs["mode"] == "advanced"
        return value

    off = resolve(decls, {"mode": "simple"}, render=render)
    assert off.flat == {"mode": "simple"} and off.disabled == ["level", "detail"]
    found = problems(decls, {"mode": "advanced"}, render=render)
    assert [p.split(":")[0] for p in found] == ["input `level`", "input `detail`"]
    on = resolve(decls, {"mode": "advanced", "level": "3", "detail": "x"}, render=render)
    assert on.flat == {"mode": "advanced", "level": 3, "detail": "x"}


def test_depends_on_resolves_later_inputs_first() -> None:
    decls: Decls = [{"id": "b", "type": "STRING", "defaults": "[{{ inputs.a }}]", "dependsOn": {"inputs": ["a"]}},
             {"id": "a", "type": "STRING", "defaults": "A"}]
    assert resolve(decls, render=fake_render).flat == {"a": "A", "b": "[A]"}


def test_condition_accepts_the_string_true() -> None:
    decl = {"id": "x", "type": "STRING", "defaults": "v", "dependsOn": {"condition": "{{ true }}"}}
    assert resolve([decl], render=lambda v, i: "true" if v == "{{ true }}" else v).flat == {"x": "v"}


# ------------------------------------------------------------------ dotted ids, unknown keys, all problems at once


def test_dotted_ids_nest() -> None:
    decls = [{"id": "request.name", "type": "STRING"}, {"id": "request.count", "type": "INT"}]
    resolved = resolve(decls, {"request.name": "a", "request.count": "2"})
    assert resolved.values == {"request": {"name": "a", "count": 2}}
    assert resolved.flat == {"request.name": "a", "request.count": 2}
    nested = resolve(decls, {"request": {"name": "b", "count": 3}})
    assert nested.values == {"request": {"name": "b", "count": 3}} and nested.unknown == []


def test_undeclared_keys_are_dropped_and_reported() -> None:
    resolved = resolve([{"id": "a", "type": "STRING"}], {"a": "1", "b": "2"})
    assert resolved.values == {"a": "1"} and resolved.unknown == ["b"]


def test_all_problems_are_reported_together() -> None:
    decls: Decls = [{"id": "taxi", "type": "SELECT", "values": ["yellow", "green"]},
             {"id": "n", "type": "INT", "min": 1},
             {"id": "when", "type": "DATE"},
             {"id": "missing", "type": "STRING"},
             {"id": "fine", "type": "STRING", "defaults": "ok"}]
    found = problems(decls, {"taxi": "purple", "n": "0", "when": "tomorrow"})
    assert found == [
        "input `taxi`: value `purple` is not one of [yellow, green]",
        "input `n`: must be >= 1",
        "input `when`: expected DATE (an ISO date such as 2024-01-31) but received `tomorrow`",
        "input `missing`: missing required input (type STRING); pass --input missing=...",
    ]


# ------------------------------------------------------------------ zoomcamp flows


def zoomcamp_inputs(name: str) -> list[dict[str, Any]]:
    doc = yaml.safe_load((ZOOMCAMP / name).read_text())
    return list(doc["inputs"])


def test_zoomcamp_postgres_taxi_defaults_and_choices() -> None:
    decls = zoomcamp_inputs("04_postgres_taxi.yaml")
    assert resolve(decls).values == {"taxi": "yellow", "year": "2019", "month": "01"}
    chosen = resolve(decls, parse_cli_inputs(["taxi=green", "year=2020", "month=12"], []))
    assert chosen.values == {"taxi": "green", "year": "2020", "month": "12"}
    found = problems(decls, {"year": "2021", "month": "1"})
    assert found == ['input `year`: value `2021` is not one of [2019, 2020]',
                     "input `month`: value `1` is not one of [01, 02, 03, 04, 05, 06, 07, 08, 09, 10, 11, 12]"]


def test_zoomcamp_array_input_with_list_defaults() -> None:
    decls = zoomcamp_inputs("03_getting_started_data_pipeline.yaml")
    assert resolve(decls).values == {"columns_to_keep": ["brand", "price"]}
    given = resolve(decls, parse_cli_inputs(['columns_to_keep=["title", "price"]'], []))
    assert given.values == {"columns_to_keep": ["title", "price"]}


# ------------------------------------------------------------------ CLI values


def test_cli_pairs_are_strings_and_split_on_the_first_equals() -> None:
    assert parse_cli_inputs(["a=1", "expr=x=y", "empty="], []) == {"a": "1", "expr": "x=y", "empty": ""}


def test_cli_bad_pair() -> None:
    with pytest.raises(UsageError, match="`taxi` must look like key=value") as info:
        parse_cli_inputs(["taxi"], [])
    assert info.value.exit_code == ExitCode.USAGE


def test_cli_files_then_pairs(tmp_path: Path) -> None:
    first = tmp_path / "a.json"
    first.write_text(json.dumps({"taxi": "green", "year": 2020, "cols": ["a"]}))
    second = tmp_path / "b.yaml"
    second.write_text("year: 2019\nmonth: '02'\n")
    merged = parse_cli_inputs(["taxi=yellow"], [first, second])
    assert merged == {"taxi": "yellow", "year": 2019, "cols": ["a"], "month": "02"}


@pytest.mark.parametrize("name, text, fragment", [
    ("list.yaml", "- a\n- b\n", "must hold a mapping"),
    ("bad.json", "{nope", "not valid JSON"),
    ("bad.yaml", "a: [1", "not valid YAML"),
])
def test_cli_bad_files(tmp_path: Path, name: str, text: str, fragment: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(UsageError, match=fragment) as info:
        parse_cli_inputs([], [path])
    assert str(path) in str(info.value)


def test_cli_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read") as info:
        parse_cli_inputs([], [tmp_path / "absent.json"])
    assert "absent.json" in str(info.value)
