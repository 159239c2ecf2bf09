"""`make bench`: run every bench/bench_*.py module and write docs/BENCHMARKS.md."""

from __future__ import annotations

import argparse
import importlib
import inspect
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import BENCH_TMP, ROOT, normalize, passed

OUTPUT = ROOT / "docs" / "BENCHMARKS.md"
#: the scale-out figures when they are measured alone (they start Celery workers, a Postgres database...)
SCALEOUT = ROOT / "docs" / "BENCHMARKS-scaleout.md"
SHOWN = {"module", "name", "command", "timed", "baseline", "runs", "flowrun_s", "baseline_s", "flowrun_median_s",
         "baseline_median_s", "ratio", "figure", "unit", "goal", "goal_ratio", "goal_max", "passed", "note", "span",
         "samples"}


def module_names() -> list[str]:
    return sorted(f"bench.{p.stem}" for p in (ROOT / "bench").glob("bench_*.py"))


def entry_point(module: Any) -> Callable[[bool], list[dict[str, Any]]]:
    """The module's `run(tiny)`, or `run_all(tiny)`; a function without a parameter is called as is."""
    function = getattr(module, "run", None) or getattr(module, "run_all", None)
    if function is None:
        raise AttributeError(f"{module.__name__} has neither run(tiny) nor run_all(tiny)")
    if not inspect.signature(function).parameters:
        return lambda tiny: function()
    return lambda tiny: function(tiny)


def run_module(name: str, tiny: bool) -> list[dict[str, Any]]:
    """The module's figures; a module that fails becomes one row saying why, so the others still report."""
    try:
        rows = entry_point(importlib.import_module(name))(tiny)
        if isinstance(rows, dict):
            rows = [rows]
        return [normalize(dict(row, module=name)) for row in rows]
    except Exception as exc:  # a broken benchmark must not hide the others
        return [{"module": name, "name": name, "error": f"{type(exc).__name__}: {exc}",
                 "traceback": traceback.format_exc(limit=3)}]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as handle:
            cpu = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), cpu)
    except OSError:
        pass
    return (f"{platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} CPU(s), "
            f"Python {platform.python_version()} ({sys.executable})")


def _fmt(value: Any, unit: str = "s") -> str:
    return "–" if value is None else f"{value:g} {unit}"


def _verdict(row: dict[str, Any]) -> str:
    if "error" in row:
        return "ERROR"
    return {True: "pass", False: "FAIL", None: "–"}[passed(row)]


def _summary(rows: list[dict[str, Any]]) -> list[str]:
    lines = ["| figure | flowrun median | baseline median | ratio | goal | result |", "|---|---|---|---|---|---|"]
    for row in rows:
        ours = _fmt(row.get("flowrun_median_s"))
        if row.get("figure") is not None:
            ours += f" ({row['figure']:g} {row.get('unit', '')})"
        lines.append(f"| {row['name']} | {ours} | {_fmt(row.get('baseline_median_s'))} | "
                     f"{row.get('ratio') if row.get('ratio') is not None else '–'} | {row.get('goal', '–')} | "
                     f"{_verdict(row)} |")
    return lines


def _section(row: dict[str, Any], tiny: bool) -> list[str]:
    lines = [f"### {row['name']}", ""]
    if "error" in row:
        return [*lines, f"The benchmark failed: `{row['error']}`", "", "```", row["traceback"].rstrip(), "```", ""]
    samples = ", ".join(f"{x:g}" for x in row.get("flowrun_s", []))
    base_samples = ", ".join(f"{x:g}" for x in row.get("baseline_s", []))
    lines += [
        f"- **Command:** `{row.get('command', '?')}`",
        f"- **Timed span:** {row.get('timed', '?')}",
        "- **Baseline:** " + (f"`{row['baseline']}`" if row.get("baseline") else "none (absolute figure)"),
        f"- **Runs:** {row.get('runs', '?')}"
        + (", interleaved (flowrun, baseline, flowrun, ...)" if row.get("baseline_s") else "")
        + (" — fewer than the 5 the project asks for" if not tiny and (row.get("runs") or 0) < 5 else ""),
        f"- **flowrun median:** {_fmt(row.get('flowrun_median_s'))} (samples: {samples})",
    ]
    if row.get("baseline_s"):
        lines.append(f"- **Baseline median:** {_fmt(row.get('baseline_median_s'))} (samples: {base_samples})")
    if row.get("ratio") is not None:
        lines.append(f"- **Ratio:** {row.get('ratio')}")
    if row.get("figure") is not None:
        lines.append(f"- **Figure:** {row['figure']:g} {row.get('unit', '')}")
    if row.get("note"):
        lines.append(f"- **Note:** {row['note']}")
    extras = {k: v for k, v in row.items() if k not in SHOWN and not isinstance(v, list | dict)}
    if extras:
        lines.append("- **Also:** " + ", ".join(f"{k} = {v}" for k, v in extras.items()))
    lines += [f"- **Goal:** {row.get('goal', '–')} → **{_verdict(row)}**", f"- **Module:** `{row['module']}`", ""]
    return lines


def _see_also() -> list[str]:
    """A line linking the other reports beside BENCHMARKS.md (one module's rows, comparisons of commits)."""
    reports = sorted(path.name for path in OUTPUT.parent.glob("BENCHMARKS-*.md"))
    return ["- **See also:** " + ", ".join(f"[{name}]({name})" for name in reports)] if reports else []


def render(rows: list[dict[str, Any]], started: datetime, seconds: float, tiny: bool) -> str:
    lines = ["# Benchmarks", "",
             "Written by `make bench` (`python -m bench`); do not edit by hand. Every figure times flowrun and its "
             "baseline alternately in the same run and reports the medians.", "",
             f"- **Date:** {started.strftime('%Y-%m-%d %H:%M UTC')} ({seconds:.0f} s)",
             f"- **Machine:** {machine()}", *_see_also()]
    if tiny:
        lines.append("- **Tiny mode:** one run at a small size per figure; the numbers mean nothing")
    if SCALEOUT.exists() and not any(row["module"] == "bench.bench_scaleout" for row in rows):
        lines.append(f"- **Scale-out on Celery:** measured on its own (`python -m bench --only bench_scaleout "
                     f"--output docs/{SCALEOUT.name}`), see [{SCALEOUT.name}]({SCALEOUT.name})")
    lines += ["", "## Summary", "", *_summary(rows), "", "## Figures", ""]
    for row in rows:
        lines += _section(row, tiny)
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--tiny", action="store_true", help="one run at a small size (a smoke test)")
    parser.add_argument("--only", action="append", help="a module to run, e.g. bench_core (repeatable)")
    parser.add_argument("--output", type=Path, default=None, help=f"where to write (default {OUTPUT}; "
                        "--tiny prints to stdout unless given)")
    args = parser.parse_args(argv)
    names = [n for n in module_names() if not args.only or n.split(".")[-1] in args.only]
    started, clock = datetime.now(UTC), time.perf_counter()
    rows: list[dict[str, Any]] = []
    for name in names:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        rows += run_module(name, args.tiny)
        for row in rows:
            if row["module"] == name:
                print(f"  {row['name']}: {_verdict(row)}", file=sys.stderr, flush=True)
    try:
        BENCH_TMP.rmdir()
    except OSError:
        pass
    text = render(rows, started, time.perf_counter() - clock, args.tiny)
    output = args.output or (None if args.tiny else OUTPUT)
    if output is None:
        sys.stdout.write(text)
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
        print(f"wrote {output}", file=sys.stderr)
    return 1 if any("error" in row for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
