"""Kestra's io.kestra.plugin.gcp.bigquery tasks: Query, datasets, tables, and load/extract jobs."""

from __future__ import annotations

import os
import re
import uuid
from typing import Any

from flowrun.durations import DurationError, parse_duration
from flowrun.errors import FlowrunError, TaskError
from flowrun.gcp import bqmodels, clients
from flowrun.gcp.bqjobs import JobRunner, api_retry
from flowrun.gcp.errors import api_error, api_failures
from flowrun.gcp.task import GcpTask
from flowrun.model.lite import Field
from flowrun.tasks.base import RunContext

IF_EXISTS = ("ERROR", "UPDATE", "SKIP")


def _label(value: str) -> str:
    return re.sub(r"[^a-z0-9_-]", "_", value.replace(".", "_").lower())[:63]


class _Bq(GcpTask):
    """Kestra's `AbstractBigquery`: `location` plus the automatic-retry settings."""

    service = "bigquery"

    location: str | None = None
    retry_auto: Any = None
    retry_reasons: Any = None
    retry_messages: Any = None

    def client(self, ctx: RunContext) -> Any:
        auth = self.authenticate(ctx)
        return clients.bigquery_client(auth, self.endpoint(ctx), self.text(ctx, self.location))

    def runner(self, ctx: RunContext) -> JobRunner:
        return JobRunner(self.id, ctx, self.strings(ctx, self.retry_reasons, "retryReasons"),
                         self.strings(ctx, self.retry_messages, "retryMessages"))

    def http_retry(self, ctx: RunContext) -> Any:
        return api_retry(self.endpoint(ctx) is not None)

    def table_id(self, ctx: RunContext, client: Any, value: Any, prop: str) -> str:
        try:
            return ".".join(bqmodels.table_ref(self.text(ctx, value) or "", client.project, prop))
        except bqmodels.BqPropertyError as exc:
            raise TaskError(f"task `{self.id}`: {exc}") from None

    def job_labels(self, ctx: RunContext, labels: Any) -> dict[str, str]:
        """Kestra's own labels (namespace, flow, execution, task) plus the task's `labels`."""
        out = {"kestra_namespace": _label(ctx.namespace), "kestra_flow_id": _label(ctx.flow_id),
               "kestra_execution_id": _label(ctx.execution_id), "kestra_task_id": _label(ctx.task_id)}
        rendered = ctx.render(labels) if labels is not None else {}
        if not isinstance(rendered, dict):
            raise TaskError(f"task `{self.id}`: `labels` must be a map")
        out.update({str(k): str(v) for k, v in rendered.items()})
        return out


class Query(_Bq):
    """Run a SQL job. Outputs: `jobId`, `destinationTable`, and by `fetchType` `rows`, `row`, `uri`, `size`.

    Every job's id and SQL are logged at INFO. `fetchType`: NONE (default), FETCH, FETCH_ONE or STORE (an Ion file).
    """

    sql: str
    legacy_sql: Any = False
    fetch_type: Any = None
    fetch: Any = False
    fetch_one: Any = False
    store: Any = False
    destination_table: str | None = None
    write_disposition: str | None = None
    create_disposition: str | None = None
    default_dataset: str | None = None
    labels: Any = None
    job_timeout: str | None = None
    priority: str | None = None
    clustering_fields: Any = None
    schema_update_options: Any = None
    time_partitioning_field: str | None = None
    time_partitioning_type: str | None = None
    range_partitioning_field: str | None = None
    range_partitioning_start: Any = None
    range_partitioning_end: Any = None
    range_partitioning_interval: Any = None
    allow_large_results: Any = None
    use_query_cache: Any = None
    flatten_results: Any = None
    dry_run: Any = False
    use_legacy_sql: Any = None
    maximum_billing_tier: Any = None
    maximum_bytes_billed: Any = None
    max_results: Any = None

    def run(self, ctx: RunContext) -> dict[str, Any]:
        from flowrun.jdbc.fetch import resolve_fetch_type

        try:
            fetch_type = resolve_fetch_type(ctx.render(self.fetch_type), ctx.render_typed(self.fetch),
                                            ctx.render_typed(self.fetch_one), ctx.render_typed(self.store))
        except ValueError as exc:
            raise TaskError(f"task `{self.id}`: {exc}") from None
        sql = str(ctx.render(self.sql))
        client = self.client(ctx)
        config = self._config(ctx, client)
        job = self.runner(ctx).run(
            lambda jid: client.query(sql, job_config=config, job_id=jid, retry=self.http_retry(ctx), job_retry=None),
            "query", sql)
        out: dict[str, Any] = {"jobId": job.job_id}
        if job.destination is not None:
            dest = job.destination
            out["destinationTable"] = {"project": dest.project, "dataset": dest.dataset_id, "table": dest.table_id}
        if fetch_type != "NONE" and not config.dry_run:
            out.update(self._results(ctx, job, fetch_type))
        return out

    def _config(self, ctx: RunContext, client: Any) -> Any:
        from google.cloud import bigquery

        config = bigquery.QueryJobConfig(labels=self.job_labels(ctx, self.labels))
        config.use_legacy_sql = self.flag(ctx, self.use_legacy_sql, "useLegacySql") or \
            self.flag(ctx, self.legacy_sql, "legacySql")
        if self.destination_table is not None:
            config.destination = self.table_id(ctx, client, self.destination_table, "destinationTable")
        if self.default_dataset is not None:
            dataset = self.text(ctx, self.default_dataset) or ""
            config.default_dataset = dataset if "." in dataset else f"{client.project}.{dataset}"
        for prop, attr, allowed in (
            ("write_disposition", "write_disposition", ("WRITE_TRUNCATE", "WRITE_APPEND", "WRITE_EMPTY")),
            ("create_disposition", "create_disposition", ("CREATE_IF_NEEDED", "CREATE_NEVER")),
            ("priority", "priority", ("INTERACTIVE", "BATCH")),
        ):
            if getattr(self, prop) is not None:
                setattr(config, attr, self.choice(ctx, getattr(self, prop), _camel(prop), allowed, allowed[0]))
        if self.job_timeout is not None:
            try:
                config.job_timeout_ms = int(parse_duration(self.text(ctx, self.job_timeout) or "").total_seconds()
                                            * 1000)
            except DurationError as exc:
                raise TaskError(f"task `{self.id}`: jobTimeout: {exc.message}") from None
        self._partitioning(ctx, config)
        for prop, attr in (("allow_large_results", "allow_large_results"), ("use_query_cache", "use_query_cache"),
                           ("flatten_results", "flatten_results"), ("dry_run", "dry_run")):
            if getattr(self, prop) is not None:
                setattr(config, attr, self.flag(ctx, getattr(self, prop), _camel(prop)))
        for prop in ("maximum_bytes_billed", "maximum_billing_tier"):
            if getattr(self, prop) is not None:
                setattr(config, prop, self.integer(ctx, getattr(self, prop), _camel(prop)))
        if self.schema_update_options is not None:
            config.schema_update_options = self.strings(ctx, self.schema_update_options, "schemaUpdateOptions")
        return config

    def _partitioning(self, ctx: RunContext, config: Any) -> None:
        from google.cloud import bigquery

        if self.clustering_fields is not None:
            config.clustering_fields = self.strings(ctx, self.clustering_fields, "clusteringFields")
        if self.time_partitioning_field is not None:
            config.time_partitioning = bigquery.TimePartitioning(
                type_=(self.text(ctx, self.time_partitioning_type) or "DAY").upper(),
                field=self.text(ctx, self.time_partitioning_field))
        if self.range_partitioning_field is not None:
            config.range_partitioning = bigquery.RangePartitioning(
                field=self.text(ctx, self.range_partitioning_field),
                range_=bigquery.PartitionRange(
                    start=self.integer(ctx, self.range_partitioning_start, "rangePartitioningStart"),
                    end=self.integer(ctx, self.range_partitioning_end, "rangePartitioningEnd"),
                    interval=self.integer(ctx, self.range_partitioning_interval, "rangePartitioningInterval")))

    def _results(self, ctx: RunContext, job: Any, fetch_type: str) -> dict[str, Any]:
        from flowrun.jdbc.cells import to_json

        rows = job.result(max_results=self.integer(ctx, self.max_results, "maxResults"))
        if fetch_type == "STORE":
            from flowrun.ion import IonLineWriter

            path, uri = ctx.storage.new_file(f"{uuid.uuid4().hex}.ion")
            with open(path, "w", encoding="utf-8", buffering=1 << 20) as f:
                writer = IonLineWriter(f)
                for row in rows:
                    writer.write(dict(row.items()))
            ctx.metric("fetch.rows", "counter", writer.count)
            return {"uri": uri, "size": writer.count}
        if fetch_type == "FETCH_ONE":
            first = next(iter(rows), None)
            return {"row": to_json(dict(first.items())) if first is not None else {}, "size": 1 if first else 0}
        fetched = [to_json(dict(row.items())) for row in rows]
        ctx.metric("fetch.rows", "counter", len(fetched))
        return {"rows": fetched, "size": len(fetched)}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


class CreateDataset(_Bq):
    """Create dataset `name`; `ifExists`: ERROR (default), UPDATE or SKIP. Outputs: dataset, project, location…"""

    name: str
    if_exists: str | None = None
    description: str | None = None
    friendly_name: str | None = None
    labels: Any = None
    default_table_lifetime: Any = None
    default_partition_expiration_ms: Any = None
    acl: Any = None
    default_encryption_configuration: Any = None

    def run(self, ctx: RunContext) -> dict[str, Any]:
        from google.api_core import exceptions
        from google.cloud import bigquery

        if_exists = self.choice(ctx, self.if_exists, "ifExists", IF_EXISTS, "ERROR")
        client = self.client(ctx)
        name = self.text(ctx, self.name) or ""
        dataset = bigquery.Dataset(name if "." in name else f"{client.project}.{name}")
        fields = self._apply(ctx, dataset)
        try:
            try:
                result = client.create_dataset(dataset, retry=self.http_retry(ctx))
                ctx.logger.info(f"Created dataset {dataset.project}.{dataset.dataset_id}")
            except exceptions.Conflict:
                if if_exists == "ERROR":
                    raise TaskError(f"task `{self.id}`: dataset `{dataset.dataset_id}` already exists and ifExists "
                                    "is ERROR (use ifExists: SKIP or UPDATE)",
                                    evidence={"resource": f"{dataset.project}.{dataset.dataset_id}"}) from None
                if if_exists == "UPDATE":
                    result = client.update_dataset(dataset, [f for f in fields if f != "location"])
                else:
                    ctx.logger.info(f"Dataset {dataset.dataset_id} already exists, skipping")
                    result = client.get_dataset(dataset.reference)
        except api_failures() as exc:
            raise api_error(self.id, "creation of dataset", f"`{dataset.dataset_id}`", exc) from None
        out = {"dataset": result.dataset_id, "project": result.project, "friendlyName": result.friendly_name,
               "description": result.description, "location": result.location}
        return {k: v for k, v in out.items() if v is not None}

    def _apply(self, ctx: RunContext, dataset: Any) -> list[str]:
        fields = []
        for prop, attr in (("location", "location"), ("description", "description"),
                           ("friendly_name", "friendly_name")):
            value = self.text(ctx, getattr(self, prop))
            if value is not None:
                setattr(dataset, attr, value)
                fields.append(attr)
        if self.labels is not None:
            dataset.labels = {str(k): str(v) for k, v in (ctx.render(self.labels) or {}).items()}
            fields.append("labels")
        if self.default_table_lifetime is not None:
            dataset.default_table_expiration_ms = self.integer(ctx, self.default_table_lifetime,
                                                               "defaultTableLifetime")
            fields.append("default_table_expiration_ms")
        if self.default_partition_expiration_ms is not None:
            dataset.default_partition_expiration_ms = self.integer(ctx, self.default_partition_expiration_ms,
                                                                   "defaultPartitionExpirationMs")
            fields.append("default_partition_expiration_ms")
        if self.acl is not None or self.default_encryption_configuration is not None:
            ctx.logger.warn("acl and defaultEncryptionConfiguration are not applied by flowrun yet")
        return fields


class DeleteDataset(_Bq):
    """Delete dataset `name` (`deleteContents: true` for a non-empty one). Output: `dataset`."""

    name: str
    delete_contents: Any = False

    def run(self, ctx: RunContext) -> dict[str, Any]:

        client = self.client(ctx)
        name = self.text(ctx, self.name) or ""
        ref = name if "." in name else f"{client.project}.{name}"
        try:
            client.delete_dataset(ref, delete_contents=self.flag(ctx, self.delete_contents, "deleteContents"),
                                  retry=self.http_retry(ctx))
        except api_failures() as exc:
            raise api_error(self.id, "deletion of dataset", f"`{ref}`", exc) from None
        ctx.logger.info(f"Deleted dataset {ref}")
        return {"dataset": name}


class _Table(_Bq):
    """Kestra's `AbstractTable`: `dataset` and `table` (in `projectId` or the client's project)."""

    dataset: str
    table: str

    def ref(self, ctx: RunContext, client: Any) -> str:
        return f"{client.project}.{self.text(ctx, self.dataset)}.{self.text(ctx, self.table)}"


class CreateTable(_Table):
    """Create a table from `tableDefinition` (type, schema, standard/view/external definition). Output: metadata."""

    table_definition: Any = None
    friendly_name: str | None = None
    description: str | None = None
    labels: Any = None
    require_partition_filter: Any = None
    encryption_configuration: Any = None
    expiration_duration: str | None = None

    def run(self, ctx: RunContext) -> dict[str, Any]:
        import datetime as dt

        from google.cloud import bigquery

        client = self.client(ctx)
        table = bigquery.Table(self.ref(ctx, client))
        try:
            bqmodels.table_from_definition(table, ctx.render_typed(self.table_definition) or {})
        except bqmodels.BqPropertyError as exc:
            raise TaskError(f"task `{self.id}`: {exc}") from None
        table.friendly_name = self.text(ctx, self.friendly_name)
        table.description = self.text(ctx, self.description)
        if self.labels is not None:
            table.labels = {str(k): str(v) for k, v in (ctx.render(self.labels) or {}).items()}
        if self.require_partition_filter is not None:
            table.require_partition_filter = self.flag(ctx, self.require_partition_filter, "requirePartitionFilter")
        if self.expiration_duration is not None:
            try:
                table.expires = dt.datetime.now(dt.UTC) + parse_duration(self.text(ctx, self.expiration_duration) or "")
            except DurationError as exc:
                raise TaskError(f"task `{self.id}`: expirationDuration: {exc.message}") from None
        try:
            created = client.create_table(table, retry=self.http_retry(ctx))
        except api_failures() as exc:
            raise api_error(self.id, "creation of table", f"`{table.full_table_id or self.ref(ctx, client)}`",
                            exc) from None
        ctx.logger.info(f"Created table {self.ref(ctx, client)}")
        return bqmodels.table_output(created)


class DeleteTable(_Table):
    """Delete a table (or a partition with `table$YYYYMMDD`). Outputs: `projectId`, `datasetId`, `table`."""

    def run(self, ctx: RunContext) -> dict[str, Any]:

        client = self.client(ctx)
        ref = self.ref(ctx, client)
        try:
            client.delete_table(ref, retry=self.http_retry(ctx))
        except api_failures() as exc:
            raise api_error(self.id, "deletion of table", f"`{ref}`", exc) from None
        project, dataset, table = ref.split(".", 2)
        return {"projectId": project, "datasetId": dataset, "table": table}


class _Load(_Bq):
    """Kestra's `AbstractLoad` options. Outputs: `jobId`, `destinationTable` (project.dataset.table), `rows`."""

    destination_table: str
    format: str | None = None
    csv_options: Any = None
    avro_options: Any = None
    schema_: Any = Field(default=None, alias="schema")
    autodetect: Any = None
    write_disposition: str | None = None
    create_disposition: str | None = None
    ignore_unknown_values: Any = None
    max_bad_records: Any = None
    clustering_fields: Any = None
    schema_update_options: Any = None
    time_partitioning_field: str | None = None
    time_partitioning_type: str | None = None

    def load_config(self, ctx: RunContext) -> Any:
        from google.cloud import bigquery

        options = {_camel(name): ctx.render_typed(getattr(self, name)) for name in (
            "format", "csv_options", "avro_options", "autodetect", "write_disposition", "create_disposition",
            "ignore_unknown_values", "max_bad_records", "clustering_fields", "schema_update_options",
            "time_partitioning_field", "time_partitioning_type")}
        options["schema"] = ctx.render_typed(self.schema_)
        try:
            return bqmodels.apply_load_options(bigquery.LoadJobConfig(labels=self.job_labels(ctx, None)), options)
        except (bqmodels.BqPropertyError, ValueError, TypeError) as exc:
            raise TaskError(f"task `{self.id}`: {exc}") from None

    def outputs(self, job: Any, destination: str) -> dict[str, Any]:
        return {"jobId": job.job_id, "destinationTable": destination, "rows": job.output_rows}


class Load(_Load):
    """Load a file from internal storage (`from`, kestra://) into `destinationTable` (CSV by default)."""

    from_: str = Field(alias="from")
    failed_on_empty: Any = True

    def run(self, ctx: RunContext) -> dict[str, Any]:
        source = self.text(ctx, self.from_) or ""
        try:
            local = ctx.storage.local_path(source)
        except FlowrunError as exc:
            raise TaskError(f"task `{self.id}`: `from` {exc.message}") from None
        client = self.client(ctx)
        destination = self.table_id(ctx, client, self.destination_table, "destinationTable")
        config = self.load_config(ctx)
        if os.path.getsize(local) == 0:
            if self.flag(ctx, self.failed_on_empty, "failedOnEmpty", True):
                raise TaskError(f"task `{self.id}`: cannot load an empty file ({source}); set failedOnEmpty: false "
                                "to allow it")
            return {"rows": 0}

        def start(jid: str) -> Any:
            # no size: a resumable upload (bqemulator rejects the client's multipart upload of small files)
            with open(local, "rb") as handle:
                return client.load_table_from_file(handle, destination, job_config=config, job_id=jid)

        job = self.runner(ctx).run(start, "load", None)
        return self.outputs(job, destination)


class LoadFromGcs(_Load):
    """Load gs:// files (`from`: a list; one `*` wildcard each) into `destinationTable`."""

    from_: Any = Field(alias="from")

    def run(self, ctx: RunContext) -> dict[str, Any]:
        uris = self.strings(ctx, self.from_, "from") or []
        if not uris or any(not u.startswith("gs://") for u in uris):
            raise TaskError(f"task `{self.id}`: `from` must list gs:// URIs, got {uris!r}")
        client = self.client(ctx)
        destination = self.table_id(ctx, client, self.destination_table, "destinationTable")
        config = self.load_config(ctx)
        ctx.logger.info(f"loading {', '.join(uris)} into {destination}")
        job = self.runner(ctx).run(
            lambda jid: client.load_table_from_uri(uris, destination, job_config=config, job_id=jid,
                                                   retry=self.http_retry(ctx)), "load", None)
        return self.outputs(job, destination)


class ExtractToGcs(_Bq):
    """Export `sourceTable` to `destinationUris` (gs://). Outputs: jobId, sourceTable, destinationUris, fileCounts."""

    source_table: str
    destination_uris: Any
    compression: str | None = None
    field_delimiter: str | None = None
    format: str | None = None
    use_avro_logical_types: Any = None
    job_timeout_ms: Any = None
    labels: Any = None
    print_header: Any = None

    def run(self, ctx: RunContext) -> dict[str, Any]:
        from google.cloud import bigquery

        client = self.client(ctx)
        source = self.table_id(ctx, client, self.source_table, "sourceTable")
        uris = self.strings(ctx, self.destination_uris, "destinationUris") or []
        config = bigquery.ExtractJobConfig(labels=self.job_labels(ctx, self.labels))
        if self.format is not None:
            fmt = (self.text(ctx, self.format) or "CSV").upper()
            config.destination_format = bqmodels.FORMATS.get(fmt, fmt)
        if self.compression is not None:
            config.compression = (self.text(ctx, self.compression) or "").upper()
        if self.field_delimiter is not None:
            config.field_delimiter = self.text(ctx, self.field_delimiter)
        if self.print_header is not None:
            config.print_header = self.flag(ctx, self.print_header, "printHeader", True)
        if self.use_avro_logical_types is not None:
            config.use_avro_logical_types = self.flag(ctx, self.use_avro_logical_types, "useAvroLogicalTypes")
        if self.job_timeout_ms is not None:
            config.job_timeout_ms = self.integer(ctx, self.job_timeout_ms, "jobTimeoutMs")
        job = self.runner(ctx).run(
            lambda jid: client.extract_table(source, uris, job_config=config, job_id=jid, retry=self.http_retry(ctx)),
            "extract", None)
        return {"jobId": job.job_id, "sourceTable": source.rsplit(".", 1)[-1], "destinationUris": uris,
                "fileCounts": list(job.destination_uri_file_counts or [])}
