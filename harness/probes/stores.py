"""What the services a sample keeps its data in hold (deployment.services: PostgreSQL, Redis), as
the same ``StoredValue`` records ``harness.checks.data.stored_values`` gives for data files, so the
storage checks judge a row of a PostgreSQL table exactly as a row of a SQLite file.

The lab reads as the service's superuser (the lab started the service: harness.deploy.services),
read-only, and within bounds: rows per table, keys, bytes per value and bytes in all. What the
bounds left out is named in the summary, never silently dropped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class StoredValue:
    """One value a sample keeps (a file's line, a table's cell, a Redis key's value), where it was
    found, and the other columns of its row (whose password a hash is, say)."""

    where: str  # file, or file:table.column[row]
    column: str | None
    value: str
    row: Mapping[str, Any] = field(default_factory=dict)  # the other columns of the same row


MAX_ROWS_PER_TABLE = 5_000
MAX_TABLES = 500
MAX_KEYS = 20_000
MAX_ITEMS_PER_KEY = 1_000  # list elements, hash fields, set members
MAX_VALUE_BYTES = 64 * 1024  # a longer value is cut there (a secret is near its start, or in a row of its own)
MAX_TOTAL_BYTES = 64 * 1024 * 1024
TIMEOUT_S = 20


@dataclass
class StoreRead:
    service: str
    kind: str
    values: list[StoredValue] = field(default_factory=list)
    objects: int = 0  # tables or keys read
    rows: int = 0
    left_out: list[str] = field(default_factory=list)  # what the bounds cut
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error

    def summary(self) -> str:
        """One line for the check's observation (Chinese, as the storage check's others)."""
        what = "PostgreSQL 数据库" if self.kind == "postgresql" else "Redis"
        if self.error:
            return f"服务 {self.service}（{what}，{self.error}）"
        unit = "张表" if self.kind == "postgresql" else "个键"
        cut = f"，受读取上限截断：{'、'.join(self.left_out[:5])}" if self.left_out else ""
        return f"服务 {self.service}（{what}，{self.objects} {unit}，{self.rows} 行，{len(self.values)} 个文本值{cut}）"


class _Budget:
    def __init__(self) -> None:
        self.used = 0

    def take(self, text: str) -> str | None:
        """The value as kept (cut at MAX_VALUE_BYTES), or None when the total is spent."""
        if self.used >= MAX_TOTAL_BYTES:
            return None
        b = text.encode("utf-8", errors="replace")[:MAX_VALUE_BYTES]
        self.used += len(b)
        return b.decode("utf-8", errors="ignore")


def _text(v: Any) -> str | None:
    """A cell as the text a storage check reads: strings, UTF-8 bytes, JSON documents; not numbers."""
    if isinstance(v, str):
        return v or None
    if isinstance(v, bytes | bytearray | memoryview):
        try:
            return bytes(v).decode("utf-8") or None
        except UnicodeDecodeError:
            return None
    if isinstance(v, dict | list) and v:
        return json.dumps(v, ensure_ascii=False, default=str)
    return None


def read_services(deployment: Any) -> list[StoreRead]:
    """Every declared PostgreSQL and Redis service of the deployment, read."""
    out = []
    for svc in (getattr(deployment, "services", None) or {}).values():
        conn = svc.lab_connection()
        try:
            out.append(postgresql_values(svc.name, conn) if svc.kind == "postgresql" else redis_values(svc.name, conn))
        except Exception as e:  # noqa: BLE001 - any client failure: the store could not be read (a lab error upstream)
            out.append(StoreRead(svc.name, svc.kind, error=f"无法读取：{type(e).__name__}: {str(e).strip()[:200]}"))
    return out


# -- PostgreSQL ------------------------------------------------------------------------------------
def postgresql_values(service: str, conn_kwargs: dict[str, Any]) -> StoreRead:
    import psycopg
    from psycopg import sql

    res = StoreRead(service, "postgresql")
    budget = _Budget()
    with psycopg.connect(**conn_kwargs, connect_timeout=10, autocommit=True) as conn:
        conn.execute("SET default_transaction_read_only = on")
        conn.execute(sql.SQL("SET statement_timeout = {}").format(sql.Literal(f"{TIMEOUT_S}s")))
        tables = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema') "
            "ORDER BY 1, 2"
        ).fetchall()
        if len(tables) > MAX_TABLES:
            res.left_out.append(f"表 {len(tables) - MAX_TABLES} 张未读")
            tables = tables[:MAX_TABLES]
        for schema, table in tables:
            name = table if schema == "public" else f"{schema}.{table}"
            cur = conn.execute(
                sql.SQL("SELECT * FROM {}.{} LIMIT {}").format(
                    sql.Identifier(schema), sql.Identifier(table), sql.Literal(MAX_ROWS_PER_TABLE + 1)
                )
            )
            cols = [d.name for d in cur.description or []]
            rows = cur.fetchall()
            if len(rows) > MAX_ROWS_PER_TABLE:
                res.left_out.append(f"{name} 仅读前 {MAX_ROWS_PER_TABLE} 行")
                rows = rows[:MAX_ROWS_PER_TABLE]
            res.objects += 1
            res.rows += len(rows)
            spent = _rows(res, budget, f"{service}:{name}", cols, rows)
            if spent:
                res.left_out.append(f"总量达 {MAX_TOTAL_BYTES // (1024 * 1024)} MiB 后未再读取")
                break
    return res


def _rows(res: StoreRead, budget: _Budget, where: str, cols: list[str], rows: Iterable[Iterable[Any]]) -> bool:
    """Add the text cells of these rows; True when the byte budget ran out."""
    for i, row in enumerate(rows, 1):
        as_dict = dict(zip(cols, row, strict=True))
        for col, v in as_dict.items():
            text = _text(v)
            if text is None:
                continue
            kept = budget.take(text)
            if kept is None:
                return True
            res.values.append(StoredValue(f"{where}.{col}[{i}]", col, kept, as_dict))
    return False


# -- Redis -----------------------------------------------------------------------------------------
def redis_values(service: str, conn_kwargs: dict[str, Any]) -> StoreRead:
    import redis

    res = StoreRead(service, "redis")
    budget = _Budget()
    client = redis.Redis(**conn_kwargs, socket_timeout=TIMEOUT_S)
    try:
        for n, key in enumerate(client.scan_iter(count=500)):
            if n >= MAX_KEYS:
                res.left_out.append(f"仅读前 {MAX_KEYS} 个键")
                break
            name = key.decode("utf-8", errors="replace")
            items = list(_redis_items(client, key, name))
            res.objects += 1
            res.rows += 1
            row = {col or name: v for col, v in items}
            for col, v in items:
                kept = budget.take(v)
                if kept is None:
                    res.left_out.append(f"总量达 {MAX_TOTAL_BYTES // (1024 * 1024)} MiB 后未再读取")
                    return res
                where = f"{service}:{name}" + (f".{col}" if col else "")
                res.values.append(StoredValue(where, col or name, kept, row))
    finally:
        client.close()
    return res


def _redis_items(client: Any, key: bytes, name: str) -> Iterator[tuple[str | None, str]]:
    """(field, text) for one key: a string is one value named by its key, a hash gives its fields."""
    kind = client.type(key).decode()
    raw: list[tuple[str | None, Any]] = []
    if kind == "string":
        raw = [(None, client.getrange(key, 0, MAX_VALUE_BYTES - 1))]
    elif kind == "hash":
        raw = [(f.decode("utf-8", errors="replace"), v) for f, v in _first(client.hscan_iter(key), MAX_ITEMS_PER_KEY)]
    elif kind == "list":
        raw = [(str(i), v) for i, v in enumerate(client.lrange(key, 0, MAX_ITEMS_PER_KEY - 1))]
    elif kind == "set":
        raw = [(None, v) for v in _first(client.sscan_iter(key), MAX_ITEMS_PER_KEY)]
    elif kind == "zset":
        raw = [(None, v) for v in client.zrange(key, 0, MAX_ITEMS_PER_KEY - 1)]
    elif kind == "stream":
        for _id, fields in client.xrange(key, count=MAX_ITEMS_PER_KEY):
            raw += [(f.decode("utf-8", errors="replace"), v) for f, v in fields.items()]
    for col, v in raw:
        text = _text(v)
        if text is not None:
            yield col, text


def _first(it: Iterable[Any], n: int) -> Iterator[Any]:
    for i, x in enumerate(it):
        if i >= n:
            return
        yield x
