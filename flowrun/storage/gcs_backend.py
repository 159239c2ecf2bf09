"""The GCS storage backend: keys are objects `<prefix>/<key>` of one bucket (google-cloud-storage, imported here)."""

from __future__ import annotations

import base64
import builtins
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from flowrun.storage.backend import MissingFile, StorageError, clean_key, write_atomically

T = TypeVar("T")


class GcsBackend:
    """Files in `gs://<bucket>/<prefix>/`; `endpoint` is the storage emulator's URL (None: Google Cloud itself)."""

    def __init__(self, bucket: str, prefix: str, endpoint: str | None = None) -> None:
        self.bucket_name = bucket
        self.prefix = clean_key(prefix, f"storage prefix `{prefix}`")
        self.endpoint = endpoint
        self.location = f"gs://{bucket}/{self.prefix}".rstrip("/")
        self._threads = threading.local()  # one client per thread: a client's HTTP session is not shared

    def child(self, name: str) -> GcsBackend:
        """The same bucket, one prefix level down (e.g. `namespace_files`)."""
        return GcsBackend(self.bucket_name, f"{self.prefix}/{name}", self.endpoint)

    # -- plumbing ----------------------------------------------------------------------------------

    def _client_bucket(self) -> Any:
        bucket = getattr(self._threads, "bucket", None)
        if bucket is None:
            bucket = self._threads.bucket = _open_bucket(self.bucket_name, self.endpoint, self.location)
        return bucket

    def _blob(self, key: str, **options: Any) -> Any:
        name = self._name(key)  # checked before any connection
        return self._client_bucket().blob(name, **options)

    def _name(self, key: str) -> str:
        if clean_key(key, f"`{key}`") != key:
            raise StorageError(f"`{key}` is not a clean storage key", hint="this is a flowrun bug: report it")
        return f"{self.prefix}/{key}" if self.prefix else key

    def _key(self, name: str) -> str:
        return name[len(self.prefix) + 1:] if self.prefix else name

    def _call(self, action: str, key: str, call: Callable[[], T]) -> T:
        """Run one API call, turning a Google or network failure into a StorageError naming the file."""
        from flowrun.gcp.errors import api_failures, describe

        try:
            return call()
        except api_failures() as exc:
            code, reason, message = describe(exc)
            if code == 404 and action in ("upload", "list"):
                raise StorageError(f"internal storage {self.location}: bucket `{self.bucket_name}` does not exist",
                                   hint=f"create it (gcloud storage buckets create gs://{self.bucket_name}) or "
                                        "fix `storage:` in flowrun.yaml / FLOWRUN_STORAGE") from None
            if code == 404:
                raise MissingFile(f"file `{key}` does not exist in {self.location}",
                                   hint="it may have been purged, or the bucket does not exist") from None
            tail = " ".join(str(p) for p in (code, reason) if p)
            raise StorageError(f"internal storage {self.location}: cannot {action} `{key}`: {message}"
                               + (f" ({tail})" if tail else ""),
                               hint="check the bucket, the credentials and the network (or the emulator)") from None

    def _blobs(self, prefix: str) -> list[Any]:
        name = self._name(prefix) + "/" if prefix else (self.prefix + "/" if self.prefix else "")
        bucket = self._client_bucket()
        return self._call("list", prefix or "/", lambda: list(bucket.client.list_blobs(bucket, prefix=name)))

    # -- the protocol ------------------------------------------------------------------------------

    def local_file(self, key: str) -> Path | None:
        return None

    def put(self, key: str, source: Path | bytes) -> None:
        from flowrun.gcp.clients import UPLOAD_CHUNK

        blob = self._blob(key, chunk_size=UPLOAD_CHUNK)
        if isinstance(source, bytes):
            self._call("upload", key, lambda: blob.upload_from_string(source))
        else:
            self._call("upload", key, lambda: blob.upload_from_filename(str(source)))

    def get(self, key: str, dest: Path) -> None:
        blob = self._blob(key)
        write_atomically(dest, lambda tmp: self._call("download", key, lambda: blob.download_to_filename(str(tmp))))

    def open(self, key: str) -> BinaryIO:
        blob = self._blob(key)
        self._call("open", key, blob.reload)  # a missing file fails here, not on the first read
        reader: BinaryIO = self._call("open", key, lambda: blob.open("rb"))
        return reader

    def list(self, prefix: str) -> list[str]:
        return sorted(self._key(blob.name) for blob in self._blobs(prefix))

    def md5s(self, prefix: str) -> dict[str, str]:
        return {self._key(blob.name): base64.b64decode(blob.md5_hash).hex() if blob.md5_hash else ""
                for blob in self._blobs(prefix)}

    def exists(self, key: str) -> bool:
        blob = self._blob(key)
        return bool(self._call("look up", key, blob.exists))

    def size(self, key: str) -> int | None:
        name = self._name(key)
        bucket = self._client_bucket()
        blob = self._call("look up", key, lambda: bucket.get_blob(name))
        return None if blob is None else int(blob.size or 0)

    def delete(self, key: str) -> bool:
        blob = self._blob(key)
        try:
            self._call("delete", key, blob.delete)
        except MissingFile:
            return False
        return True

    def delete_prefix(self, prefix: str) -> builtins.list[str]:
        keys = [self._key(blob.name) for blob in self._blobs(prefix)]
        return sorted(key for key in keys if self.delete(key))


def _open_bucket(bucket: str, endpoint: str | None, location: str) -> Any:
    """The bucket handle of a client pointed at `endpoint` (anonymous) or at Google Cloud (ADC)."""
    from flowrun.gcp import auth, clients

    if endpoint:
        unreachable = clients.check_reachable("storage", endpoint)
        if unreachable:
            raise StorageError(f"internal storage {location}: {unreachable}")
    try:
        credentials = auth.resolve(None, None, None, None, emulated=bool(endpoint))
    except auth.CredentialsError as exc:
        raise StorageError(f"internal storage {location}: {exc}",
                           hint="run `gcloud auth application-default login` or set "
                                "GOOGLE_APPLICATION_CREDENTIALS") from None
    return clients.storage_client(credentials, endpoint).bucket(bucket)
