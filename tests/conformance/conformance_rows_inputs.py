"""Conformance rows: inputs that Kestra refuses when the execution is created (InputsTest), each an INVALID row
(flowrun exits 3 before anything runs), and the typed values of valid ones."""

from __future__ import annotations

from conformance_table import INVALID, KT, Row

IT = KT + "core/runners/InputsTest#"
V = "inputs/validated.yaml"
BAD = [
    # (method, input, value, fragment of flowrun's message)
    ("inputValidatedStringBadValue", "validatedString", "foo", "validatedString"),
    ("inputValidatedIntegerBadValue (min)", "validatedInt", "9", "validatedInt"),
    ("inputValidatedIntegerBadValue (max)", "validatedInt", "21", "validatedInt"),
    ("inputValidatedDateBadValue (after)", "validatedDate", "2022-01-01", "validatedDate"),
    ("inputValidatedDateBadValue (before)", "validatedDate", "2024-01-01", "validatedDate"),
    ("inputValidatedDateTimeBadValue (after)", "validatedDateTime", "2022-01-01T00:00:00Z", "validatedDateTime"),
    ("inputValidatedDateTimeBadValue (before)", "validatedDateTime", "2024-01-01T00:00:00Z", "validatedDateTime"),
    ("inputValidatedDurationBadValue (min)", "validatedDuration", "PT1S", "validatedDuration"),
    ("inputValidatedDurationBadValue (max)", "validatedDuration", "PT30S", "validatedDuration"),
    ("inputValidatedFloatBadValue (min)", "validatedFloat", "0.01", "validatedFloat"),
    ("inputValidatedFloatBadValue (max)", "validatedFloat", "1.01", "validatedFloat"),
    ("inputValidatedTimeBadValue (after)", "validatedTime", "00:00:01", "validatedTime"),
    ("inputValidatedTimeBadValue (before)", "validatedTime", "14:00:00", "validatedTime"),
    ("inputFailed (a bad URI)", "uri", "http:/bla", "uri"),
    ("inputEnumFailed", "enum", "INVALID", "enum"),
    ("inputArrayFailed", "array", '["s1", "s2"]', "array"),
    ("multipleConstraintViolations (a value not in values)", "multi", ["F", "H"], "multi"),
]

ROWS: list[Row] = [
    *[Row(V, IT + method, INVALID, inputs={name: value}, error=fragment) for method, name, value, fragment in BAD],
    Row(V, IT + "allValidTypedInputs", "SUCCESS", 2, {"show.value": '15 ENUM_VALUE [1,2,3] {"a":"b"}'}),
    Row(V, IT + "inputFlow (null inputs are serialized)", "SUCCESS", 2, {"optional.value": ""}),
    Row(V, IT + "inputEmptyJsonFlow", "SUCCESS", 2, {"show.value": "15 ENUM_VALUE [1,2,3] {}"},
        inputs={"json1": "{}"}),
    Row("inputs/required.yaml", IT + "missingRequired", INVALID, error="needed"),
]
