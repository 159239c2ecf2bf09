"""Kestra's io.kestra.plugin.gcp.gcs tasks (Upload, Download(s), List, Delete(List), Copy, CreateBucket)."""

from __future__ import annotations

import os
import posixpath
import uuid
from typing import Any

from flowrun.errors import FlowrunError, TaskError, TaskKilled
from flowrun.gcp import blobs, clients
from flowrun.gcp.errors import api_error
from flowrun.gcp.task import GcpTask
from flowrun.gcp.uris import GcsPath, GcsUriError, object_uri, parse_gs_uri
from flowrun.model.lite import Field
from flowrun.tasks.base import RunContext

LISTING_TYPES = ("DIRECTORY", "RECURSIVE")


class _Gcs(GcpTask):
    """Shared helpers of the GCS tasks: a client, gs:// parsing and error mapping."""

    def client(self, ctx: RunContext) -> Any:
        return clients.storage_client(self.authenticate(ctx), self.endpoint(ctx))

    def gs(self, ctx: RunContext, value: Any, prop: str, need_object: bool = True) -> GcsPath:
        try:
            return parse_gs_uri(self.text(ctx, value), prop, need_object)
        except GcsUriError as exc:
            raise TaskError(f"task `{self.id}`: {exc}") from None

    def failed(self, client: Any, action: str, where: GcsPath, exc: Exception) -> TaskError:
        """An API error, saying plainly when the bucket itself does not exist."""
        if getattr(exc, "code", None) == 404 or getattr(getattr(exc, "response", None), "status_code", 0) == 404:
            try:
                missing = client.lookup_bucket(where.bucket) is None
            except Exception:  # noqa: BLE001 - the original error is the one to report
                missing = False
            if missing:
                return TaskError(f"task `{self.id}`: {action} {where.uri} failed: bucket `{where.bucket}` does not "
                                 "exist (404 notFound)", evidence={"resource": where.uri, "status": 404,
                                                                   "reason": "bucket not found"})
        return api_error(self.id, action, where.uri, exc)


class Upload(_Gcs):
    """Upload a file from internal storage (`from`, a kestra:// URI) to `to` (gs://bucket/path). Output: `uri`.

    Large files go up as resumable uploads in 100 MB chunks, streamed from the stored file.
    """

    from_: str = Field(alias="from")
    to: str
    content_type: str | None = None
    content_encoding: str | None = None
    content_disposition: str | None = None
    cache_control: str | None = None

    def run(self, ctx: RunContext) -> dict[str, Any]:
        source = self.text(ctx, self.from_) or ""
        try:
            local = ctx.storage.local_path(source)
        except FlowrunError as exc:
            raise TaskError(f"task `{self.id}`: `from` {exc.message}") from None
        dest = self.gs(ctx, self.to, "to")
        client = self.client(ctx)
        blob = client.bucket(dest.bucket).blob(dest.name, chunk_size=clients.UPLOAD_CHUNK)
        for attr, value in (("content_encoding", self.content_encoding), ("cache_control", self.cache_control),
                            ("content_disposition", self.content_disposition)):
            if value is not None:
                setattr(blob, attr, self.text(ctx, value))
        size = os.path.getsize(local)
        ctx.logger.debug(f"Upload from '{source}' to '{dest.uri}' ({size} bytes)")
        try:
            with open(local, "rb") as handle:
                blob.upload_from_file(blobs.CancellableReader(handle, ctx.cancel), size=size,
                                      content_type=self.text(ctx, self.content_type))
        except Exception as exc:
            if isinstance(exc, TaskError | TaskKilled):
                raise
            raise self.failed(client, "upload to", dest, exc) from None
        ctx.metric("file.size", "counter", size)
        return {"uri": object_uri(dest.bucket, dest.name)}


class Download(_Gcs):
    """Download one object (`from`, gs://) into internal storage. Outputs: `bucket`, `path`, `uri` (kestra://)."""

    from_: str = Field(alias="from")

    def run(self, ctx: RunContext) -> dict[str, Any]:
        source = self.gs(ctx, self.from_, "from")
        client = self.client(ctx)
        uri = _download(self, ctx, client, source)
        return {"bucket": source.bucket, "path": source.name, "uri": uri}


def _download(task: _Gcs, ctx: RunContext, client: Any, source: GcsPath) -> str:
    try:
        blob = client.bucket(source.bucket).get_blob(source.name)
    except Exception as exc:
        raise task.failed(client, "download of", source, exc) from None
    if blob is None:
        raise TaskError(f"task `{task.id}`: download of {source.uri} failed: no object `{source.name}` in bucket "
                        f"`{source.bucket}`", evidence={"resource": source.uri, "status": 404})
    name = posixpath.basename(source.name) or "object"
    path, uri = ctx.storage.new_file(f"{uuid.uuid4().hex[:8]}-{name}")
    try:
        blob.download_to_filename(str(path))
    except Exception as exc:
        raise task.failed(client, "download of", source, exc) from None
    return uri


class _Listing(_Gcs):
    """Kestra's `AbstractList` properties."""

    from_: str = Field(alias="from")
    all_versions: Any = None
    listing_type: str | None = None
    reg_exp: str | None = None

    def entries(self, ctx: RunContext, client: Any, files: bool, dirs: bool) -> list[tuple[Any, dict[str, Any]]]:
        where = self.gs(ctx, self.from_, "from", need_object=False)
        listing = self.choice(ctx, self.listing_type, "listingType", LISTING_TYPES, "DIRECTORY")
        try:
            return list(blobs.list_entries(client, where, listing, self.flag(ctx, self.all_versions, "allVersions"),
                                           files, dirs, self.text(ctx, self.reg_exp)))
        except Exception as exc:
            if isinstance(exc, TaskError):
                raise
            raise self.failed(client, "listing of", where, exc) from None


class List(_Listing):
    """List objects under a gs:// prefix. `filter`: FILES, DIRECTORY or BOTH (default). Output: `blobs`."""

    filter: str | None = None
    max_files: Any = None

    def run(self, ctx: RunContext) -> dict[str, Any]:
        which = self.choice(ctx, self.filter, "filter", ("FILES", "DIRECTORY", "BOTH"), "BOTH")
        client = self.client(ctx)
        found = [out for _, out in self.entries(ctx, client, which != "DIRECTORY", which != "FILES")]
        limit = self.integer(ctx, self.max_files, "maxFiles")
        if limit is not None and len(found) > limit:
            ctx.logger.warn(f"{len(found)} objects found, more than maxFiles={limit}: keeping the first {limit}")
            found = found[:limit]
        ctx.metric("size", "counter", len(found))
        return {"blobs": found}


class Downloads(_Listing):
    """Download every file under a gs:// prefix; then `action` NONE, MOVE (to `moveDirectory`) or DELETE them.

    Outputs: `blobs` (each `uri` now the kestra:// copy) and `outputFiles` (object name -> kestra:// URI).
    """

    action: str | None = None
    move_directory: str | None = None
    max_files: Any = 25

    def run(self, ctx: RunContext) -> dict[str, Any]:
        action = self.choice(ctx, self.action, "action", ("NONE", "MOVE", "DELETE"), "NONE")
        move_to = self.gs(ctx, self.move_directory, "moveDirectory", need_object=False) if action == "MOVE" else None
        client = self.client(ctx)
        found = [(b, out) for b, out in self.entries(ctx, client, True, False)]
        limit = self.integer(ctx, self.max_files, "maxFiles")
        if limit is not None and len(found) > limit:
            ctx.logger.warn(f"{len(found)} files found, more than maxFiles={limit}: downloading the first {limit}")
            found = found[:limit]
        outputs, files = [], {}
        for blob, out in found:
            uri = _download(self, ctx, client, GcsPath(blob.bucket.name, blob.name))
            outputs.append({**out, "uri": uri})
            files[blob.name] = uri
        for blob, _ in found:
            source = GcsPath(blob.bucket.name, blob.name)
            try:
                if move_to is not None:
                    target = move_to.name.rstrip("/") + "/" + posixpath.basename(blob.name)
                    blob.bucket.copy_blob(blob, client.bucket(move_to.bucket), target.lstrip("/"))
                if action in ("MOVE", "DELETE"):
                    blob.delete()
            except Exception as exc:
                raise self.failed(client, f"{action.lower()} of", source, exc) from None
        return {"blobs": outputs, "outputFiles": files}


class Delete(_Gcs):
    """Delete one object (`uri`, gs://). `errorOnMissing` (false) fails when it does not exist.

    Outputs: `uri`, `deleted`.
    """

    uri: str
    error_on_missing: Any = False

    def run(self, ctx: RunContext) -> dict[str, Any]:
        target = self.gs(ctx, self.uri, "uri")
        client = self.client(ctx)
        deleted = True
        try:
            client.bucket(target.bucket).blob(target.name).delete()
        except Exception as exc:
            if getattr(exc, "code", None) != 404:
                raise self.failed(client, "delete of", target, exc) from None
            deleted = False
        if not deleted and self.flag(ctx, self.error_on_missing, "errorOnMissing"):
            raise TaskError(f"task `{self.id}`: delete of {target.uri} failed: no such object",
                            evidence={"resource": target.uri, "status": 404})
        return {"uri": object_uri(target.bucket, target.name), "deleted": deleted}


class DeleteList(_Listing):
    """Delete every file under a gs:// prefix (optionally filtered by `regExp`). Outputs: `count`, `size`."""

    error_on_empty: Any = False
    concurrent: Any = None

    def run(self, ctx: RunContext) -> dict[str, Any]:
        client = self.client(ctx)
        count = size = 0
        for blob, out in self.entries(ctx, client, True, False):
            try:
                blob.delete()
            except Exception as exc:
                if getattr(exc, "code", None) == 404:
                    continue
                raise self.failed(client, "delete of", GcsPath(blob.bucket.name, blob.name), exc) from None
            count += 1
            size += int(out.get("size") or 0)
        if count == 0 and self.flag(ctx, self.error_on_empty, "errorOnEmpty"):
            raise TaskError(f"task `{self.id}`: no files to delete under {self.text(ctx, self.from_)}")
        ctx.logger.info(f"Deleted {count} files for {size} bytes")
        ctx.metric("count", "counter", count)
        ctx.metric("size", "counter", size)
        return {"count": count, "size": size}


class Copy(_Gcs):
    """Copy an object from `from` to `to` (both gs://); `delete: true` removes the source (a move). Output: `uri`."""

    from_: str = Field(alias="from")
    to: str
    delete: Any = False

    def run(self, ctx: RunContext) -> dict[str, Any]:
        source = self.gs(ctx, self.from_, "from")
        dest = self.gs(ctx, self.to, "to")
        if source == dest:
            raise TaskError(f"task `{self.id}`: cannot copy {source.uri} onto itself")
        client = self.client(ctx)
        try:
            bucket = client.bucket(source.bucket)
            copied = bucket.copy_blob(bucket.blob(source.name), client.bucket(dest.bucket), dest.name)
        except Exception as exc:
            raise self.failed(client, "copy of", source, exc) from None
        if copied.size is not None:
            ctx.metric("file.size", "counter", copied.size)
        if self.flag(ctx, self.delete, "delete"):
            try:
                client.bucket(source.bucket).blob(source.name).delete()
            except Exception as exc:
                raise self.failed(client, "delete of", source, exc) from None
        return {"uri": f"gs://{dest.bucket}/{dest.name}"}


class CreateBucket(_Gcs):
    """Create a bucket `name`; `ifExists`: ERROR (default), UPDATE or SKIP. Outputs: `bucket`, `created`, `updated`."""

    name: str
    if_exists: str | None = None
    location: str | None = None
    storage_class: str | None = None
    labels: Any = None
    versioning_enabled: Any = None
    requester_pays: Any = None
    index_page: str | None = None
    not_found_page: str | None = None
    default_kms_key_name: str | None = None
    default_event_based_hold: Any = None
    retention_period: Any = None
    lifecycle_rules: Any = None
    cors: Any = None
    acl: Any = None
    default_acl: Any = None
    iam_configuration: Any = None
    logging: Any = None

    def run(self, ctx: RunContext) -> dict[str, Any]:
        if_exists = self.choice(ctx, self.if_exists, "ifExists", ("ERROR", "UPDATE", "SKIP"), "ERROR")
        name = self.text(ctx, self.name) or ""
        where = self.gs(ctx, f"gs://{name}/", "name", need_object=False)
        client = self.client(ctx)
        try:
            existing = client.lookup_bucket(name)
            if existing is None:
                bucket = self._configure(ctx, client.bucket(name))
                created = client.create_bucket(bucket, location=self.text(ctx, self.location))
                ctx.logger.info(f"Created bucket {name}")
                return {"bucket": _bucket_output(created), "created": True, "updated": False}
            if if_exists == "ERROR":
                raise TaskError(f"task `{self.id}`: bucket `{name}` already exists and ifExists is ERROR "
                                "(use ifExists: SKIP or UPDATE)", evidence={"resource": where.uri})
            if if_exists == "SKIP":
                ctx.logger.info(f"Bucket {name} already exists, skipping")
                return {"bucket": _bucket_output(existing), "created": False, "updated": False}
            bucket = self._configure(ctx, existing)
            bucket.patch()
            ctx.logger.info(f"Updated bucket {name}")
            return {"bucket": _bucket_output(bucket), "created": False, "updated": True}
        except TaskError:
            raise
        except Exception as exc:
            raise api_error(self.id, "creation of bucket", f"`{name}`", exc) from None

    def _configure(self, ctx: RunContext, bucket: Any) -> Any:
        if self.storage_class is not None:
            bucket.storage_class = (self.text(ctx, self.storage_class) or "").upper()
        if self.labels is not None:
            bucket.labels = {str(k): str(v) for k, v in (ctx.render(self.labels) or {}).items()}
        if self.versioning_enabled is not None:
            bucket.versioning_enabled = self.flag(ctx, self.versioning_enabled, "versioningEnabled")
        if self.requester_pays is not None:
            bucket.requester_pays = self.flag(ctx, self.requester_pays, "requesterPays")
        if self.index_page is not None or self.not_found_page is not None:
            bucket.configure_website(self.text(ctx, self.index_page), self.text(ctx, self.not_found_page))
        if self.default_kms_key_name is not None:
            bucket.default_kms_key_name = self.text(ctx, self.default_kms_key_name)
        if self.default_event_based_hold is not None:
            bucket.default_event_based_hold = self.flag(ctx, self.default_event_based_hold, "defaultEventBasedHold")
        if self.retention_period is not None:
            bucket.retention_period = self.integer(ctx, self.retention_period, "retentionPeriod")
        if self.cors is not None:
            bucket.cors = ctx.render_typed(self.cors)
        ignored = [n for n in ("lifecycle_rules", "acl", "default_acl", "iam_configuration", "logging")
                   if getattr(self, n) is not None]
        if ignored:
            ctx.logger.warn(f"not applied by flowrun yet: {', '.join(ignored)}")
        return bucket


def _bucket_output(bucket: Any) -> dict[str, Any]:
    """Kestra's `Bucket` model."""
    out = {"name": bucket.name, "uri": f"gs://{bucket.name}", "location": bucket.location,
           "indexPage": (bucket._properties.get("website") or {}).get("mainPageSuffix"),
           "notFoundPage": (bucket._properties.get("website") or {}).get("notFoundPage")}
    return {k: v for k, v in out.items() if v is not None}
