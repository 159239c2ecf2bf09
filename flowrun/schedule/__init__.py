"""Schedules: cron occurrences, conditions, exactly-once claims, tick, backfill and Flow triggers."""
