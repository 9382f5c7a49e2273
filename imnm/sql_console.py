"""Read-only SQL over the published results (or the working warehouse) for analysts."""

from __future__ import annotations

import io
from contextlib import redirect_stdout
from pathlib import Path

import duckdb

READ_ONLY_STATEMENTS = frozenset({duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN})


class WriteRefusedError(ValueError):
    """The statement would change data; the SQL console only reads."""


def check_read_only(query: str) -> None:
    """Raise unless every statement in `query` is a query (SELECT, DESCRIBE, SHOW, EXPLAIN)."""
    statements = duckdb.connect(":memory:").extract_statements(query)
    if not statements:
        raise ValueError("no SQL statement given")
    for statement in statements:
        if statement.type not in READ_ONLY_STATEMENTS:
            raise WriteRefusedError(
                f"refused: {statement.type.name} statements change data; `imnm sql` only reads "
                "(SELECT, WITH ... SELECT, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN)")


def run_query(database: Path, query: str, *, max_rows: int = 40, csv: Path | None = None,
              parquet: Path | None = None) -> str:
    """Run a read-only query on `database`; returns the rendered table, optionally writes files."""
    check_read_only(query)
    if not database.exists():
        raise FileNotFoundError(f"no database at {database}: run `imnm refresh` first")
    con = duckdb.connect(str(database), read_only=True)
    try:
        relation = con.sql(query)
        if relation is None:
            return ""
        if csv is not None:
            relation.write_csv(str(csv), header=True)
        if parquet is not None:
            relation.write_parquet(str(parquet))
        return _render(relation, max_rows)
    finally:
        con.close()


def _render(relation: duckdb.DuckDBPyRelation, max_rows: int) -> str:
    """DuckDB's own box rendering of the result, as its CLI prints it."""
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        relation.show(max_rows=max_rows, max_width=200)
    return buffer.getvalue()
