"""Kestra's io.kestra.plugin.jdbc.postgresql tasks (Query, Queries, CopyIn, CopyOut), run with psycopg 3."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flowrun.errors import TaskError, TaskKilled
from flowrun.jdbc.cells import IntervalText, make_converter
from flowrun.jdbc.errors import sql_error
from flowrun.jdbc.fetch import FetchProperties, as_bool, as_int, collect, resolve_fetch_type
from flowrun.jdbc.params import bind_named
from flowrun.jdbc.split import split_sql
from flowrun.jdbc.url import JdbcUrlError, PgTarget, parse_postgres_url, sslmode_from_property
from flowrun.jdbc.watch import interrupt_on
from flowrun.model.lite import Field
from flowrun.tasks.base import RunContext, Task

if TYPE_CHECKING:
    import psycopg

BLOCK = 1 << 20  # COPY is fed and drained in 1 MB blocks
_PEM_PROPS = {"ssl_root_cert": "sslrootcert", "ssl_cert": "sslcert", "ssl_key": "sslkey"}


class _Postgres(Task):
    """Connection properties shared by every Postgres task."""

    url: str | None = None
    username: str | None = None
    password: str | None = None
    ssl: Any = False
    ssl_mode: str | None = None
    ssl_root_cert: str | None = None
    ssl_cert: str | None = None
    ssl_key: str | None = None
    ssl_key_password: str | None = None
    connection_pooling: Any = None
    connection_pool_size: Any = None

    def _target(self, ctx: RunContext) -> PgTarget:
        url = ctx.render(self.url) if self.url else None
        if not url:
            raise TaskError(f"task `{self.id}`: `url` is required (e.g. jdbc:postgresql://localhost:5432/db)")
        username = ctx.render(self.username) if self.username else None
        password = ctx.render(self.password) if self.password else None
        if password:
            ctx.register_secret(str(password))
        try:
            target = parse_postgres_url(str(url), username and str(username), password and str(password))
        except JdbcUrlError as e:
            raise TaskError(f"task `{self.id}`: {e}") from None
        params = dict(target.params)
        self._apply_ssl(ctx, params)
        target = PgTarget(params, target.ignored)
        for secret in target.secrets():
            ctx.register_secret(secret)
        if target.ignored:
            ctx.logger.debug(f"JDBC URL parameters without a libpq equivalent, ignored: {', '.join(target.ignored)}")
        return target

    def _apply_ssl(self, ctx: RunContext, params: dict[str, str]) -> None:
        if self.ssl_mode:
            params["sslmode"] = sslmode_from_property(str(ctx.render(self.ssl_mode)))
        elif as_bool(ctx.render_typed(self.ssl)) and "sslmode" not in params:
            params["sslmode"] = "require"
        for prop, key in _PEM_PROPS.items():
            raw = getattr(self, prop)
            if raw:
                params[key] = self._pem_file(ctx, prop, str(ctx.render(raw)))
        if self.ssl_key_password:
            params["sslpassword"] = str(ctx.render(self.ssl_key_password))

    @staticmethod
    def _pem_file(ctx: RunContext, prop: str, value: str) -> str:
        """Kestra passes certificates as PEM text; libpq wants files. A path is used as is."""
        if "-----BEGIN" not in value:
            return value
        path = ctx.working_dir() / f"{prop}.pem"
        path.write_text(value)
        os.chmod(path, 0o600)
        return str(path)

    def _connect(self, ctx: RunContext, target: PgTarget, autocommit: bool) -> psycopg.Connection[Any]:
        import psycopg
        from psycopg.conninfo import make_conninfo
        from psycopg.types.string import TextLoader

        class IntervalLoader(TextLoader):
            def load(self, data: Any) -> IntervalText:
                return IntervalText(bytes(data).decode())

        params = dict(target.params)
        params.setdefault("connect_timeout", "10")
        try:
            conn = psycopg.connect(make_conninfo("", **params), autocommit=autocommit)
        except psycopg.Error as e:
            raise sql_error(self.id, target.display, e, action="cannot connect to", secrets=target.secrets()) from None
        conn.adapters.register_loader("interval", IntervalLoader)
        return conn


class _PgStatements(_Postgres, FetchProperties):
    """Properties shared by Query and Queries."""

    sql: str

    def _run_sql(self, ctx: RunContext, sql: str, transaction: bool, queries: bool) -> list[dict[str, Any]]:
        """Run every statement of `sql`; one output per statement that returned a result set."""
        import psycopg

        target = self._target(ctx)
        try:
            fetch_type = resolve_fetch_type(
                ctx.render(self.fetch_type), ctx.render_typed(self.fetch), ctx.render_typed(self.fetch_one),
                ctx.render_typed(self.store))
            fetch_size = as_int(ctx.render_typed(self.fetch_size), "fetchSize")
            convert = make_converter(ctx.render(self.time_zone_id) if self.time_zone_id else None)
        except (ValueError, KeyError) as e:
            raise TaskError(f"task `{self.id}`: {e}") from None
        parameters = ctx.render_typed(self.parameters) if self.parameters is not None else None
        if parameters is not None and not isinstance(parameters, dict):
            raise TaskError(f"task `{self.id}`: `parameters` must be a map of name -> value")
        statements = split_sql(sql)
        outputs: list[dict[str, Any]] = []
        conn = self._connect(ctx, target, autocommit=not transaction)
        statement: str | None = None
        try:
            with interrupt_on(ctx.cancel, conn.cancel_safe), conn.cursor() as cur:
                for statement in statements:
                    ctx.logger.debug(f"Starting query: {statement}")
                    if parameters:
                        query, values = bind_named(statement, parameters)
                        cur.execute(query, values)
                    else:
                        cur.execute(statement)
                    if cur.description is not None:
                        columns = [c.name for c in cur.description]
                        outputs.append(collect(cur, columns, fetch_type, ctx, convert, fetch_size, queries))
            if transaction:
                conn.commit()
        except psycopg.Error as e:
            _rollback(conn)
            if ctx.cancel.is_set():
                raise TaskKilled(f"task `{self.id}` cancelled") from None
            raise sql_error(self.id, target.display, e, statement, target.secrets()) from None
        except BaseException:
            _rollback(conn)
            raise
        finally:
            conn.close()
        size = sum(o.get("size", 0) for o in outputs)
        ctx.metric("fetch.size", "counter", size, {"fetch": str(fetch_type in ("FETCH", "FETCH_ONE")).lower(),
                                                     "store": str(fetch_type == "STORE").lower()})
        return outputs


class Query(_PgStatements):
    """Run SQL on Postgres (autocommit) and return the last result set as `row`, `rows` or an Ion file `uri`.

    Unlike Kestra 1.1, several statements are accepted: they all run, and the last result set is returned.
    With `afterSQL`, the query and afterSQL run in one transaction.
    """

    after_sql: str | None = Field(default=None, alias="afterSQL")

    def run(self, ctx: RunContext) -> dict[str, Any]:
        sql = str(ctx.render(self.sql))
        if self.after_sql:
            sql = sql.rstrip().rstrip(";") + ";\n" + str(ctx.render(self.after_sql))
        outputs = self._run_sql(ctx, sql, transaction=bool(self.after_sql), queries=False)
        return outputs[-1] if outputs else {}


class Queries(_PgStatements):
    """Run several SQL statements on Postgres, by default in one transaction: `outputs` has one entry per result set."""

    transaction: Any = True

    def run(self, ctx: RunContext) -> dict[str, Any]:
        transaction = as_bool(ctx.render_typed(self.transaction))
        return {"outputs": self._run_sql(ctx, str(ctx.render(self.sql)), transaction, queries=True)}


class _Copy(_Postgres):
    """COPY options shared by CopyIn and CopyOut (each appears in the COPY statement only when set)."""

    table: str | None = None
    columns: Any = None
    format: Any = "TEXT"
    oids: Any = None
    freeze: Any = None
    delimiter: Any = None
    null_string: Any = None
    header: Any = None
    quote: Any = None
    escape: Any = None
    force_quote: Any = None
    force_not_null: Any = None
    force_null: Any = None
    encoding: Any = None
    socket_timeout: Any = None

    def _copy_sql(self, ctx: RunContext, source: str | None, direction: str) -> str:
        """`COPY <table> [(cols)] | (<query>)  FROM STDIN | TO STDOUT  [WITH (options)]`, as Kestra builds it."""
        parts = ["COPY"]
        if source is None:
            if not self.table:
                raise TaskError(f"task `{self.id}`: `table` is required")
            parts.append(str(ctx.render(self.table)))
            columns = self._list(ctx, self.columns)
            if columns:
                parts.append(f"({', '.join(columns)})")
        else:
            parts.append(f"({source})")
        parts.append(direction)
        options = self._options(ctx)
        if options:
            parts.append(f"WITH ({', '.join(options)})")
        return " ".join(parts)

    def _options(self, ctx: RunContext) -> list[str]:
        fmt = str(ctx.render(self.format) or "TEXT").strip().upper()
        if fmt not in ("TEXT", "CSV", "BINARY"):
            raise TaskError(f"task `{self.id}`: format must be TEXT, CSV or BINARY, not {fmt!r}")
        options = [] if fmt == "TEXT" else [f"FORMAT {fmt}"]
        if self.oids is not None and as_bool(ctx.render_typed(self.oids)):
            options.append("OIDS")
        if self.freeze is not None and as_bool(ctx.render_typed(self.freeze)):
            options.append("FREEZE")
        if self.delimiter is not None:
            options.append(f"DELIMITER {_literal(_char(ctx.render(self.delimiter)))}")
        if self.null_string is not None:
            options.append(f"NULL {_literal(str(ctx.render(self.null_string)))}")
        if self.header is not None:
            options.append(f"HEADER {'TRUE' if as_bool(ctx.render_typed(self.header)) else 'FALSE'}")
        if self.quote is not None:
            options.append(f"QUOTE {_literal(_char(ctx.render(self.quote)))}")
        if self.escape is not None:
            options.append(f"ESCAPE {_literal(_char(ctx.render(self.escape)))}")
        force_quote = self._list(ctx, self.force_quote)
        if force_quote:
            options.append("FORCE_QUOTE " + ("*" if force_quote == ["*"] else f"({', '.join(force_quote)})"))
        for name, value in (("FORCE_NOT_NULL", self.force_not_null), ("FORCE_NULL", self.force_null)):
            items = self._list(ctx, value)
            if items:
                options.append(f"{name} ({', '.join(items)})")
        if self.encoding is not None:
            options.append(f"ENCODING {_literal(str(ctx.render(self.encoding)))}")
        return options

    def _list(self, ctx: RunContext, value: Any) -> list[str]:
        if value is None:
            return []
        rendered = ctx.render_typed(value)
        if isinstance(rendered, str):
            rendered = [c.strip() for c in rendered.split(",") if c.strip()]
        return [str(v) for v in rendered]

    def _connect_copy(self, ctx: RunContext, target: PgTarget) -> psycopg.Connection[Any]:
        if self.socket_timeout is not None:
            ctx.logger.debug("socketTimeout has no psycopg equivalent; the cancel signal stops a stuck COPY")
        return self._connect(ctx, target, autocommit=False)


class CopyIn(_Copy):
    """Load a file of internal storage into a Postgres table with COPY … FROM STDIN, streamed in 1 MB blocks.

    The load is one transaction: a bad row stops it, and no row of the file stays. Output: `rowCount`.
    """

    from_: str = Field(alias="from")

    def run(self, ctx: RunContext) -> dict[str, Any]:
        import psycopg

        target = self._target(ctx)
        source = self._source(ctx)
        sql = self._copy_sql(ctx, None, "FROM STDIN")
        ctx.logger.debug(f"Starting query: {sql}")
        conn = self._connect_copy(ctx, target)
        try:
            with interrupt_on(ctx.cancel, conn.cancel_safe), conn.cursor() as cur:
                with cur.copy(sql) as copy, open(source, "rb") as f:
                    while block := f.read(BLOCK):
                        copy.write(block)
                        if ctx.cancel.is_set():
                            raise TaskKilled(f"task `{self.id}` cancelled")
                rows = cur.rowcount
            conn.commit()
        except psycopg.Error as e:
            _rollback(conn)
            if ctx.cancel.is_set():
                raise TaskKilled(f"task `{self.id}` cancelled") from None
            raise sql_error(self.id, target.display, e, sql, target.secrets(), action="COPY failed on") from None
        except BaseException:
            _rollback(conn)
            raise
        finally:
            conn.close()
        ctx.metric("rows", "counter", rows)
        return {"rowCount": rows}

    def _source(self, ctx: RunContext) -> Path:
        uri = str(ctx.render(self.from_))
        if not uri.startswith("kestra://"):
            raise TaskError(f"task `{self.id}`: `from` must be an internal storage URI (kestra://…), got {uri!r}")
        try:
            return ctx.storage.local_path(uri)
        except Exception as e:  # noqa: BLE001 - storage reports missing files its own way
            raise TaskError(f"task `{self.id}`: cannot read `from` {uri}: {e}") from None


class CopyOut(_Copy):
    """Export a Postgres table or query with COPY … TO STDOUT into a file of internal storage: `uri`, `rowCount`."""

    sql: str | None = None

    def run(self, ctx: RunContext) -> dict[str, Any]:
        import psycopg

        target = self._target(ctx)
        query = str(ctx.render(self.sql)).strip().rstrip(";") if self.sql else None
        sql = self._copy_sql(ctx, query, "TO STDOUT")
        ctx.logger.debug(f"Starting query: {sql}")
        fmt = str(ctx.render(self.format) or "TEXT").strip().upper()
        path, uri = ctx.storage.new_file(f"{uuid.uuid4().hex}.{ {'CSV': 'csv', 'BINARY': 'bin'}.get(fmt, 'txt') }")
        conn = self._connect_copy(ctx, target)
        try:
            with interrupt_on(ctx.cancel, conn.cancel_safe), conn.cursor() as cur:
                with cur.copy(sql) as copy, open(path, "wb") as f:
                    for block in copy:
                        f.write(block)
                rows = cur.rowcount
            conn.commit()
        except psycopg.Error as e:
            _rollback(conn)
            if ctx.cancel.is_set():
                raise TaskKilled(f"task `{self.id}` cancelled") from None
            raise sql_error(self.id, target.display, e, sql, target.secrets(), action="COPY failed on") from None
        finally:
            conn.close()
        ctx.metric("rows", "counter", rows)
        return {"uri": uri, "rowCount": rows}


def _rollback(conn: Any) -> None:
    try:
        if not conn.closed and not conn.autocommit:
            conn.rollback()
    except Exception:  # noqa: BLE001 - the original error matters more
        pass


def _char(value: Any) -> str:
    """A one-character option; the escapes `\\t`, `\\n` and `\\\\` written in YAML are understood."""
    text = str(value)
    return {"\\t": "\t", "\\n": "\n", "\\r": "\r", "\\\\": "\\"}.get(text, text)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
