"""The labels every view shows: the terminal's, the web UI's and the HTML report's (one rule)."""

from __future__ import annotations

from flowrun.cli.views import labels_text
from flowrun.report.labels import shown_labels

LABELS = [{"key": "team", "value": "data"}, {"key": "system.correlationId", "value": "4bWcR8u3"},
          {"key": "env", "value": "prod"}]


def test_the_correlation_id_is_left_out_and_the_order_kept() -> None:
    assert shown_labels(LABELS) == [LABELS[0], LABELS[2]]
    assert shown_labels(None) == []
    assert labels_text(LABELS) == "team=data,env=prod"
