"""GCS objects as Kestra's `Blob` output maps, listing with Kestra's filters, and a cancellable upload stream."""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Iterator
from typing import IO, Any

from flowrun.errors import TaskKilled
from flowrun.gcp.uris import GcsPath, object_uri


def _iso(value: Any) -> str | None:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    return None


def blob_output(blob: Any) -> dict[str, Any]:
    """Kestra's `Blob` model of a google.cloud.storage Blob (null fields left out)."""
    out = {
        "uri": object_uri(blob.bucket.name, blob.name),
        "bucket": blob.bucket.name,
        "name": blob.name,
        "generatedId": blob.id,
        "selfLink": blob.self_link,
        "cacheControl": blob.cache_control,
        "size": blob.size,
        "etag": blob.etag,
        "md5": blob.md5_hash,
        "crc32c": blob.crc32c,
        "customTime": _iso(blob.custom_time),
        "mediaLink": blob.media_link,
        "metadata": blob.metadata,
        "metaGeneration": blob.metageneration,
        "deleteTime": _iso(blob.time_deleted),
        "updateTime": _iso(blob.updated),
        "createTime": _iso(blob.time_created),
        "contentType": blob.content_type,
        "contentEncoding": blob.content_encoding,
        "contentDisposition": blob.content_disposition,
        "contentLanguage": blob.content_language,
        "componentCount": blob.component_count,
        "isDirectory": False,
        "kmsKeyName": blob.kms_key_name,
        "eventBasedHold": blob.event_based_hold,
        "temporaryHold": blob.temporary_hold,
    }
    return {k: v for k, v in out.items() if v is not None}


def directory_output(bucket: str, prefix: str) -> dict[str, Any]:
    """A "directory" entry (a common prefix of a DIRECTORY listing), as the Java client reports it."""
    return {"uri": object_uri(bucket, prefix), "bucket": bucket, "name": prefix, "size": 0, "isDirectory": True}


def list_entries(client: Any, where: GcsPath, listing_type: str, all_versions: bool,
                 include_files: bool, include_dirs: bool, reg_exp: str | None) -> Iterator[tuple[Any, dict[str, Any]]]:
    """(blob or None, output map) for each object/prefix under `where`, filtered like Kestra's List."""
    pattern = re.compile(reg_exp) if reg_exp else None
    delimiter = "/" if listing_type == "DIRECTORY" else None
    pages = client.list_blobs(where.bucket, prefix=where.name or None, delimiter=delimiter, versions=all_versions)
    for page in pages.pages:
        if include_files:
            for blob in page:
                out = blob_output(blob)
                if pattern is None or pattern.fullmatch(out["uri"]):
                    yield blob, out
        if include_dirs:
            for prefix in sorted(page.prefixes):
                out = directory_output(where.bucket, prefix)
                if pattern is None or pattern.fullmatch(out["uri"]):
                    yield None, out


class CancellableReader:
    """A read-only file wrapper that stops an upload when `cancel` is set, and counts the bytes read."""

    def __init__(self, handle: IO[bytes], cancel: threading.Event) -> None:
        self.handle = handle
        self.cancel = cancel

    def read(self, size: int = -1) -> bytes:
        if self.cancel.is_set():
            raise TaskKilled("upload interrupted")
        return self.handle.read(size)

    def tell(self) -> int:
        return self.handle.tell()

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.handle.seek(offset, whence)

    def seekable(self) -> bool:
        return True

    def close(self) -> None:
        self.handle.close()
