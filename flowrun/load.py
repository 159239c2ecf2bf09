"""Loading a flow file: read it, parse it (model/parse.py: a located document), validate it: `load_flow`.

`load_project_flow` is the same for a flow of a project, through the validated-flow cache (flow_cache.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flowrun.errors import InvalidFlowError, Problem
from flowrun.model.document import Document

if TYPE_CHECKING:
    from flowrun.model.base import PluginDefault
    from flowrun.model.flow import Flow
    from flowrun.project import Project


def __getattr__(name: str) -> Any:
    if name == "parse_yaml":  # imported on first use: a cached load needs no YAML parser
        from flowrun.model.parse import parse_yaml

        return parse_yaml
    raise AttributeError(name)


def read_yaml(path: Path) -> Document:
    return _parse(_read_bytes(path), path)


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InvalidFlowError([Problem("file not found", file=str(path))],
                               hint="check the path, or name the flow as NAMESPACE/FLOW_ID") from None
    except OSError as exc:
        raise InvalidFlowError([Problem(f"cannot read the file: {exc}", file=str(path))]) from None


def _parse(source: bytes, path: Path) -> Document:
    from flowrun.model.parse import parse_yaml

    try:
        text = source.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidFlowError([Problem(f"cannot read the file: {exc}", file=str(path))]) from None
    return parse_yaml(text.replace("\r\n", "\n").replace("\r", "\n"), str(path))  # as read_text() reads


def _validate(source: bytes, path: Path, global_defaults: Sequence[PluginDefault]) -> Flow:
    from flowrun.validate import validate_document

    return validate_document(_parse(source, path), global_defaults)


def load_flow(path: Path, global_defaults: Sequence[PluginDefault] = ()) -> Flow:
    """Read, parse and validate a flow file."""
    return _validate(_read_bytes(path), path, global_defaults)


def load_project_flow(path: Path, project: Project) -> Flow:
    """`load_flow` with the project's plugin defaults, through the validated-flow cache under its state dir."""
    from flowrun.flow_cache import cached_flow
    from flowrun.model.flow import Flow
    from flowrun.project import CONFIG_FILE

    defaults = project.config.plugin_defaults
    source = _read_bytes(path)
    try:
        config = (project.root / CONFIG_FILE).read_bytes()
    except OSError:
        config = b""
    return cached_flow(project.home, path, source, config, defaults,
                       lambda data: _validate(data, path, defaults), Flow)
