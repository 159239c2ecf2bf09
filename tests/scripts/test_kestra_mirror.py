"""The `kestra` lib mirror (flowrun/scripts/kestra_lib.py `_mirror`): whole directories where they hold nothing
else, single files where a directory is shared or holds a file that must stay out."""

from __future__ import annotations

import os
from importlib import metadata
from pathlib import Path

from flowrun.scripts import kestra_lib


def _install(site: Path, name: str, files: dict[str, str]) -> metadata.Distribution:
    """A real installed distribution: its files, and a dist-info with METADATA and RECORD listing them."""
    info = f"{name}-1.0.dist-info"
    for rel, text in files.items():
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_text(text)
    (site / info).mkdir()
    (site / info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    record = [*files, f"{info}/METADATA", f"{info}/RECORD"]
    (site / info / "RECORD").write_text("".join(f"{rel},,\n" for rel in record))
    return metadata.PathDistribution(site / info)


def test_an_own_directory_is_one_link_and_every_file_is_reachable(tmp_path: Path) -> None:
    site, lib = tmp_path / "site", tmp_path / "lib"
    dist = _install(site, "solo", {"solo/__init__.py": "X = 1\n", "solo/sub/mod.py": "Y = 2\n", "solo.py": ""})
    (site / "solo" / "__pycache__").mkdir()
    (site / "solo" / "__pycache__" / "mod.cpython-311.pyc").write_bytes(b"")  # bytecode does not count

    kestra_lib._mirror(dist, lib)

    assert (lib / "solo").is_symlink() and os.path.realpath(lib / "solo") == str((site / "solo").resolve())
    assert (lib / "solo" / "sub" / "mod.py").read_text() == "Y = 2\n"
    assert (lib / "solo.py").is_symlink() and (lib / "solo-1.0.dist-info" / "METADATA").is_file()


def test_a_shared_directory_is_mirrored_file_by_file_and_keeps_the_other_files_out(tmp_path: Path) -> None:
    site, lib = tmp_path / "site", tmp_path / "lib"
    dist = _install(site, "ours", {"space/ours/__init__.py": "", "space/ours/core.py": ""})
    _install(site, "theirs", {"space/theirs/__init__.py": ""})  # same namespace dir, not in the closure
    (site / "space" / "ours" / "_speedups.so").write_bytes(b"")  # untagged extension: never mirrored

    kestra_lib._mirror(dist, lib)

    assert not (lib / "space").is_symlink()
    assert (lib / "space" / "ours" / "core.py").is_symlink()
    assert not (lib / "space" / "theirs").exists()
    assert not (lib / "space" / "ours" / "_speedups.so").exists()
