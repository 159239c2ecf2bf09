"""Loading a flow file: read it, parse it (model/parse.py: a located document), validate it: `load_flow`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from flowrun.errors import InvalidFlowError, Problem
from flowrun.model.document import Document
from flowrun.model.parse import parse_yaml

if TYPE_CHECKING:
    from flowrun.model.base import PluginDefault
    from flowrun.model.flow import Flow


def read_yaml(path: Path) -> Document:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidFlowError([Problem("file not found", file=str(path))],
                               hint="check the path, or name the flow as NAMESPACE/FLOW_ID") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidFlowError([Problem(f"cannot read the file: {exc}", file=str(path))]) from None
    return parse_yaml(text, str(path))


def load_flow(path: Path, global_defaults: Sequence[PluginDefault] = ()) -> Flow:
    """Read, parse and validate a flow file."""
    from flowrun.validate import validate_document

    return validate_document(read_yaml(path), global_defaults)
