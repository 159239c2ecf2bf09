"""Kestra's BigQuery property shapes (table ids, schemas, table definitions, load options) to and from the client's."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flowrun.errors import TaskError

FORMATS = {"CSV": "CSV", "JSON": "NEWLINE_DELIMITED_JSON", "AVRO": "AVRO", "PARQUET": "PARQUET", "ORC": "ORC"}


class BqPropertyError(TaskError):
    """A property value that cannot be turned into a BigQuery setting; one line for the user."""


def table_ref(value: str, default_project: str | None, prop: str) -> tuple[str, str, str]:
    """(project, dataset, table) of `project.dataset.table`, `dataset.table` or `project:dataset.table`."""
    text = str(value or "").strip().strip("`").replace(":", ".", 1)
    parts = text.split(".")
    if len(parts) == 2 and all(parts) and default_project:
        return default_project, parts[0], parts[1]
    if len(parts) == 3 and all(parts):
        return parts[0], parts[1], parts[2]
    raise BqPropertyError(f"`{prop}` must be project.dataset.table or dataset.table, got {value!r}")


def schema_fields(value: Any, prop: str = "schema") -> list[Any]:
    """`{fields: [{name, type, mode, description, fields}]}` (or the bare list) as SchemaFields."""
    from google.cloud.bigquery import SchemaField

    fields = value.get("fields") if isinstance(value, dict) else value
    if not isinstance(fields, list):
        raise BqPropertyError(f"`{prop}` needs a `fields` list of {{name, type}} maps")
    out = []
    for i, field in enumerate(fields):
        if not isinstance(field, dict) or not field.get("name") or not field.get("type"):
            raise BqPropertyError(f"`{prop}.fields[{i}]` needs a name and a type")
        sub = field.get("fields") or field.get("subFields")
        extra: dict[str, Any] = {"description": str(field["description"])} if field.get("description") else {}
        out.append(SchemaField(str(field["name"]), str(field["type"]).upper(),
                               mode=str(field.get("mode") or "NULLABLE").upper(),
                               fields=schema_fields(sub, f"{prop}.fields[{i}]") if sub else (), **extra))
    return out


def schema_output(schema: Any) -> dict[str, Any]:
    """Kestra's `Schema` model of a list of SchemaFields."""
    def field(f: Any) -> dict[str, Any]:
        out = {"name": f.name, "type": f.field_type, "mode": f.mode, "description": f.description}
        if f.fields:
            out["subFields"] = [field(s) for s in f.fields]
        return {k: v for k, v in out.items() if v is not None}

    return {"fields": [field(f) for f in schema or []]}


def table_from_definition(table: Any, definition: dict[str, Any]) -> Any:
    """Apply Kestra's `tableDefinition` (type TABLE, VIEW, MATERIALIZED_VIEW or EXTERNAL) to a bigquery.Table."""
    from google.cloud import bigquery

    kind = str(definition.get("type") or "TABLE").upper()
    if definition.get("schema") is not None:
        table.schema = schema_fields(definition["schema"], "tableDefinition.schema")
    if kind == "TABLE":
        standard = definition.get("standardTableDefinition") or {}
        if standard.get("clustering"):
            table.clustering_fields = list(standard["clustering"])
        partitioning = standard.get("timePartitioning")
        if partitioning:
            table.time_partitioning = bigquery.TimePartitioning(
                type_=str(partitioning.get("type") or "DAY").upper(), field=partitioning.get("field"),
                expiration_ms=partitioning.get("expirationMs"))
    elif kind == "VIEW":
        table.view_query = _required(definition, "viewDefinition", "query")
    elif kind == "MATERIALIZED_VIEW":
        table.mview_query = _required(definition, "materializedViewDefinition", "query")
    elif kind == "EXTERNAL":
        external = definition.get("externalTableDefinition") or {}
        fmt = FORMATS.get(str(external.get("formatType") or "CSV").upper(), str(external.get("formatType")))
        config = bigquery.ExternalConfig(fmt)
        config.source_uris = list(external.get("sourceUris") or [])
        if external.get("autodetect") is not None:
            config.autodetect = bool(external["autodetect"])
        table.external_data_configuration = config
    else:
        raise BqPropertyError(f"`tableDefinition.type` {kind!r} is not supported (TABLE, VIEW, "
                              "MATERIALIZED_VIEW or EXTERNAL)")
    return table


def _required(definition: dict[str, Any], key: str, item: str) -> str:
    value = (definition.get(key) or {}).get(item)
    if not value:
        raise BqPropertyError(f"`tableDefinition.{key}.{item}` is required for this table type")
    return str(value)


def _ms(value: Any) -> str | None:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    return None


def table_output(table: Any) -> dict[str, Any]:
    """Kestra's `AbstractTable.Output` of a bigquery.Table."""
    definition: dict[str, Any] = {"type": table.table_type or "TABLE"}
    if table.schema:
        definition["schema"] = schema_output(table.schema)
    if table.view_query:
        definition["viewDefinition"] = {"query": table.view_query}
    standard: dict[str, Any] = {}
    if table.clustering_fields:
        standard["clustering"] = list(table.clustering_fields)
    if table.time_partitioning is not None:
        standard["timePartitioning"] = {"type": table.time_partitioning.type_,
                                        "field": table.time_partitioning.field}
    if standard:
        definition["standardTableDefinition"] = standard
    out = {
        "projectId": table.project, "datasetId": table.dataset_id, "table": table.table_id, "etag": table.etag,
        "generatedId": table.full_table_id, "selfLink": table.self_link, "friendlyName": table.friendly_name,
        "description": table.description, "creationTime": _ms(table.created), "expirationTime": _ms(table.expires),
        "lastModifiedTime": _ms(table.modified), "numBytes": table.num_bytes,
        "numLongTermBytes": getattr(table, "num_long_term_bytes", None), "numRows": table.num_rows,
        "definition": definition, "labels": table.labels or None,
        "requirePartitionFilter": table.require_partition_filter,
    }
    return {k: v for k, v in out.items() if v is not None}


def apply_load_options(config: Any, options: dict[str, Any]) -> Any:
    """Set a LoadJobConfig from Kestra's `AbstractLoad` properties (already rendered, camelCase keys)."""
    from google.cloud import bigquery

    fmt = str(options.get("format") or "CSV").upper()
    if fmt not in FORMATS:
        raise BqPropertyError(f"`format` must be one of {', '.join(FORMATS)}, got {fmt!r}")
    config.source_format = FORMATS[fmt]
    csv = options.get("csvOptions") or {}
    if fmt == "CSV":
        for key, attr in (("allowJaggedRows", "allow_jagged_rows"), ("allowQuotedNewLines", "allow_quoted_newlines"),
                          ("encoding", "encoding"), ("fieldDelimiter", "field_delimiter"), ("quote", "quote_character"),
                          ("skipLeadingRows", "skip_leading_rows")):
            if csv.get(key) is not None:
                setattr(config, attr, int(csv[key]) if key == "skipLeadingRows" else csv[key])
    avro = options.get("avroOptions") or {}
    if fmt == "AVRO" and avro.get("useAvroLogicalTypes") is not None:
        config.use_avro_logical_types = bool(avro["useAvroLogicalTypes"])
    simple = (("writeDisposition", "write_disposition"), ("createDisposition", "create_disposition"),
              ("autodetect", "autodetect"), ("ignoreUnknownValues", "ignore_unknown_values"),
              ("maxBadRecords", "max_bad_records"), ("clusteringFields", "clustering_fields"),
              ("schemaUpdateOptions", "schema_update_options"))
    for key, attr in simple:
        if options.get(key) is not None:
            setattr(config, attr, options[key])
    if options.get("schema") is not None:
        config.schema = schema_fields(options["schema"])
    if options.get("timePartitioningField"):
        config.time_partitioning = bigquery.TimePartitioning(
            type_=str(options.get("timePartitioningType") or "DAY").upper(), field=options["timePartitioningField"])
    return config
