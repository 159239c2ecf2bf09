"""Which labels of an execution the views show (terminal, web UI, HTML report): all but flowrun's bookkeeping."""

from __future__ import annotations

from typing import Any

#: labels every execution carries, kept out of the views (Kestra's UI hides them too)
HIDDEN_LABELS = ("system.correlationId",)


def shown_labels(labels: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """The `{"key": .., "value": ..}` labels to show, in their order."""
    return [label for label in labels or [] if label.get("key") not in HIDDEN_LABELS]
