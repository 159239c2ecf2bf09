"""Backfill progress for humans: a rich live view on a terminal, plain lines otherwise, and the dry-run table."""

from __future__ import annotations

import time
from typing import IO, Any

from flowrun.schedule.backfill import DONE, BackfillResult, DatePlan


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Counts:
    """Done, running and failed dates of a backfill, and an ETA from the pace so far."""

    def __init__(self) -> None:
        self.to_run = self.done = self.failed = 0
        self.running: dict[int, DatePlan] = {}
        self.started_at = time.monotonic()

    def settle(self, plan: DatePlan) -> None:
        self.running.pop(id(plan), None)
        if plan.state == "interrupted":
            return
        self.done += 1
        self.failed += plan.state not in DONE

    def eta(self) -> float | None:
        if not self.done:
            return None
        pace = (time.monotonic() - self.started_at) / self.done
        return pace * max(0, self.to_run - self.done)

    def line(self) -> str:
        return (f"done {self.done}/{self.to_run}  running {len(self.running)}  failed {self.failed}  "
                f"ETA {_clock(self.eta())}")


def header(result: BackfillResult, parallel: int) -> str:
    to_run = sum(1 for p in result.plans if p.action == "run")
    verb = "resuming" if result.resumed else "backfill"
    return (f"{verb} {result.id} of {result.flow}: {len(result.plans)} date(s), {to_run} to run, "
            f"{len(result.plans) - to_run} skipped, parallel {parallel}")


class PlainProgress:
    """One line per finished date, with the counts and the ETA: for logs, CI and pipes."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream, self.counts = stream, Counts()

    def _say(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def begin(self, result: BackfillResult, parallel: int) -> None:
        self.counts.to_run = sum(1 for p in result.plans if p.action == "run")
        self._say(header(result, parallel))

    def started(self, plan: DatePlan) -> None:
        self.counts.running[id(plan)] = plan

    def finished(self, plan: DatePlan) -> None:
        self.counts.settle(plan)
        seconds = f"{plan.seconds:.1f}s" if plan.seconds is not None else ""
        note = f"  {plan.note}" if plan.note and plan.state not in DONE else ""
        self._say(f"{plan.date_text}  {plan.trigger_id}  {plan.state}  {seconds}  "
                  f"{plan.execution_id or ''}  [{self.counts.line()}]{note}")

    def refresh(self) -> None:
        return None

    def end(self) -> None:
        return None


class LiveProgress(PlainProgress):
    """A rich live view: the running dates, the counts and the ETA, redrawn in place."""

    def __init__(self, stream: IO[str]) -> None:
        from rich.console import Console

        super().__init__(stream)
        self.console = Console(file=stream)
        self.live: Any = None

    def _render(self) -> Any:
        from rich.table import Table

        table = Table.grid(padding=(0, 2))
        for plan in self.counts.running.values():
            table.add_row("[cyan]running[/]", plan.date_text, plan.trigger_id)
        table.add_row("", f"[bold]{self.counts.line()}[/]", "")
        return table

    def begin(self, result: BackfillResult, parallel: int) -> None:
        from rich.live import Live

        self.counts.to_run = sum(1 for p in result.plans if p.action == "run")
        self.console.print(header(result, parallel))
        self.live = Live(self._render(), console=self.console, refresh_per_second=4, transient=True)
        self.live.start()

    def finished(self, plan: DatePlan) -> None:
        self.counts.settle(plan)
        style = "green" if plan.state in DONE else "red"
        self.console.print(f"[{style}]{plan.state:<11}[/] {plan.date_text}  {plan.trigger_id}  "
                           f"{(plan.seconds or 0):.1f}s  {plan.execution_id or ''}")
        self.refresh()

    def started(self, plan: DatePlan) -> None:
        super().started(plan)
        self.refresh()

    def refresh(self) -> None:
        if self.live is not None:
            self.live.update(self._render())

    def end(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None


def plan_table(result: BackfillResult) -> list[str]:
    """The dry-run table: each date with its latest execution and the action a backfill would take."""
    rows = [("DATE", "TRIGGER", "LATEST", "ACTION", "NOTE")]
    for plan in result.plans:
        latest = plan.latest_state or "-"
        if plan.latest_execution:
            latest += f" ({plan.latest_execution})"
        rows.append((plan.date_text, plan.trigger_id, latest, plan.action, plan.note))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return ["  ".join(cell.ljust(widths[i]) if i < 4 else cell for i, cell in enumerate(row)).rstrip()
            for row in rows]


def summary(result: BackfillResult) -> str:
    ran = [p for p in result.plans if p.state is not None]
    text = (f"backfill {result.id}: {len(ran)} ran ({result.count(*DONE)} succeeded, {result.failed} failed"
            f"{f', {stopped} interrupted' if (stopped := result.count('interrupted')) else ''}), "
            f"{len(result.plans) - len(ran)} skipped")
    if result.interrupted:
        text += "; interrupted: run the same command again to continue"
    return text
