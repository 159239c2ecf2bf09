"""Every trigger and condition type that the schedules issue names is registered and has a test."""

from __future__ import annotations

import importlib

from flowrun.model.triggers import TRIGGERS
from flowrun.schedule.conditions import SCHEDULE_CONDITIONS, condition_class

TRIGGER_TYPES = ("Schedule", "ScheduleOnDates", "Flow")
CONDITION_TYPES = ("DayWeek", "DayWeekInMonth", "Weekend", "DateTimeBetween", "TimeBetween", "Not", "Or", "Expression")
TEST_MODULES = ("test_schedule_cron", "test_schedule_conditions", "test_schedule_tick", "test_schedule_backfill",
                "test_schedule_flow_trigger")


def _covered() -> set[str]:
    names: set[str] = set()
    for module_name in TEST_MODULES:
        module = importlib.import_module(module_name)
        for name, value in vars(module).items():
            if name.startswith("test_") and callable(value):
                names.update(getattr(value, "covers", ()))
    return names


def test_every_named_type_is_registered() -> None:
    for name in TRIGGER_TYPES:
        assert f"io.kestra.plugin.core.trigger.{name}" in TRIGGERS
    for name in CONDITION_TYPES:
        assert condition_class(f"io.kestra.plugin.core.condition.{name}").__name__ == name
        assert name in SCHEDULE_CONDITIONS


def test_every_named_type_and_feature_has_a_test() -> None:
    missing = set(TRIGGER_TYPES + CONDITION_TYPES + ("stopAfter", "DST")) - _covered()
    assert not missing, f"no test covers {sorted(missing)}"
