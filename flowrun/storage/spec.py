"""Parsing a `storage:` setting: a shared directory, or `gs://bucket/prefix`."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from flowrun.errors import UsageError


class StorageSpec(NamedTuple):
    """A parsed `storage:` value: a directory, or a bucket and prefix."""

    path: Path | None = None
    bucket: str | None = None
    prefix: str = ""


def parse_storage(value: str, base: Path, source: str) -> StorageSpec:
    """`gs://bucket[/prefix]` or a directory (`~` expanded, relative to `base`); `source` names the setting."""
    from flowrun.gcp.uris import GcsUriError, parse_gs_uri

    text = value.strip()
    if text.startswith("gs://"):
        try:
            where = parse_gs_uri(text, source, need_object=False)
        except GcsUriError as exc:
            raise UsageError(str(exc), hint="write it as gs://bucket/prefix") from None
        return StorageSpec(bucket=where.bucket, prefix=where.name.strip("/"))
    if not text or "://" in text:
        raise UsageError(f"{source} must be gs://bucket/prefix or a directory, got {value!r}",
                         hint="for example `storage: gs://my-bucket/flowrun` or `storage: /mnt/shared/flowrun`")
    path = Path(text).expanduser()
    return StorageSpec(path=path if path.is_absolute() else base / path)
