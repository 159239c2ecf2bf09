"""The KV store on a real SQLite file, and ISO-8601 durations."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from flowrun.crypto import Cipher
from flowrun.durations import DurationError, format_duration, parse_duration
from flowrun.errors import ExitCode
from flowrun.state.db import Database
from flowrun.storage.kv import KVError, KVMissingError, KVNameError, KVStore, KVValueError


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2024, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def kv(tmp_path: Path, clock: Clock) -> KVStore:
    return KVStore(Database(tmp_path / "state.db"), clock=clock)


@pytest.mark.parametrize(("text", "expected"), [
    ("PT15S", timedelta(seconds=15)),
    ("PT1H30M", timedelta(hours=1, minutes=30)),
    ("P1D", timedelta(days=1)),
    ("P2W", timedelta(weeks=2)),
    ("PT0.5S", timedelta(milliseconds=500)),
    ("P1DT2H", timedelta(days=1, hours=2)),
    ("-PT5M", timedelta(minutes=-5)),
])
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "P", "PT", "15S", "P1M", "P1Y", "PT1X", "P1DT"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(DurationError):
        parse_duration(text)


def test_format_duration_like_java() -> None:
    assert format_duration(timedelta(days=1)) == "PT24H"
    assert format_duration(timedelta(hours=1, minutes=30)) == "PT1H30M"
    assert format_duration(timedelta(milliseconds=500)) == "PT0.5S"
    assert format_duration(timedelta(0)) == "PT0S"


@pytest.mark.parametrize(("value", "kv_type", "expected", "stored_type"), [
    ("hello", None, "hello", "STRING"),
    (42, None, 42, "NUMBER"),
    (1.5, None, 1.5, "NUMBER"),
    (True, None, True, "BOOLEAN"),
    ({"a": [1, 2]}, None, {"a": [1, 2]}, "JSON"),
    ([1, "x"], None, [1, "x"], "JSON"),
    ("42", "NUMBER", 42, "NUMBER"),
    ("4.25", "number", 4.25, "NUMBER"),
    ("TRUE", "BOOLEAN", True, "BOOLEAN"),
    ("false", "BOOLEAN", False, "BOOLEAN"),
    ('{"type": "service_account"}', "JSON", {"type": "service_account"}, "JSON"),
    ("2024-01-01T10:00:00Z", "DATETIME", "2024-01-01T10:00:00Z", "DATETIME"),
    ("2024-01-01", "DATE", "2024-01-01", "DATE"),
    ("P1D", "DURATION", "PT24H", "DURATION"),
    ("42", "STRING", "42", "STRING"),
    ({"a": 1}, "STRING", {"a": 1}, "JSON"),  # kvType only converts strings, as in Kestra
    (datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), None, "2024-01-02T03:04:05+00:00", "DATETIME"),
    (date(2024, 1, 2), None, "2024-01-02", "DATE"),
    (timedelta(minutes=5), None, "PT5M", "DURATION"),
])
def test_values_keep_their_type(kv: KVStore, value: object, kv_type: str | None, expected: object,
                                stored_type: str) -> None:
    kv.set("ns", "k", value, kv_type=kv_type)
    assert kv.get("ns", "k") == expected
    assert type(kv.get("ns", "k")) is type(expected)
    assert kv.list("ns")[0]["type"] == stored_type


@pytest.mark.parametrize(("value", "kv_type"), [
    ("abc", "NUMBER"), ("yes", "BOOLEAN"), ("{nope", "JSON"), ("yesterday", "DATETIME"),
    ("5 minutes", "DURATION"), ("x", "BLOB"),
])
def test_bad_conversions(kv: KVStore, value: str, kv_type: str) -> None:
    with pytest.raises(KVValueError, match="`k`") as caught:
        kv.set("ns", "k", value, kv_type=kv_type)
    assert "line 1 column" not in caught.value.message and caught.value.exit_code == ExitCode.INVALID


@pytest.mark.parametrize("key", ["", "-start", ".start", "has space", "slash/key", "ünïcode"])
def test_invalid_keys(kv: KVStore, key: str) -> None:
    with pytest.raises(KVNameError, match=r"invalid KV key .*: keys match \[a-zA-Z0-9\]\[a-zA-Z0-9._-\]\*"):
        kv.set("ns", key, "v")


def test_missing_keys(kv: KVStore) -> None:
    assert kv.get("ns", "nope") is None
    with pytest.raises(KVError, match="key `nope` does not exist in namespace `ns`"):
        kv.get("ns", "nope", error_on_missing=True)


def test_overwrite_false(kv: KVStore) -> None:
    kv.set("ns", "k", "one", overwrite=False)
    with pytest.raises(KVError, match="already exists"):
        kv.set("ns", "k", "two", overwrite=False)
    assert kv.get("ns", "k") == "one"
    kv.set("ns", "k", "two")
    assert kv.get("ns", "k") == "two"


def test_ttl_with_injected_clock(kv: KVStore, clock: Clock) -> None:
    kv.set("ns", "short", "v", ttl="PT1H")
    kv.set("ns", "forever", "v")
    assert kv.list("ns")[1]["expires_at"] == "2024-01-01T01:00:00.000000Z"
    clock.now += timedelta(minutes=59)
    assert kv.get("ns", "short") == "v"
    clock.now += timedelta(minutes=2)
    assert kv.keys("ns") == ["forever"]
    with pytest.raises(KVMissingError, match=r"key `short` does not exist in namespace `ns` \(it expired at "
                                             "2024-01-01T01:00:00"):
        kv.get("ns", "short", error_on_missing=True)
    assert kv.get("ns", "short") is None  # an expired key reads as missing, and is deleted on access
    assert kv.db.query("SELECT key FROM kv WHERE key = 'short'") == []
    kv.set("ns", "short", "again", overwrite=False)  # an expired key does not block overwrite=False


def test_ttl_with_real_time(tmp_path: Path) -> None:
    kv = KVStore(Database(tmp_path / "state.db"))
    kv.set("ns", "k", 1, ttl="PT0.2S")
    assert kv.get("ns", "k") == 1
    time.sleep(0.3)
    assert kv.get("ns", "k") is None and kv.keys("ns") == []


def test_bad_ttl(kv: KVStore) -> None:
    with pytest.raises(KVError, match="invalid ttl"):
        kv.set("ns", "k", "v", ttl="1 hour")


def test_keys_delete_and_namespaces(kv: KVStore, clock: Clock) -> None:
    for key in ["GCP_PROJECT_ID", "GCP_LOCATION", "other"]:
        kv.set("zoomcamp", key, "v")
    kv.set("elsewhere", "GCP_X", "v")
    assert kv.keys("zoomcamp") == ["GCP_LOCATION", "GCP_PROJECT_ID", "other"]
    assert kv.keys("zoomcamp", prefix="GCP_") == ["GCP_LOCATION", "GCP_PROJECT_ID"]
    assert kv.delete("zoomcamp", "other") is True
    assert kv.delete("zoomcamp", "other") is False
    kv.set("zoomcamp", "temp", "v", ttl="PT1S")
    clock.now += timedelta(seconds=2)
    assert kv.delete("zoomcamp", "temp") is False
    assert kv.purge_expired() == 0


def test_state_survives_reopen(tmp_path: Path) -> None:
    KVStore(Database(tmp_path / "state.db")).set("ns", "k", {"a": 1})
    assert KVStore(Database(tmp_path / "state.db")).get("ns", "k") == {"a": 1}


@pytest.mark.parametrize("namespace", ["bad ns!", "Upper", "", ".start", "-start", "ns/x", "a" * 151])
def test_invalid_namespaces(kv: KVStore, namespace: str) -> None:
    calls = [lambda: kv.set(namespace, "k", "v"), lambda: kv.get(namespace, "k"), lambda: kv.list(namespace),
             lambda: kv.delete(namespace, "k"), lambda: kv.keys(namespace), lambda: kv.purge_expired(namespace)]
    for call in calls:
        with pytest.raises(KVNameError, match=r"is not a valid namespace: namespaces match \[a-z0-9\]"):
            call()


@pytest.mark.parametrize("namespace", ["zoomcamp", "company.team", "a_b-c.d", "0", "a" * 150])
def test_valid_namespaces(kv: KVStore, namespace: str) -> None:
    kv.set(namespace, "k", "v")
    assert kv.get(namespace, "k") == "v"


def test_error_kinds_have_their_exit_codes(kv: KVStore) -> None:
    assert issubclass(KVNameError, KVError) and KVNameError.exit_code == ExitCode.USAGE
    assert KVValueError.exit_code == ExitCode.INVALID and KVMissingError.exit_code == ExitCode.FLOW_FAILED
    with pytest.raises(KVMissingError):
        kv.get("ns", "nope", error_on_missing=True)


def test_secret_values_are_encrypted_at_rest(tmp_path: Path) -> None:
    kv = KVStore(Database(tmp_path / "state.db"), Cipher(tmp_path))
    kv.set("ns", "token", "clear-text-token", secret=True)
    kv.set("ns", "conf", '{"password": "clear-json-password"}', kv_type="JSON", secret=True)
    kv.set("ns", "plain", "plain-value")
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("state.db*"))
    assert b"clear-text-token" not in stored and b"clear-json-password" not in stored and b"plain-value" in stored
    assert kv.get("ns", "token") == "clear-text-token"
    assert kv.get("ns", "conf") == {"password": "clear-json-password"}
    entry = kv.entry("ns", "conf")
    assert entry is not None and entry.secret and entry.type == "JSON"
    assert [(e["key"], e["secret"]) for e in kv.list("ns")] == [("conf", True), ("plain", False), ("token", True)]
    assert kv.list("ns", values=True)[2]["value"] == "clear-text-token"
    kv.set("ns", "token", "now-plain")
    assert kv.entry("ns", "token").secret is False  # type: ignore[union-attr]


def test_a_secret_needs_a_cipher(kv: KVStore) -> None:
    with pytest.raises(KVValueError, match="no encryption key"):
        kv.set("ns", "k", "v", secret=True)
