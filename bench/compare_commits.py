"""Core benchmark figures of this tree against an older commit, timed alternately in one run (no regression check).

    python -m bench.compare_commits dd3813b [--runs-scale 1] [--output docs/BENCHMARKS-issue12.md]

The commit is checked out in a temporary `git worktree` with a venv of its own (uv, runtime dependencies only,
bytecode compiled like `make install`). Each figure runs the same driver against both trees, alternating which
tree goes first in each round, so load from the rest of the machine falls on both sides alike; the medians
and their ratio (this tree / the commit) are written as a markdown report.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from bench import BENCH_TMP, ROOT, workdir
from bench.__main__ import machine

OUTPUT = ROOT / "docs" / "BENCHMARKS-issue12.md"
#: a ratio up to this is reported as "no slower": the spread of medians between identical trees here
TOLERANCE = 1.05
BACKFILL_CLI = "from flowrun.cli import main\nmain()\n"
BACKFILL_FLOW = """id: monthly
namespace: bench
tasks:
  - id: nap
    type: io.kestra.plugin.core.flow.Sleep
    duration: PT2S
triggers:
  - id: monthly
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "@monthly"
"""


@dataclass(frozen=True)
class Tree:
    """One checkout of flowrun and the interpreter of its own venv."""

    label: str
    root: Path
    python: Path

    @property
    def flowrun(self) -> list[str]:
        script = self.python.with_name("flowrun")
        return [str(script)] if script.is_file() else [str(self.python), "-m", "flowrun"]


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True, text=True).stdout.strip()


def _uv() -> str:
    from uv import find_uv_bin

    return str(find_uv_bin())


@contextmanager
def checkout(commit: str, base: Path) -> Iterator[Tree]:
    """`commit` in a temporary worktree under `base` with its own venv; removed on exit."""
    root = base / f"flowrun-{commit}"
    _git("worktree", "add", "--detach", str(root), commit)
    try:
        venv = root / ".venv"
        python = venv / "bin" / "python"
        subprocess.run([_uv(), "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
        subprocess.run([_uv(), "pip", "install", "--quiet", "--compile-bytecode", "--python", str(python), "-e",
                        str(root)], check=True)
        subprocess.run([str(python), "-m", "compileall", "-q", str(root / "flowrun")], check=True)
        yield Tree(_git("rev-parse", "--short", commit), root, python)
    finally:
        _git("worktree", "remove", "--force", str(root))


def this_tree() -> Tree:
    dirty = " + uncommitted changes" if _git("status", "--porcelain", "--", "flowrun") else ""
    return Tree(_git("rev-parse", "--short", "HEAD") + dirty, ROOT, Path(sys.executable))


def _run(argv: list[str], cwd: Path, home: Path) -> None:
    done = subprocess.run(argv, cwd=cwd, env={**os.environ, "FLOWRUN_HOME": str(home)}, capture_output=True,
                          text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}: {done.stderr[-2000:]}")


def _span(db: Path, tasks: int) -> float:
    """The recorded execution span, after checking that every task run succeeded."""
    with sqlite3.connect(db) as conn:
        [(state, start, end)] = conn.execute("SELECT state, start_date, end_date FROM executions").fetchall()
        [(succeeded,)] = conn.execute("SELECT count(*) FROM task_runs WHERE state = 'SUCCESS'").fetchall()
    if state != "SUCCESS" or succeeded != tasks:
        raise RuntimeError(f"execution {state} with {succeeded}/{tasks} successful task runs")
    stamp = datetime.fromisoformat
    return (stamp(end.replace("Z", "+00:00")) - stamp(start.replace("Z", "+00:00"))).total_seconds()


def _flow_project(work: Path, name: str, text: str) -> Path:
    project = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=work))
    (project / "flows").mkdir()
    (project / "flows" / f"{name}.yaml").write_text(text, encoding="utf-8")
    return project


def cold_hello(tree: Tree, work: Path) -> float:
    """Wall clock of `flowrun run flows/hello.yaml` in the tree's root, a fresh state dir each time."""
    home = Path(tempfile.mkdtemp(prefix="home-", dir=work))
    start = time.perf_counter()
    _run([*tree.flowrun, "run", "flows/hello.yaml"], tree.root, home)
    return time.perf_counter() - start


def _tasks_span(tree: Tree, work: Path, name: str, count: int, task: Callable[[int], str]) -> float:
    text = f"id: {name}\nnamespace: bench\ntasks:\n" + "".join(task(i) for i in range(count))
    project = _flow_project(work, name, text)
    _run([*tree.flowrun, "run", f"flows/{name}.yaml"], project, project / ".flowrun")
    return _span(project / ".flowrun" / "state.db", count)


def returns_1000(tree: Tree, work: Path) -> float:
    """The execution span of 1,000 sequential debug.Return tasks."""
    return _tasks_span(tree, work, "returns", 1000, lambda i: (
        f"  - id: r{i}\n    type: io.kestra.plugin.core.debug.Return\n    format: \"{{{{ flow.id }}}}-{i}\"\n"))


def shell_200(tree: Tree, work: Path) -> float:
    """The execution span of 200 sequential shell tasks running `true` (Process runner)."""
    return _tasks_span(tree, work, "shell", 200, lambda i: (
        f"  - id: t{i}\n    type: io.kestra.plugin.scripts.shell.Commands\n    taskRunner:\n"
        "      type: io.kestra.plugin.core.runner.Process\n    commands:\n      - \"true\"\n"))


def backfill_24(tree: Tree, work: Path) -> float:
    """Wall clock of a backfill of 24 monthly dates of one flow.Sleep PT2S with --parallel 4 (ideal 12 s)."""
    project = _flow_project(work, "monthly", BACKFILL_FLOW)
    start = time.perf_counter()
    _run([str(tree.python), "-c", BACKFILL_CLI, "backfill", "flows/monthly.yaml", "--from", "2019-01-01", "--to",
          "2020-12-01", "--parallel", "4"], project, project / ".flowrun")
    return time.perf_counter() - start


#: (figure, what is timed, driver, runs per tree)
FIGURES: list[tuple[str, str, Callable[[Tree, Path], float], int]] = [
    ("cold `flowrun run flows/hello.yaml`", "process start to exit", cold_hello, 11),
    ("1,000 sequential `debug.Return` tasks", "execution span from the state DB", returns_1000, 5),
    ("200 sequential shell tasks running `true`", "execution span from the state DB", shell_200, 5),
    ("backfill 24 monthly dates of one `flow.Sleep PT2S`, --parallel 4", "process start to exit", backfill_24, 3),
]


def alternate(runs: int, old: Callable[[], float], new: Callable[[], float]) -> tuple[list[float], list[float]]:
    """`runs` samples of each side; odd rounds run the new side first, so neither always follows the other."""
    olds: list[float] = []
    news: list[float] = []
    for index in range(runs):
        order = [(old, olds), (new, news)] if index % 2 == 0 else [(new, news), (old, olds)]
        for side, samples in order:
            samples.append(side())
    return olds, news


def compare(old: Tree, new: Tree, work: Path, scale: float = 1.0, only: list[str] | None = None) -> list[dict[str, Any]]:
    rows = []
    for name, timed, driver, runs in FIGURES:
        if only and driver.__name__ not in only:
            continue
        count = max(1, round(runs * scale))
        driver(old, work), driver(new, work)  # one untimed run each: both start with a warm page cache
        olds, news = alternate(count, partial(driver, old, work), partial(driver, new, work))
        m_old, m_new = statistics.median(olds), statistics.median(news)
        rows.append({"name": name, "timed": timed, "runs": count, "old_s": olds, "new_s": news,
                     "old_median_s": m_old, "new_median_s": m_new, "ratio": m_new / m_old})
        print(f"  {name}: {m_old:.4f} s -> {m_new:.4f} s ({m_new / m_old:.3f}x)", file=sys.stderr, flush=True)
    return rows


def verdict(ratio: float) -> str:
    return "no slower" if ratio <= TOLERANCE else "SLOWER"


def render(rows: list[dict[str, Any]], old: Tree, new: Tree, started: datetime, loads: tuple[str, str]) -> str:
    samples = lambda values: ", ".join(f"{v:.4f}" for v in values)  # noqa: E731
    lines = [
        "# Benchmarks: issue 12's restructure against the round before it",
        "",
        f"The tables are written by `python -m bench.compare_commits {old.label}` (a Findings section below them "
        "is written by hand, and must be redone with a new run). Every figure ran the same "
        f"driver against both trees in one run: the commit `{old.label}` (the end of the previous round, whose "
        f"figures docs/BENCHMARKS.md recorded) checked out in a temporary git worktree with its own venv, and this "
        f"tree (`{new.label}`). The two sides alternate, and the side that goes first swaps every round.",
        "",
        f"- **Date:** {started.strftime('%Y-%m-%d %H:%M UTC')}",
        f"- **Machine:** {machine()}",
        f"- **Load average (1, 5, 15 min):** {loads[0]} at the start, {loads[1]} at the end. The machine was "
        "shared with other jobs while this ran, so absolute times are inflated; interleaving spreads that load "
        "over both trees alike, which is why only the ratios are compared.",
        f"- **Verdict:** a ratio (this tree / `{old.label}`) up to {TOLERANCE} counts as no slower (run-to-run "
        "noise of medians on this machine).",
        "",
        f"| figure | `{old.label}` median | this tree median | ratio | verdict |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {r['name']} | {r['old_median_s']:.4f} s | {r['new_median_s']:.4f} s | {r['ratio']:.3f} | "
              f"{verdict(r['ratio'])} |" for r in rows]
    lines += ["", "## Samples", ""]
    for r in rows:
        lines += [f"### {r['name']}", "", f"- **Timed:** {r['timed']}; {r['runs']} runs per tree, interleaved",
                  f"- **`{old.label}`:** {samples(r['old_s'])}", f"- **this tree:** {samples(r['new_s'])}", ""]
    return "\n".join(lines).rstrip() + "\n"


@contextmanager
def _this() -> Iterator[Tree]:
    yield this_tree()


def _load() -> str:
    return ", ".join(f"{value:.1f}" for value in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.compare_commits", description=__doc__.split("\n")[0])
    parser.add_argument("commit", help="the commit to compare against, e.g. dd3813b")
    parser.add_argument("--runs-scale", type=float, default=1.0, help="multiply every figure's runs (default 1)")
    parser.add_argument("--output", type=Path, default=OUTPUT, help=f"the report (default {OUTPUT})")
    parser.add_argument("--new", help="compare this commit instead of the working tree (to find a regression)")
    parser.add_argument("--only", action="append", choices=[f[2].__name__ for f in FIGURES],
                        help="a figure to run (repeatable; default all)")
    args = parser.parse_args(argv)
    started, load_before = datetime.now(UTC), _load()
    base = workdir("compare-")  # beside the repo like every benchmark (mkdir under /tmp is slow here)
    try:
        work = base / "work"
        work.mkdir()
        with checkout(args.commit, base) as old, (checkout(args.new, base) if args.new else _this()) as new:
            rows = compare(old, new, work, args.runs_scale, args.only)
    finally:
        shutil.rmtree(base, ignore_errors=True)
        try:
            BENCH_TMP.rmdir()
        except OSError:
            pass
    args.output.write_text(render(rows, old, new, started, (load_before, _load())), encoding="utf-8")
    print(f"wrote {args.output}", file=sys.stderr)
    return 0 if all(r["ratio"] <= TOLERANCE for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
