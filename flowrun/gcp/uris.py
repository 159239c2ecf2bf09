"""Parsing of `gs://bucket/path` URIs, with errors that name the property and show the expected shape."""

from __future__ import annotations

import re
from dataclasses import dataclass

from flowrun.errors import TaskError

_BUCKET = re.compile(r"[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]\Z")


class GcsUriError(TaskError):
    """A malformed gs:// URI; the message is one line, ready for the user."""


@dataclass(frozen=True)
class GcsPath:
    """A bucket and an object name (or prefix; may be empty)."""

    bucket: str
    name: str

    @property
    def uri(self) -> str:
        return f"gs://{self.bucket}/{self.name}"


def parse_gs_uri(value: object, prop: str, need_object: bool = True) -> GcsPath:
    """Split `gs://bucket/name`. Kestra writes spaces in names as `+`: they are turned back into spaces."""
    text = str(value or "").strip()
    example = "gs://my-bucket/dir/file.csv" if need_object else "gs://my-bucket/dir/"
    if not text.startswith("gs://"):
        raise GcsUriError(f"`{prop}` must be a gs:// URI like {example}, got {text!r}")
    bucket, _, name = text[len("gs://"):].partition("/")
    if not bucket:
        raise GcsUriError(f"`{prop}` has no bucket name: {text!r} (expected {example})")
    if not _BUCKET.match(bucket):
        raise GcsUriError(f"`{prop}` has an invalid bucket name {bucket!r}: use 3-222 lowercase letters, digits, "
                          "'-', '_' or '.', starting and ending with a letter or digit")
    if need_object and (not name or name.endswith("/")):
        raise GcsUriError(f"`{prop}` names no object: {text!r} (expected {example})")
    return GcsPath(bucket, name.replace("+", " "))


def object_uri(bucket: str, name: str) -> str:
    """The gs:// URI Kestra reports for an object (spaces written as `+`)."""
    return f"gs://{bucket}/{name.replace(' ', '+')}"
