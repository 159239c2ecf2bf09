"""Turn supplied values and declared defaults into an execution's typed `inputs`, the way Kestra 1.x does."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import datetime, time
from pathlib import Path
from typing import Any

from flowrun.errors import ExitCode, FlowrunError, InputError, Problem, UsageError
from flowrun.model import inputs as m
from flowrun.model.inputs import BaseInput, InputSpec, java_text
from flowrun.plain import Plain

Render = Callable[[Any, Mapping[str, Any]], Any]
Upload = Callable[[str, Path], str]

INT_MIN, INT_MAX = -(2**31), 2**31 - 1
# Kestra's URI and EMAIL checks (FlowInputOutput.URI_PATTERN, EmailInput), restated.
URI_RE = re.compile(
    r"[a-z]+://(?:www\.)?[-a-zA-Z0-9@:%._+~#=]{1,256}\.[a-zA-Z0-9()]{1,6}\b[-a-zA-Z0-9()@:%_+.~#?&/=]*"
)
EMAIL_RE = re.compile(r"|[a-zA-Z0-9_!#$%&'’*+/=?`{|}~^.-]+@[a-zA-Z0-9.-]+")
INTEGER_RE = re.compile(r"[+-]?[0-9]+")
FLOAT_RE = re.compile(r"[+-]?(?:NaN|Infinity|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[fFdD]?)")
REFERENCE_SCHEMES = ("kestra", "nsfile")
TEMPORAL: dict[str, Callable[[Any], Any]] = {
    "DATE": m.parse_date, "TIME": m.parse_time, "DATETIME": m.parse_instant, "DURATION": m.duration_value,
}

ACCEPTED = {
    "INT": f"a whole number from {INT_MIN} to {INT_MAX}",
    "FLOAT": "a number such as 1.5",
    "DATE": "an ISO date such as 2024-01-31",
    "DATETIME": "an ISO instant with a zone such as 2024-01-31T10:00:00Z",
    "TIME": "an ISO time such as 13:45:00",
    "DURATION": "an ISO-8601 duration such as PT5M or P1DT2H",
    "JSON": "valid JSON",
    "YAML": "valid YAML",
    "ARRAY": 'a list or a JSON array such as ["a", "b"]',
    "MULTISELECT": 'a list or a JSON array such as ["a", "b"]',
    "URI": "a URI such as https://example.com/path",
    "FILE": "a kestra:// URI or the path of an existing local file",
}


class BadValue(FlowrunError):
    """A supplied or default value that cannot be read as the input's type."""

    exit_code = ExitCode.INVALID


# ---------------------------------------------------------------- CLI values


def parse_cli_inputs(pairs: list[str], files: list[Path]) -> dict[str, Any]:
    """Merge `--inputs FILE` mappings (in order) and `--input key=value` pairs (strings, applied last)."""
    merged: dict[str, Any] = {}
    for path in files:
        merged.update(_read_inputs_file(Path(path)))
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--input `{pair}` must look like key=value", hint="e.g. --input taxi=green")
        merged[key.strip()] = value
    return merged


def _read_inputs_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--inputs {path}: cannot read the file ({exc.strerror or exc})") from exc
    except UnicodeDecodeError as exc:
        raise UsageError(f"--inputs {path}: not UTF-8 text (byte {exc.start}: {exc.reason})",
                         hint="save the file as UTF-8") from None
    import yaml  # here, not at import: a cached run without YAML inputs skips PyYAML (~10 ms)

    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise UsageError(f"--inputs {path}: not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UsageError(f"--inputs {path}: must hold a mapping of input id to value, got {type(data).__name__}")
    return {str(key): value for key, value in data.items()}


# ---------------------------------------------------------------- resolution


class ResolvedInputs(Plain):
    """The typed inputs of one execution."""

    FIELDS = ("values", "secret_ids", "flat", "unknown", "disabled")

    def __init__(self, values: dict[str, Any] | None = None, secret_ids: set[str] | None = None,
                 flat: dict[str, Any] | None = None, unknown: list[str] | None = None,
                 disabled: list[str] | None = None) -> None:
        #: nested on dotted ids, as `inputs.*` sees them
        self.values: dict[str, Any] = {} if values is None else values
        #: ids whose value must be masked
        self.secret_ids: set[str] = set() if secret_ids is None else secret_ids
        #: id -> value, in declaration order
        self.flat: dict[str, Any] = {} if flat is None else flat
        #: supplied keys no input declares (dropped)
        self.unknown: list[str] = [] if unknown is None else unknown
        #: inputs left out by `dependsOn`
        self.disabled: list[str] = [] if disabled is None else disabled


def resolve_inputs(
    specs: list[InputSpec],
    supplied: Mapping[str, Any],
    render: Render,
    *,
    upload_file: Upload | None = None,
    strict: Collection[str] = (),
) -> ResolvedInputs:
    """Type, default and validate every declared input; raise one InputError listing every problem.

    A supplied key that no input declares is dropped, as Kestra does, unless it is in `strict` (the keys the
    user typed): then it is a problem that names the declared inputs and the closest one.
    """
    return _Resolver(specs, supplied, render, upload_file, strict).run()


class _Resolver:
    def __init__(self, specs: list[InputSpec], supplied: Mapping[str, Any], render: Render,
                 upload_file: Upload | None, strict: Collection[str] = ()) -> None:
        self.specs: list[BaseInput] = list(specs)
        self.by_id = {spec.id: spec for spec in self.specs}
        self.supplied = supplied
        self.strict = strict
        self.render = render
        self.upload_file = upload_file
        self.state: dict[str, str] = {}  # id -> resolving | enabled | disabled
        self.flat: dict[str, Any] = {}
        self.problems: list[Problem] = []

    def run(self) -> ResolvedInputs:
        for spec in self.specs:
            self._resolve(spec)
        self.problems[:0] = undeclared_problems(self.specs, [k for k in self._unknown_keys() if k in self.strict])
        if self.problems:
            raise InputError(self.problems, hint="fix the values with --input id=value or --inputs FILE")
        secret_ids = {s.id for s in self.specs if s.id in self.flat and _is_secret(s)}
        return ResolvedInputs(
            values=nest(self.flat), secret_ids=secret_ids, flat=dict(self.flat),
            unknown=self._unknown_keys(),
            disabled=[s.id for s in self.specs if self.state.get(s.id) == "disabled"],
        )

    def _problem(self, spec: BaseInput, message: str) -> None:
        self.problems.append(Problem(message, where=f"input `{spec.id}`"))

    def _resolve(self, spec: BaseInput) -> bool:
        """Resolve `spec` (its dependencies first); return whether it is enabled."""
        state = self.state.get(spec.id)
        if state == "resolving":
            self._problem(spec, "dependsOn forms a cycle")
            return False
        if state is not None:
            return state == "enabled"
        self.state[spec.id] = "resolving"
        enabled = self._enabled(spec)
        self.state[spec.id] = "enabled" if enabled else "disabled"
        if enabled:
            self._resolve_value(spec)
        return enabled

    def _enabled(self, spec: BaseInput) -> bool:
        if spec.depends_on is None:
            return True
        for dep_id in spec.depends_on.inputs or []:
            dep = self.by_id.get(dep_id)
            if dep is not None and dep is not spec and not self._resolve(dep):
                return False  # an input depending on a disabled input is disabled too
        if not spec.depends_on.condition:
            return True
        try:
            result = self.render(spec.depends_on.condition, nest(self.flat))
        except Exception as exc:  # any render failure is the user's expression
            self._problem(spec, f"invalid dependsOn condition: {exc}")
            return False
        return result is True or (isinstance(result, str) and result.strip().lower() == "true")

    def _resolve_value(self, spec: BaseInput) -> None:
        try:
            options = self._options(spec)
            raw = self._supplied(spec.id)
            if raw is None:
                raw = self._default(spec, options)
            if raw is None:
                if spec.required:
                    self._problem(spec, f"missing required input (type {spec.type}); pass --input {spec.id}=...")
                else:
                    self.flat[spec.id] = None
                return
            value = parse_value(spec, raw, self.upload_file)
            messages = violations(spec, value, options)
        except BadValue as exc:
            self._problem(spec, str(exc))
            return
        for message in messages:
            self._problem(spec, message)
        if not messages:
            self.flat[spec.id] = value

    def _options(self, spec: BaseInput) -> list[str] | None:
        """The allowed values of a SELECT/MULTISELECT/ENUM, rendering `expression` when there is one."""
        if isinstance(spec, m.SelectInput | m.MultiselectInput) and spec.expression is not None:
            try:
                result = self.render(spec.expression.strip(), nest(self.flat))
            except Exception as exc:  # the render engine raises its own error types
                raise BadValue(f"cannot render `expression`: {exc}") from exc
            if not isinstance(result, list):
                raise BadValue(f"`expression` must render to a list of values, got `{_shown(result)}`")
            return [java_text(v["value"] if isinstance(v, dict) and "value" in v else v)
                    for v in result if v is not None]
        if isinstance(spec, m.MultiselectInput):
            return spec.values if spec.values is not None else spec.options
        if isinstance(spec, m.SelectInput | m.EnumInput):
            return spec.values
        return None

    def _default(self, spec: BaseInput, options: list[str] | None) -> Any:
        default = spec.defaults
        if default is None and getattr(spec, "auto_select_first", False) and options:
            default = [options[0]] if isinstance(spec, m.MultiselectInput) else options[0]
        if default is None:
            return None
        try:
            return self.render(default, nest(self.flat))
        except Exception as exc:  # the render engine raises its own error types
            raise BadValue(f"cannot render `defaults`: {exc}") from exc

    def _supplied(self, input_id: str) -> Any:
        if input_id in self.supplied:
            return self.supplied[input_id]
        node: Any = self.supplied  # a nested mapping also reaches a dotted id: {"request": {"name": ...}}
        for part in input_id.split("."):
            if not isinstance(node, Mapping) or part not in node:
                return None
            node = node[part]
        return node

    def _unknown_keys(self) -> list[str]:
        return _unknown(self.specs, self.supplied)


def _unknown(specs: list[BaseInput], keys: Iterable[str]) -> list[str]:
    ids = [spec.id for spec in specs]
    known = set(ids) | {i.split(".", 1)[0] for i in ids if "." in i}
    return [key for key in keys if key not in known]


def undeclared_problems(specs: list[BaseInput], keys: Iterable[str]) -> list[Problem]:
    """One problem per key of `keys` that names no declared input, with the declared ones and the closest."""
    import difflib

    declared = [spec.id for spec in specs]
    problems = []
    for key in keys:
        close = difflib.get_close_matches(key, declared, n=1)
        guess = f"did you mean `{close[0]}`? " if close else ""
        text = (f"not declared by the flow; {guess}declared inputs: {', '.join(declared)}" if declared
                else "the flow declares no inputs")
        problems.append(Problem(text, where=f"input `{key}`"))
    return problems


def check_declared(specs: list[InputSpec], keys: Iterable[str]) -> None:
    """Raise an InputError when one of `keys` (input ids typed by the user) names no declared input."""
    problems = undeclared_problems(list(specs), _unknown(list(specs), keys))
    if problems:
        raise InputError(problems, hint="fix the input ids (--input id=value)")


def _is_secret(spec: BaseInput) -> bool:
    return isinstance(spec, m.SecretInput) or (isinstance(spec, m.ArrayInput) and spec.item_type == "SECRET")


def nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    """`{"a.b": 1}` -> `{"a": {"b": 1}}` (Kestra's flattenToNestedMap); a scalar in the way wins."""
    out: dict[str, Any] = {}
    for key, value in flat.items():
        node = out
        *parents, leaf = key.split(".")
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                break
            node = child
        else:
            node[leaf] = value
    return out


# ---------------------------------------------------------------- parsing one value


def parse_value(spec: BaseInput, raw: Any, upload_file: Upload | None = None) -> Any:
    """The typed value of `raw` for `spec` (Kestra's parseType); raise BadValue."""
    if isinstance(spec, m.ArrayInput | m.MultiselectInput):
        items = _as_list(spec.type, raw)
        out = []
        for index, item in enumerate(items):
            try:
                out.append(parse_scalar(spec.item_type, item, spec.id, upload_file))
            except BadValue as exc:
                raise BadValue(f"element {index} of the list: {exc}") from exc
        return out
    return parse_scalar(spec.type, raw, spec.id, upload_file)


def parse_scalar(kind: str, raw: Any, input_id: str = "", upload_file: Upload | None = None) -> Any:
    """Parse one value of type `kind` (not ARRAY/MULTISELECT)."""
    if raw is None:
        raise BadValue(f"expected {kind} but received null")
    if kind in ("STRING", "SELECT", "ENUM", "EMAIL", "SECRET"):
        return raw if isinstance(raw, str) else _text(raw)
    if kind in ("BOOLEAN", "BOOL"):  # Boolean.valueOf: anything but "true" (any case) is false
        return raw if isinstance(raw, bool) else _text(raw).lower() == "true"
    if kind == "INT":
        return _parse_int(raw)
    if kind == "FLOAT":
        return _parse_float(raw)
    if kind in TEMPORAL:
        try:
            parsed = TEMPORAL[kind](raw)
        except ValueError as exc:
            raise _expected(kind, raw, f" ({exc})" if str(exc) else "") from exc
        if kind == "DURATION":
            return raw
        return parsed.isoformat() if kind == "DATE" else _time_text(*parsed) if kind == "TIME" else _instant_text(*parsed)
    if kind in ("JSON", "YAML"):
        return _parse_document(kind, raw)
    if kind == "URI":
        if not URI_RE.fullmatch(_text(raw)):
            raise _expected(kind, raw)
        return _text(raw)
    if kind == "FILE":
        return _parse_file(raw, input_id, upload_file)
    raise BadValue(f"unsupported input type {kind}")


def _text(raw: Any) -> str:
    return json.dumps(raw) if isinstance(raw, dict | list) else java_text(raw)


def _shown(raw: Any, limit: int = 80) -> str:
    text = raw if isinstance(raw, str) else json.dumps(raw, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _expected(kind: str, raw: Any, detail: str = "") -> BadValue:
    shown = "***" if kind == "SECRET" else _shown(raw)
    accepted = f" ({ACCEPTED[kind]})" if kind in ACCEPTED else ""
    return BadValue(f"expected {kind}{accepted} but received `{shown}`{detail}")


def _as_list(kind: str, raw: Any) -> list[Any]:
    if isinstance(raw, list | tuple):
        return list(raw)
    if isinstance(raw, str):
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = None
        if isinstance(parsed, list):
            return parsed
    raise _expected(kind, raw)


def _parse_int(raw: Any) -> int:
    if isinstance(raw, int) and not isinstance(raw, bool):
        value = raw
    elif isinstance(raw, str) and INTEGER_RE.fullmatch(raw):
        value = int(raw)
    else:
        raise _expected("INT", raw)
    if not INT_MIN <= value <= INT_MAX:
        raise _expected("INT", raw)
    return value


def _parse_float(raw: Any) -> float:
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return float(raw)
    text = raw.strip() if isinstance(raw, str) else None
    if text is None or not FLOAT_RE.fullmatch(text):
        raise _expected("FLOAT", raw)
    if text[-1] in "fFdD":  # Java float/double suffix
        text = text[:-1]
    return float(text.replace("Infinity", "inf"))


def _time_text(value: time, nanos: int) -> str:
    """Jackson's ISO_LOCAL_TIME: seconds always, fraction without trailing zeros."""
    fraction = f".{nanos:09d}".rstrip("0") if nanos else ""
    return value.strftime("%H:%M:%S") + fraction


def _instant_text(value: datetime, nanos: int) -> str:
    """Java's Instant.toString: the fraction is printed in groups of 3 digits."""
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if nanos:
        digits = 3 if nanos % 1_000_000 == 0 else 6 if nanos % 1000 == 0 else 9
        text += "." + f"{nanos:09d}"[:digits]
    return text + "Z"


def _parse_document(kind: str, raw: Any) -> Any:
    if not isinstance(raw, str):
        return raw
    import yaml

    try:
        return json.loads(raw) if kind == "JSON" else yaml.safe_load(raw)
    except (ValueError, yaml.YAMLError) as exc:
        raise _expected(kind, raw, f": {str(exc).splitlines()[0]}") from exc


def _parse_file(raw: Any, input_id: str, upload_file: Upload | None) -> str:
    text = _text(raw)
    if text.split("://", 1)[0] in REFERENCE_SCHEMES and "://" in text:
        return text
    path = Path(text).expanduser()
    if not path.is_file():
        raise _expected("FILE", raw, " (no such local file)")
    if upload_file is None:
        raise BadValue(f"cannot upload `{text}`: no internal storage is available")
    try:
        return upload_file(input_id, path)
    except OSError as exc:
        raise BadValue(f"cannot upload `{text}`: {exc}") from exc


# ---------------------------------------------------------------- constraints on a parsed value


def violations(spec: BaseInput, value: Any, options: list[str] | None = None) -> list[str]:
    """Messages for every declared constraint `value` breaks (Kestra's Input.validate)."""
    if isinstance(spec, m.StringInput | m.SecretInput):
        if spec.validator is not None and not re.fullmatch(spec.validator, value):
            return [f"must match the pattern `{spec.validator}` (whole value)"]
    elif isinstance(spec, m.IntInput | m.FloatInput):
        return _range(value, (spec.min, spec.max), (">=", "<="))
    elif isinstance(spec, m.DurationInput):
        return _range(m.duration_value(value), (spec.min, spec.max), (">=", "<="), m.duration_value)
    elif isinstance(spec, m.DateInput | m.TimeInput | m.DateTimeInput):
        words = ("on or after", "on or before")
        return _range(TEMPORAL[spec.type](value), (spec.after, spec.before), words, TEMPORAL[spec.type])
    elif isinstance(spec, m.SelectInput | m.EnumInput):
        allowed = options or []
        custom = isinstance(spec, m.SelectInput) and spec.allow_custom_value
        if spec.required and not custom and value not in allowed:  # Kestra skips the check when not required
            return [f"value `{value}` is not one of {_listed(allowed)}"]
    elif isinstance(spec, m.MultiselectInput):
        if not spec.allow_custom_value:
            allowed = options or []
            return [f"value `{v}` is not one of {_listed(allowed)}" for v in value if v not in allowed]
    elif isinstance(spec, m.EmailInput):
        if not EMAIL_RE.fullmatch(value):
            return [f"expected EMAIL (an address such as name@example.com) but received `{_shown(value)}`"]
    elif isinstance(spec, m.FileInput) and spec.allowed_file_extensions:
        suffix = Path(value.split("?", 1)[0]).suffix.lower()
        if suffix not in [e.lower() for e in spec.allowed_file_extensions]:
            return [f"file extension `{suffix}` is not one of {_listed(spec.allowed_file_extensions)}"]
    return []


def _range(key: Any, bounds: tuple[Any, Any], words: tuple[str, str],
           parse: Callable[[Any], Any] = lambda b: b) -> list[str]:
    """Inclusive bounds: `key` (a comparable value) against the parsed (low, high)."""
    low, high = bounds
    out = []
    if low is not None and key < parse(low):
        out.append(f"must be {words[0]} {low}")
    if high is not None and key > parse(high):
        out.append(f"must be {words[1]} {high}")
    return out


def _listed(values: list[str]) -> str:
    return "[" + ", ".join(values) + "]"
