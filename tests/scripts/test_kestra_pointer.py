"""The `kestra` shim's location is remembered per installation (flowrun/scripts/kestra_lib.py `_locate`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowrun.scripts import kestra_lib


def test_the_shim_is_found_again_without_reading_metadata(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = kestra_lib._locate(tmp_path)
    assert first is not None and (first / "kestra.py").is_file()

    def no_metadata(root: str = "kestra") -> list[object]:
        raise AssertionError("the distributions were read again")

    monkeypatch.setattr(kestra_lib, "closure", no_metadata)
    assert kestra_lib._locate(tmp_path) == first


def test_another_installation_or_a_missing_shim_reads_the_metadata_again(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    first = kestra_lib._locate(tmp_path)
    assert first is not None
    calls: list[str] = []
    real = kestra_lib.closure

    def counting(root: str = "kestra") -> list[object]:
        calls.append(root)
        return real(root)  # type: ignore[return-value]

    monkeypatch.setattr(kestra_lib, "closure", counting)
    monkeypatch.setattr(kestra_lib, "_installation_key", lambda: "another installation")
    assert kestra_lib._locate(tmp_path) == first
    (first / "kestra.py").unlink()
    kestra_lib._locate(tmp_path)
    assert len(calls) == 2
    (tmp_path / "pylib" / "current").write_bytes(b"\xff\xfe garbage")
    kestra_lib._locate(tmp_path)
    assert len(calls) == 3
