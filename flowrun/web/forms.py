"""The inputs form of a flow (or a Pause's `onResume`): one widget per typed input, and the submitted values back."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.datastructures import FormData, UploadFile

#: widget per input type (anything else is a text box)
WIDGETS = {"SELECT": "select", "ENUM": "select", "MULTISELECT": "multiselect", "BOOLEAN": "checkbox",
           "BOOL": "checkbox", "INT": "number", "FLOAT": "number", "DATE": "date", "DATETIME": "datetime-local",
           "TIME": "time", "JSON": "textarea", "YAML": "textarea", "ARRAY": "textarea", "FILE": "file",
           "SECRET": "password", "EMAIL": "email", "URI": "url"}
RESERVED = ("csrf", "_labels")


@dataclass
class Field:
    name: str
    type: str
    widget: str
    label: str
    description: str = ""
    required: bool = False
    options: list[str] = field(default_factory=list)
    value: str = ""
    selected: list[str] = field(default_factory=list)
    step: str = ""


def _plain_default(spec: Any) -> Any:
    """The input's default when it is a plain value (a template is left for the engine to render)."""
    value = spec.defaults
    if isinstance(value, str) and "{{" in value:
        return None
    return value


def fields_of(specs: list[Any]) -> list[Field]:
    """One form field per input definition, pre-filled with its plain default (never a SECRET's)."""
    out = []
    for spec in specs:
        kind = str(spec.type).upper()
        default = None if kind == "SECRET" else _plain_default(spec)
        options = [str(v) for v in (getattr(spec, "values", None) or getattr(spec, "options", None) or [])]
        description = ("in UTC; " if kind == "DATETIME" else "") + (spec.description or "")
        item = Field(spec.id, kind, WIDGETS.get(kind, "text"), spec.display_name or spec.id, description,
                     bool(spec.required) and default is None, options, step="any" if kind == "FLOAT" else "")
        if kind == "MULTISELECT":
            item.selected = [str(v) for v in default] if isinstance(default, list) else []
        elif isinstance(default, bool):
            item.value = "true" if default else "false"
        elif isinstance(default, dict | list):
            item.value = json.dumps(default)
        elif default is not None:
            item.value = str(default)
        out.append(item)
    return out


async def submitted_inputs(form: FormData, specs: list[Any], upload_dir: Path,
                           saved: list[Path] | None = None) -> dict[str, Any]:
    """The values of a submitted form, as `--input` would give them (text; a list for a MULTISELECT; a saved
    file's path for a FILE, its fresh directory added to `saved`). Empty optional fields are left out, so that
    defaults apply."""
    values: dict[str, Any] = {}
    for spec in specs:
        kind = str(spec.type).upper()
        if kind == "MULTISELECT":
            chosen = [str(v) for v in form.getlist(spec.id) if str(v)]
            if chosen:
                values[spec.id] = chosen
            continue
        if kind in ("BOOLEAN", "BOOL"):
            sent = [str(v) for v in form.getlist(spec.id)]
            if sent:
                values[spec.id] = "true" if "true" in sent else "false"
            continue
        raw = form.get(spec.id)
        if isinstance(raw, UploadFile):
            if raw.filename:
                path = await _save(raw, upload_dir)
                values[spec.id] = str(path)
                if saved is not None:
                    saved.append(path.parent)
            continue
        if raw is not None and str(raw) != "":
            values[spec.id] = _local_datetime(str(raw)) if kind == "DATETIME" else str(raw)
    return values


def _local_datetime(text: str) -> str:
    """A `datetime-local` value (no zone, maybe no seconds) as an ISO-8601 UTC date-time."""
    if len(text) == 16:
        text += ":00"
    return text if text.endswith("Z") or "+" in text[10:] else text + "Z"


async def _save(upload: UploadFile, upload_dir: Path) -> Path:
    """Write an uploaded file under a fresh directory of `upload_dir`, under its own base name."""
    upload_dir.mkdir(parents=True, exist_ok=True)
    target = Path(tempfile.mkdtemp(dir=upload_dir)) / Path(upload.filename or "upload").name
    with target.open("wb") as handle:
        while chunk := await upload.read(1 << 20):
            handle.write(chunk)
    return target


def labels_of(form: FormData) -> dict[str, str]:
    """`key=value` lines of the labels box."""
    labels = {}
    for line in str(form.get("_labels") or "").splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip():
            labels[key.strip()] = value.strip()
    return labels
