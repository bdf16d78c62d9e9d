"""Writing many rows at once, the same way on both databases.

The clock's batches (bot/engine/batch.py) and the conversation write-back of every step use
these. PostgreSQL: COPY for new rows and one UPDATE joined to unnest() of one array per column,
so the server plans once per batch; SQLite: multi-row INSERTs and one compiled UPDATE run with
executemany.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import bindparam, insert, text, update
from sqlalchemy.orm import Session


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def insert_rows(session: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    """New rows, every one with the same keys (columns left out take their defaults)."""
    if not rows:
        return
    if is_postgres(session):
        # COPY: about four times faster than multi-row INSERTs for a batch of messages
        # (bench/tick.py), in the same transaction as everything else.
        _copy_rows(session, table, rows)
    else:
        session.execute(insert(table), rows)


def update_rows(session: Session, table: Any, key: str, names: list[str],
                rows: list[tuple[Any, ...]], from_rows: dict[str, str],
                constant: dict[str, Any]) -> None:
    """UPDATE many rows, each with its own values, in one round trip.

    `names` are the tuple's fields (the key among them); `from_rows` maps a column to the
    field it takes its value from; `constant` sets the same value on every row.
    """
    if not rows:
        return
    if is_postgres(session):
        _update_unnest(session, table, key, names, rows, from_rows, constant)
        return
    types = {name: table.c[target].type for target, name in from_rows.items()}
    statement = update(table).where(table.c[key] == bindparam("b_" + key)).values(
        {**{t: bindparam("b_" + n, type_=types[n]) for t, n in from_rows.items()},
         **constant})
    session.connection().execute(
        statement, [{f"b_{n}": v for n, v in zip(names, row, strict=True)} for row in rows])


# --- PostgreSQL --------------------------------------------------------------------------------

_PG_TYPES = {"BIGINT": "bigint", "BIGINTEGER": "bigint", "INTEGER": "bigint", "VARCHAR": "text",
             "TEXT": "text", "JSON": "json", "UTCDATETIME": "timestamp", "DATETIME": "timestamp",
             "BOOLEAN": "boolean"}


def _pg_type(sql_type: Any) -> str:
    name = type(sql_type).__name__.upper()
    if name == "VARIANT" or hasattr(sql_type, "impl") and name not in _PG_TYPES:
        name = type(getattr(sql_type, "impl", sql_type)).__name__.upper()
    return _PG_TYPES.get(name, "text")


def _pg_value(value: Any, pg_type: str) -> Any:
    if value is None:
        return None
    if pg_type == "json":
        return json.dumps(value)
    if pg_type == "timestamp":
        return value.astimezone(dt.UTC).replace(tzinfo=None)  # columns hold naive UTC
    return value


def _arrays(table: Any, columns: list[str], rows: list[tuple[Any, ...]]
            ) -> tuple[str, dict[str, list[Any]]]:
    """`unnest(:a0::bigint[], ...) AS u(c0, ...)` and its parameters, one array per column."""
    types = [_pg_type(table.c[c].type) for c in columns]
    # json travels as text and is cast per element: psycopg sends a list of str as text[].
    parts = [f"unnest(CAST(:a{i} AS {'text' if t == 'json' else t}[]))"
             for i, t in enumerate(types)]
    params = {f"a{i}": [_pg_value(row[i], t) for row in rows] for i, t in enumerate(types)}
    return f"{', '.join(parts)}", params


def _copy_rows(session: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    """New rows through PostgreSQL's COPY, on the session's own connection and transaction.
    Every row has the same keys; columns left out take their defaults."""
    columns = list(rows[0])
    types = [_pg_type(table.c[c].type) for c in columns]
    driver = session.connection().connection.driver_connection
    with driver.cursor() as cursor, cursor.copy(  # type: ignore[union-attr]
            f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([_pg_value(row[c], t) for c, t in zip(columns, types, strict=True)])


def _update_unnest(session: Session, table: Any, key: str, names: list[str],
                   rows: list[tuple[Any, ...]], from_rows: dict[str, str],
                   constant: dict[str, Any]) -> None:
    target_of = {name: target for target, name in from_rows.items()}
    columns = [target_of.get(name, key) for name in names]
    unnested, params = _arrays(table, columns, rows)
    casts = {t: "::json" if _pg_type(table.c[t].type) == "json" else "" for t in from_rows}
    sets = [f"{t} = u.{n}{casts[t]}" for t, n in from_rows.items()]
    for i, (column_name, value) in enumerate(constant.items()):
        sets.append(f"{column_name} = :k{i}")
        params[f"k{i}"] = _pg_value(value, _pg_type(table.c[column_name].type))
    session.execute(text(
        f"UPDATE {table.name} SET {', '.join(sets)} FROM (SELECT {unnested}) "
        f"AS u({', '.join(names)}) WHERE {table.name}.{key} = u.{key}"), params)
