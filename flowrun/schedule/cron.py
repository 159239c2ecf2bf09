"""Cron occurrences of a Schedule trigger (5 or 6 fields, nicknames, time zone, DST) computed with croniter."""

from __future__ import annotations

import heapq
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadCronError, CroniterBadDateError, croniter

from flowrun.errors import ExitCode, FlowrunError

NICKNAMES = {
    "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
}
#: the largest shift between a wall-clock time and its instants across a DST change
_DST_MARGIN = timedelta(hours=3)
_MAX_YEARS = 30
_PARSED: dict[tuple[str, bool, str], Cron] = {}
_STEPPERS = threading.local()


class CronError(FlowrunError):
    """A cron expression or time zone that flowrun cannot schedule."""

    exit_code = ExitCode.INVALID


def parse_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CronError(f"unknown time zone `{name}` (use an IANA id such as Europe/Paris or UTC)") from None


def format_date(moment: datetime, zone: ZoneInfo) -> str:
    """ISO-8601 with the zone's offset, as Kestra serialises trigger dates (`Z` for a zero offset)."""
    local = moment.astimezone(zone)
    text = local.replace(microsecond=0).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


@dataclass(frozen=True)
class Cron:
    """A parsed cron expression evaluated on the wall clock of `zone`.

    DST: a wall time skipped by a spring-forward change fires once, shifted forward by the gap (as Java's
    ZonedDateTime does). A wall time repeated by a fall-back change fires once, at its first instant, unless
    the hour field is a wildcard (`*`, `*/n`): then it fires in both passes, like Vixie cron.
    """

    text: str
    expression: str
    zone: ZoneInfo
    with_seconds: bool = False

    @classmethod
    def parse(cls, text: str, with_seconds: bool = False, timezone: str = "UTC") -> Cron:
        """The cron of `text` (checked once per process: a Cron is immutable, and a tick reads every flow)."""
        key = (text, with_seconds, timezone)
        cron = _PARSED.get(key)
        if cron is None:
            cron = _PARSED[key] = cls._parse(text, with_seconds, timezone)
        return cron

    @classmethod
    def _parse(cls, text: str, with_seconds: bool, timezone: str) -> Cron:
        zone = parse_zone(timezone)
        expression = NICKNAMES.get(text.strip().lower(), text.strip())
        if expression.startswith("@"):
            raise CronError(f"unknown cron nickname `{text}` (known: {', '.join(NICKNAMES)})")
        fields = expression.split()
        wanted = 6 if with_seconds else 5
        if len(fields) != wanted and not (with_seconds and text.strip().startswith("@")):
            hint = " (set `withSeconds: true` for 6 fields)" if len(fields) == 6 else ""
            raise CronError(f"cron `{text}` has {len(fields)} fields, expected {wanted}{hint}")
        if with_seconds and len(fields) == 5:
            expression = "0 " + expression
        cron = cls(text, expression, zone, with_seconds)
        cron._check()
        return cron

    def _iter(self, start: datetime, backwards: bool = False) -> croniter:
        return croniter(self.expression, start, ret_type=datetime, is_prev=backwards,
                        second_at_beginning=self.with_seconds, max_years_between_matches=_MAX_YEARS)

    def _check(self) -> None:
        try:
            if not croniter.is_valid(self.expression, second_at_beginning=self.with_seconds):
                raise CronError(f"invalid cron expression `{self.text}`")
            self._iter(datetime(2000, 1, 1)).get_next(datetime)
        except CronError:
            raise
        except CroniterBadDateError:
            raise CronError(f"cron `{self.text}` never fires") from None
        except (CroniterBadCronError, ValueError, KeyError) as exc:
            raise CronError(f"invalid cron expression `{self.text}`: {exc}") from None

    @property
    def _repeats_in_fold(self) -> bool:
        hour = self.expression.split()[2 if self.with_seconds else 1]
        return hour.startswith("*")

    def _instants(self, wall: datetime) -> list[datetime]:
        first = wall.replace(tzinfo=self.zone, fold=0)
        instants = [first.astimezone(UTC)]
        if self._repeats_in_fold:
            second = wall.replace(tzinfo=self.zone, fold=1)
            off0, off1 = first.utcoffset(), second.utcoffset()
            if off0 is not None and off1 is not None and off0 > off1:  # an ambiguous (repeated) wall time
                instants.append(second.astimezone(UTC))
        return instants

    def _wall(self, moment: datetime) -> datetime:
        return moment.astimezone(self.zone).replace(tzinfo=None)

    def occurrences(self, after: datetime, until: datetime | None = None) -> Iterator[datetime]:
        """Instants (UTC) with after < t <= until, in order, each once."""
        walls = self._iter(self._wall(after) - _DST_MARGIN)
        pending: list[datetime] = []
        last: datetime | None = None
        while True:
            try:
                wall = walls.get_next(datetime)
            except CroniterBadDateError:
                wall = None
            floor = self._instants(wall)[0] if wall is not None else None
            while pending and (floor is None or pending[0] <= floor):
                moment = heapq.heappop(pending)
                if until is not None and moment > until:
                    return
                if moment > after and (last is None or moment > last):
                    last = moment
                    yield moment
            if wall is None:
                return
            for moment in self._instants(wall):
                heapq.heappush(pending, moment)

    def next_after(self, moment: datetime) -> datetime | None:
        return self._neighbour(moment, forward=True) or next(self.occurrences(moment), None)

    def previous_before(self, moment: datetime) -> datetime | None:
        """The latest occurrence strictly before `moment`."""
        return self._neighbour(moment, forward=False) or self._previous_by_walking(moment)

    def _neighbour(self, moment: datetime, forward: bool) -> datetime | None:
        """The next (previous) occurrence from one croniter step, when no UTC-offset change lies near: None
        when the walk over the DST margin is needed (an offset change within it, or a neighbour farther away).

        Without this, each call walked the margin (3 h: ~180 steps for a minutely cron, ~25 ms), and a
        backfill computes `trigger.next` and `trigger.previous` for every date.
        """
        start, stepper = self._wall(moment), self._stepper()
        try:
            found = self._instants(stepper.get_next(datetime, start_time=start) if forward
                                   else stepper.get_prev(datetime, start_time=start))
        except CroniterBadDateError:
            return None
        instant = found[0]
        if len(found) != 1 or (instant <= moment if forward else instant >= moment) \
                or abs(instant - moment) > _DST_MARGIN:
            return None
        low, high = min(instant, moment) - _DST_MARGIN, max(instant, moment) + _DST_MARGIN
        return instant if low.astimezone(self.zone).utcoffset() == high.astimezone(self.zone).utcoffset() else None

    def _stepper(self) -> croniter:
        """This thread's croniter of the expression (building one parses it: ~0.3 ms), restarted per step."""
        steppers: dict[Cron, croniter] = _STEPPERS.__dict__.setdefault("by_cron", {})
        stepper = steppers.get(self)
        if stepper is None:
            stepper = steppers[self] = self._iter(datetime(2000, 1, 1))
        return stepper

    def _previous_by_walking(self, moment: datetime) -> datetime | None:
        walls = self._iter(self._wall(moment) + _DST_MARGIN, backwards=True)
        best: datetime | None = None
        while True:
            try:
                wall = walls.get_prev(datetime)
            except CroniterBadDateError:
                return best
            instants = [t for t in self._instants(wall) if t < moment]
            if instants:
                best = max(best or instants[-1], instants[-1])
            if best is not None and self._instants(wall)[0] + _DST_MARGIN < best:
                return best

    def is_occurrence(self, moment: datetime) -> bool:
        return self.next_after(moment - timedelta(seconds=1)) == moment.astimezone(UTC).replace(microsecond=0)
