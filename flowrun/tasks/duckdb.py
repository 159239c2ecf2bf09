"""Kestra's io.kestra.plugin.jdbc.duckdb tasks (Query, Queries): SQL on a DuckDB file in the task's working dir."""

from __future__ import annotations

import json
import re
import shutil
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flowrun.errors import TaskError, TaskKilled
from flowrun.jdbc.cells import make_converter
from flowrun.jdbc.errors import sql_error
from flowrun.jdbc.fetch import FetchProperties, as_bool, as_int, collect, resolve_fetch_type
from flowrun.jdbc.params import bind_named
from flowrun.jdbc.split import split_sql
from flowrun.jdbc.url import DuckTarget, JdbcUrlError, parse_duckdb_url
from flowrun.jdbc.watch import interrupt_on
from flowrun.model.lite import Field
from flowrun.tasks.base import RunContext

if TYPE_CHECKING:
    import duckdb

_INSTALL = re.compile(r"\s*(?:FORCE\s+)?INSTALL\s+['\"]?(\w+)", re.IGNORECASE)
_LOAD = re.compile(r"\s*LOAD\s+['\"]?(\w+)", re.IGNORECASE)


class _DuckDb(FetchProperties):
    """Properties shared by the DuckDB Query and Queries tasks."""

    url: str | None = None
    username: str | None = None
    password: str | None = None
    sql: str
    input_files: Any = None
    output_files: Any = None
    database_uri: str | None = None
    output_db_file: Any = False
    community_extensions: Any = None

    def _run_duck(self, ctx: RunContext, transaction: bool, last_only: bool) -> dict[str, Any]:
        import duckdb

        try:
            target = parse_duckdb_url(str(ctx.render(self.url)) if self.url else None)
            fetch_type = resolve_fetch_type(
                ctx.render(self.fetch_type), ctx.render_typed(self.fetch), ctx.render_typed(self.fetch_one),
                ctx.render_typed(self.store))
            fetch_size = as_int(ctx.render_typed(self.fetch_size), "fetchSize")
            convert = make_converter(ctx.render(self.time_zone_id) if self.time_zone_id else None)
        except (JdbcUrlError, ValueError, KeyError) as e:
            raise TaskError(f"task `{self.id}`: {e}") from None
        wd = ctx.working_dir()
        self._write_input_files(ctx, wd)
        output_paths = self._output_paths(ctx, wd)
        sql = str(ctx.render(self.sql, workingDir=str(wd), outputFiles={k: str(p) for k, p in output_paths.items()}))
        db_path = self._database(ctx, target, wd)
        parameters = ctx.render_typed(self.parameters) if self.parameters is not None else None
        display = target.display
        try:
            con = duckdb.connect(db_path)
        except duckdb.Error as e:
            raise sql_error(self.id, display, e, action="cannot open") from None
        results: list[dict[str, Any]] = []
        statement: str | None = None
        try:
            con.execute(f"SET file_search_path = '{_quote(str(wd))}'")
            self._community_extensions(ctx, con)
            statements = split_sql(sql)
            builtin = _builtin_extensions(con)
            if transaction:
                con.begin()
            with interrupt_on(ctx.cancel, con.interrupt):
                for k, statement in enumerate(statements):
                    if _skip(statement, builtin):
                        ctx.logger.debug(f"Skipping `{statement}`: the extension is built into this DuckDB")
                        continue
                    ctx.logger.debug(f"Starting query: {statement}")
                    query, values = bind_named(statement, parameters, "?") if parameters else (statement, None)
                    parsed = con.extract_statements(query)
                    con.execute(query, values)
                    if (not last_only or k == len(statements) - 1) and _returns_rows(parsed[-1], con):
                        columns = [d[0] for d in con.description or []]
                        results.append(collect(con, columns, fetch_type, ctx, convert, fetch_size, not last_only))
            if transaction:
                con.commit()
        except duckdb.Error as e:
            _rollback(con, transaction)
            if ctx.cancel.is_set():
                raise TaskKilled(f"task `{self.id}` cancelled") from None
            raise sql_error(self.id, display, e, statement) from None
        except BaseException:
            _rollback(con, transaction)
            raise
        finally:
            con.close()
        extras = self._extras(ctx, output_paths, db_path)
        if last_only:
            return {**(results[-1] if results else {}), **extras}
        return {"outputs": results, **extras}

    def _write_input_files(self, ctx: RunContext, wd: Path) -> None:
        if self.input_files is None:
            return
        files = ctx.render_typed(self.input_files)
        if isinstance(files, str):
            try:
                files = json.loads(files)
            except json.JSONDecodeError:
                raise TaskError(f"task `{self.id}`: `inputFiles` must be a map or a JSON object") from None
        if not isinstance(files, dict):
            raise TaskError(f"task `{self.id}`: `inputFiles` must be a map of file name -> content or URI")
        for name, content in files.items():
            dest = (wd / str(name)).resolve()
            if not dest.is_relative_to(wd.resolve()):
                raise TaskError(f"task `{self.id}`: input file {name!r} would be written outside the working dir")
            dest.parent.mkdir(parents=True, exist_ok=True)
            text = "" if content is None else (content if isinstance(content, str) else json.dumps(content))
            if text.startswith("kestra://"):
                try:
                    shutil.copyfile(ctx.storage.local_path(text), dest)
                except Exception as e:  # noqa: BLE001 - storage reports missing files its own way
                    raise TaskError(f"task `{self.id}`: cannot read input file {name} from {text}: {e}") from None
            else:
                dest.write_text(text)

    def _output_paths(self, ctx: RunContext, wd: Path) -> dict[str, Path]:
        if not self.output_files:
            return {}
        names = ctx.render_typed(self.output_files)
        if isinstance(names, str):
            names = [names]
        return {str(n): wd / f"{n}_{uuid.uuid4().hex[:8]}" for n in names}

    def _database(self, ctx: RunContext, target: DuckTarget, wd: Path) -> str:
        if self.database_uri:
            uri = str(ctx.render(self.database_uri))
            dest = wd / f"{uuid.uuid4().hex}.duckdb"
            try:
                shutil.copyfile(ctx.storage.local_path(uri), dest)
            except Exception as e:  # noqa: BLE001
                raise TaskError(f"task `{self.id}`: cannot read databaseUri {uri}: {e}") from None
            return str(dest)
        if target.database is None:
            return str(wd / f"{uuid.uuid4().hex}.duckdb")
        return target.database

    def _community_extensions(self, ctx: RunContext, con: duckdb.DuckDBPyConnection) -> None:
        if not self.community_extensions:
            return
        for ext in ctx.render_typed(self.community_extensions) or []:
            try:
                con.execute(f"INSTALL {ext} FROM community")
                con.execute(f"LOAD {ext}")
            except Exception as e:  # noqa: BLE001 - best effort, as in Kestra
                ctx.logger.warn(f"community extension {ext} could not be installed or loaded: {e}")

    def _extras(self, ctx: RunContext, output_paths: dict[str, Path], db_path: str) -> dict[str, Any]:
        extras: dict[str, Any] = {}
        if output_paths:
            extras["outputFiles"] = {
                name: ctx.storage.put_file(path, path.name) for name, path in output_paths.items() if path.exists()
            }
        if as_bool(ctx.render_typed(self.output_db_file)) and Path(db_path).exists():
            extras["databaseUri"] = ctx.storage.put_file(Path(db_path), "database.duckdb")
        return extras


class Query(_DuckDb):
    """Run SQL on DuckDB and return the last statement's result as `row`, `rows` or an Ion file `uri`.

    `inputFiles` are written into the working dir, which is DuckDB's file_search_path and `{{ workingDir }}`.
    Several statements are accepted (the 2025 zoomcamp flow): they all run, and the last one's result is returned.
    `INSTALL`/`LOAD` of an extension built into DuckDB (json, parquet…) is skipped, so it works offline.
    """

    after_sql: str | None = Field(default=None, alias="afterSQL")

    def run(self, ctx: RunContext) -> dict[str, Any]:
        if self.after_sql:
            raise TaskError(f"task `{self.id}`: afterSQL is not supported by the DuckDB Query task in flowrun")
        return self._run_duck(ctx, transaction=False, last_only=True)


class Queries(_DuckDb):
    """Run several SQL statements on DuckDB (one transaction by default): `outputs` has one entry per result set."""

    transaction: Any = True

    def run(self, ctx: RunContext) -> dict[str, Any]:
        return self._run_duck(ctx, transaction=as_bool(ctx.render_typed(self.transaction)), last_only=False)


def _builtin_extensions(con: Any) -> dict[str, tuple[bool, bool]]:
    """extension name -> (INSTALL needs no download, LOAD is already done)."""
    rows = con.execute("SELECT extension_name, install_mode, loaded, installed FROM duckdb_extensions()").fetchall()
    return {name: (mode == "STATICALLY_LINKED" or bool(installed), bool(loaded)) for name, mode, loaded, installed in rows}


def _skip(statement: str, builtin: dict[str, tuple[bool, bool]]) -> bool:
    """INSTALL of a built-in or installed extension, or LOAD of a loaded one: nothing to do, and no network."""
    if m := _INSTALL.match(statement):
        return builtin.get(m.group(1).lower(), (False, False))[0] and "FORCE" not in statement[: m.start(1)].upper()
    if m := _LOAD.match(statement):
        return builtin.get(m.group(1).lower(), (False, False))[1]
    return False


def _returns_rows(st: Any, con: Any) -> bool:
    """Whether the statement produced a result set, as DuckDB's JDBC driver reports it."""
    import duckdb

    expected = list(st.expected_result_type)
    if expected == [duckdb.ExpectedResultType.QUERY_RESULT]:
        return True
    if duckdb.ExpectedResultType.QUERY_RESULT not in expected:
        return False
    description = [d[0] for d in con.description or []]
    return description not in (["Count"], ["Success"], [])


def _rollback(con: Any, transaction: bool) -> None:
    if not transaction:
        return
    try:
        con.rollback()
    except Exception:  # noqa: BLE001 - no transaction open, or the connection is gone
        pass


def _quote(text: str) -> str:
    return text.replace("'", "''")
