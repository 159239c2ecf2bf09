"""The console views: plain lines and the live rich view print what happened, literally, and never fail a run."""

from __future__ import annotations

import io

from conftest import Project

from flowrun.report.console import LiveReporter, PlainReporter

FLOW = """
    id: shown
    namespace: dev
    tasks:
      - id: par
        type: io.kestra.plugin.core.flow.Parallel
        tasks:
          - id: say
            type: io.kestra.plugin.core.log.Log
            message: "[bold]not markup[/bold] {{ flow.id }}"
          - id: each
            type: io.kestra.plugin.core.flow.ForEach
            values: ["x", "y"]
            tasks:
              - id: ret
                type: io.kestra.plugin.core.debug.Return
                format: "{{ taskrun.value }}"
    """


def test_plain_view_prints_states_and_logs(project: Project) -> None:
    stream = io.StringIO()
    ex = project.run(project.flow(FLOW), listeners=[PlainReporter(stream)])
    text = stream.getvalue()
    assert ex.state == "SUCCESS"
    assert "[bold]not markup[/bold] shown" in text
    assert "SUCCESS  ret[x]" in text and "SUCCESS  ret[y]" in text
    assert text.count("SUCCESS  par") == 1


def test_live_view_shows_every_branch_and_literal_logs(project: Project) -> None:
    stream = io.StringIO()
    reporter = LiveReporter(stream)
    ex = project.run(project.flow(FLOW), listeners=[reporter])
    reporter.close()
    text = stream.getvalue()
    assert ex.state == "SUCCESS"
    assert "[bold]not markup[/bold] shown" in text
    for name in ("par", "say", "each", "ret[x]", "ret[y]"):
        assert name in text


def test_a_failing_display_does_not_fail_the_run(project: Project) -> None:
    class Broken(PlainReporter):
        def log(self, line: object) -> None:
            raise RuntimeError("display bug")

    ex = project.run(project.flow(FLOW), listeners=[Broken(io.StringIO())])
    assert ex.state == "SUCCESS"
