"""The truth behind the in-process fuzzing: a sample of each target as real `python -m flowrun` processes.

Each case runs in a fresh subprocess under rlimits, with its exit status and peak RSS read from wait4, and is
judged by the same contract. For `render` and `validate`, whose result depends only on the input, the worker
must agree on the exit code: that is what makes the thousands of in-process cases worth trusting.
"""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from .fuzz_args import cli_arguments
from .fuzz_flows import mutated_flows
from .fuzz_harness import check, fuzz_settings, run_subprocess
from .fuzz_templates import fuzz_templates

_COUNTER = itertools.count()
# `make fuzz` runs 1/50 of its cases per target here too: a fresh process costs ~0.4 s, a worker case ~0.03 s.


def _agree(fuzz_project, case, outcome) -> list[str]:
    again = fuzz_project.worker.run(case)
    if outcome.code is not None and again.code != outcome.code:
        return [f"the in-process worker exited {again.code}, the real process {outcome.code}"]
    return []


@fuzz_settings(8, share=1 / 50)
@given(template=fuzz_templates())
def test_render_subprocess(fuzz_project, template: str) -> None:
    case = fuzz_project.case(["render", template.replace("\x00", "")], "render (subprocess)")
    outcome = check(lambda c: run_subprocess(c, fuzz_project.env), case)
    if outcome is not None:
        assert not _agree(fuzz_project, case, outcome), _agree(fuzz_project, case, outcome)


@fuzz_settings(8, share=1 / 50)
@given(flow=mutated_flows())
def test_validate_subprocess(fuzz_project, flow: tuple[str, bytes]) -> None:
    source, raw = flow
    path = f"cases/s{next(_COUNTER)}_{source}"
    (fuzz_project.root / path).write_bytes(raw)
    case = fuzz_project.case(["validate", path], "validate (subprocess)", {path: raw})
    outcome = check(lambda c: run_subprocess(c, fuzz_project.env), case)
    if outcome is not None:
        assert not _agree(fuzz_project, case, outcome), _agree(fuzz_project, case, outcome)


@fuzz_settings(8, share=1 / 50)
@given(data=st.data())
def test_cli_subprocess(fuzz_project, data: st.DataObject) -> None:
    argv = data.draw(cli_arguments(fuzz_project.executions), label="argv")
    fuzz_project.restore_damage(argv)
    check(lambda c: run_subprocess(c, fuzz_project.env), fuzz_project.case(argv, "cli (subprocess)"))
