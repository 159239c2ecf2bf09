"""Pydantic models of flow input declarations (Kestra's `inputs:` list), one per input type."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any, Literal, Union

from flowrun.durations import DurationError, parse_duration
from flowrun.model.base import Strict
from flowrun.model.lite import field_validator, model_validator

INPUT_ID = re.compile(r"[a-zA-Z0-9][.a-zA-Z0-9_-]*")

#: Every `type:` Kestra 1.x accepts for an input (BOOL is the 1.x alias of BOOLEAN).
INPUT_TYPES = (
    "STRING", "INT", "FLOAT", "BOOLEAN", "BOOL", "DATE", "DATETIME", "TIME", "DURATION", "SELECT",
    "MULTISELECT", "ENUM", "ARRAY", "JSON", "YAML", "FILE", "URI", "SECRET", "EMAIL",
)
#: Types an ARRAY or MULTISELECT element may have.
ITEM_TYPES = tuple(t for t in INPUT_TYPES if t not in ("ARRAY", "MULTISELECT"))

ItemType = Literal[
    "STRING", "INT", "FLOAT", "BOOLEAN", "BOOL", "DATE", "DATETIME", "TIME", "DURATION", "SELECT",
    "ENUM", "JSON", "YAML", "FILE", "URI", "SECRET", "EMAIL",
]


def java_text(value: Any) -> str:
    """A scalar as Java's `toString()` would print it (what Kestra compares and stores)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


# Kestra's java.time text formats, shared by the declared bounds (`after`, `min`...) and the values.
DATE_RE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
TIME_RE = re.compile(r"([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{1,9}))?)?")
INSTANT_RE = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?"
    r"(Z|[+-][0-9]{2}:[0-9]{2}(?::[0-9]{2})?)"
)


def _nanos(fraction: str | None) -> int:
    return int((fraction or "").ljust(9, "0"))


def parse_date(raw: Any) -> date:
    """`LocalDate.parse`: `2024-01-31` (a YAML date object is accepted too)."""
    if isinstance(raw, date) and not isinstance(raw, datetime):
        return raw
    if not isinstance(raw, str) or not DATE_RE.fullmatch(raw):
        raise ValueError("")
    return date.fromisoformat(raw)


def parse_time(raw: Any) -> tuple[time, int]:
    """`LocalTime.parse`: `13:45`, `13:45:00`, `13:45:00.5`; returns (time without fraction, nanoseconds)."""
    if isinstance(raw, time):
        return raw.replace(microsecond=0, tzinfo=None), raw.microsecond * 1000
    match = TIME_RE.fullmatch(raw) if isinstance(raw, str) else None
    if not match:
        raise ValueError("")
    hour, minute, second, fraction = match.groups()
    return time(int(hour), int(minute), int(second or 0)), _nanos(fraction)


def parse_instant(raw: Any) -> tuple[datetime, int]:
    """`Instant.parse`: `2024-01-31T10:00:00Z` or with an offset; returns (UTC datetime, nanoseconds)."""
    if isinstance(raw, datetime):
        if raw.tzinfo is None:
            raise ValueError("a time zone is required")
        return raw.astimezone(UTC).replace(microsecond=0), raw.microsecond * 1000
    match = INSTANT_RE.fullmatch(raw) if isinstance(raw, str) else None
    if not match:
        raise ValueError("")
    day, hour, minute, second, fraction, zone = match.groups()
    offset = UTC
    if zone != "Z":
        hours, minutes, *seconds = (int(p) for p in zone[1:].split(":"))
        delta = timedelta(hours=hours, minutes=minutes, seconds=seconds[0] if seconds else 0)
        offset = timezone(-delta if zone[0] == "-" else delta)
    base = datetime.combine(date.fromisoformat(day), time(int(hour), int(minute), int(second)), offset)
    return base.astimezone(UTC), _nanos(fraction)


def duration_value(raw: Any) -> timedelta:
    """`Duration.parse` (days at most, e.g. `P1DT2H30M`, `PT0.5S`), read by flowrun's one duration parser."""
    if not isinstance(raw, str):
        raise ValueError("")
    try:
        return parse_duration(raw, java=True)
    except DurationError:
        raise ValueError("") from None


def _check_bound(value: Any, parse: Any, kind: str) -> Any:
    if value is None:
        return None
    text = value if isinstance(value, str) else java_text(value)
    try:
        parse(text)
    except ValueError as exc:
        raise ValueError(f"`{text}` is not a valid {kind}") from exc
    return text


class DependsOn(Strict):
    inputs: list[str] | None = None
    condition: str | None = None


class BaseInput(Strict):
    """Properties shared by every input type."""

    id: str
    name: str | None = None  # deprecated alias of `id`
    type: str
    description: str | None = None
    display_name: str | None = None
    required: bool = True
    defaults: Any = None
    prefill: Any = None  # UI-only pre-filled value (1.1); never used as a value
    depends_on: DependsOn | None = None

    @model_validator(mode="before")
    @classmethod
    def _name_to_id(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("id") is None and data.get("name") is not None:
            data = {**data, "id": data["name"]}
        return data

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        if not INPUT_ID.fullmatch(value):
            raise ValueError(f"input id `{value}` must match ^{INPUT_ID.pattern}$")
        return value

    @field_validator("validator", check_fields=False)
    @classmethod
    def _check_regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"invalid regular expression `{value}`: {exc}") from exc
        return value

    @field_validator("values", "options", mode="before", check_fields=False)
    @classmethod
    def _option_texts(cls, value: Any) -> Any:
        """Items are plain scalars or `{label, value}` maps; kept as their value's text."""
        if not isinstance(value, list):
            return value
        out = []
        for item in value:
            if isinstance(item, dict) and "value" in item:
                item = item["value"]
            if isinstance(item, dict | list) or item is None:
                raise ValueError(f"each value must be a string or a {{label, value}} map, got `{item}`")
            out.append(java_text(item))
        return out


class StringInput(BaseInput):
    type: Literal["STRING"]
    validator: str | None = None



class SecretInput(BaseInput):
    type: Literal["SECRET"]
    validator: str | None = None



class IntInput(BaseInput):
    type: Literal["INT"]
    min: int | None = None
    max: int | None = None


class FloatInput(BaseInput):
    type: Literal["FLOAT"]
    min: float | None = None
    max: float | None = None


class BooleanInput(BaseInput):
    type: Literal["BOOLEAN", "BOOL"]


class DateInput(BaseInput):
    type: Literal["DATE"]
    after: str | None = None
    before: str | None = None

    @field_validator("after", "before", mode="before")
    @classmethod
    def _check_bounds(cls, value: Any) -> Any:
        return _check_bound(value, parse_date, "DATE")



class DateTimeInput(BaseInput):
    type: Literal["DATETIME"]
    after: str | None = None
    before: str | None = None

    @field_validator("after", "before", mode="before")
    @classmethod
    def _check_bounds(cls, value: Any) -> Any:
        return _check_bound(value, parse_instant, "DATETIME")



class TimeInput(BaseInput):
    type: Literal["TIME"]
    after: str | None = None
    before: str | None = None

    @field_validator("after", "before", mode="before")
    @classmethod
    def _check_bounds(cls, value: Any) -> Any:
        return _check_bound(value, parse_time, "TIME")



class DurationInput(BaseInput):
    type: Literal["DURATION"]
    min: str | None = None
    max: str | None = None

    @field_validator("min", "max", mode="before")
    @classmethod
    def _check_bounds(cls, value: Any) -> Any:
        return _check_bound(value, duration_value, "DURATION")


class SelectInput(BaseInput):
    type: Literal["SELECT"]
    values: list[str] | None = None
    expression: str | None = None
    allow_custom_value: bool = False
    is_radio: bool = False
    auto_select_first: bool = False


    @model_validator(mode="after")
    def _needs_values(self) -> SelectInput:
        if self.values is None and self.expression is None:
            raise ValueError("a SELECT input needs `values` or `expression`")
        return self


class MultiselectInput(BaseInput):
    type: Literal["MULTISELECT"]
    values: list[str] | None = None
    options: list[str] | None = None  # deprecated name of `values`
    expression: str | None = None
    item_type: ItemType = "STRING"
    allow_custom_value: bool = False
    auto_select_first: bool = False


    @model_validator(mode="after")
    def _needs_values(self) -> MultiselectInput:
        if self.values is not None and self.options is not None:
            raise ValueError("you can't define both `values` and `options`")
        if self.values is None and self.options is None and self.expression is None:
            raise ValueError("a MULTISELECT input needs `values` or `expression`")
        return self


class EnumInput(BaseInput):
    """Deprecated: use SELECT."""

    type: Literal["ENUM"]
    values: list[str]



class ArrayInput(BaseInput):
    type: Literal["ARRAY"]
    item_type: ItemType


class JsonInput(BaseInput):
    type: Literal["JSON"]


class YamlInput(BaseInput):
    type: Literal["YAML"]


class FileInput(BaseInput):
    type: Literal["FILE"]
    extension: str | None = None  # deprecated (0.24): suffix of the uploaded file
    allowed_file_extensions: list[str] | None = None


class UriInput(BaseInput):
    type: Literal["URI"]


class EmailInput(BaseInput):
    type: Literal["EMAIL"]


#: an input, chosen by its `type` (the JSON schema makes it a discriminated union: flowrun/schema.py)
InputSpec = Union[
    StringInput, IntInput, FloatInput, BooleanInput, DateInput, DateTimeInput, TimeInput, DurationInput,
    SelectInput, MultiselectInput, EnumInput, ArrayInput, JsonInput, YamlInput, FileInput, UriInput,
    SecretInput, EmailInput,
]

_MODELS: dict[str, type[BaseInput]] = {
    name: model
    for model in (StringInput, IntInput, FloatInput, BooleanInput, DateInput, DateTimeInput, TimeInput,
                  DurationInput, SelectInput, MultiselectInput, EnumInput, ArrayInput, JsonInput, YamlInput,
                  FileInput, UriInput, SecretInput, EmailInput)
    for name in re.findall(r"[\"'](\w+)[\"']", model.__annotations__["type"])  # `Literal['BOOLEAN', 'BOOL']`
}


def parse_input_spec(raw: dict[str, Any]) -> InputSpec:
    """Build the model of one `inputs:` item.

    Raises ValueError; a pydantic ValidationError (a ValueError) has locations relative to the item.
    """
    if not isinstance(raw, dict):
        raise ValueError(f"an input must be a mapping, got `{raw}`")
    kind = raw.get("type")
    if kind not in INPUT_TYPES:
        shown = "missing" if kind is None else f"`{kind}` is not valid"
        raise ValueError(f"input type {shown}; valid types: {', '.join(INPUT_TYPES)}")
    return _MODELS[kind].model_validate(raw)  # type: ignore[return-value]
