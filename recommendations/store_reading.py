"""Reading the store for training: every product as a frame and every interaction as numpy arrays.

Interactions are read as four numpy arrays (customer pk, product pk, kind code, seconds since
the epoch), never as model objects or per-row Python values. On PostgreSQL the server packs
them: ``COPY (...) TO STDOUT (FORMAT BINARY)`` over blocks of table pages sends one row per
block holding one binary array per column, which numpy reads where it lies (a message per
event would cost more in Python than everything else in the read). Two connections read the
two halves of the table in one exported snapshot, the products included, so every event's
product is in the products frame. SQLite (and PostgreSQL before 14, which has no TID range
scans) reads through a chunked cursor: the same arrays, a chunk of rows at a time.
"""

import struct
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pandas as pd
from django.db import connection, connections, transaction

from recommendations.engine.interactions import EVENT_KINDS
from recommendations.store import epoch_seconds_sql
from shop.models import Interaction, Product

READ_CHUNK_ROWS = 200_000
# Table pages per COPY row: about 100,000 events, a 4 MB message, at the demo store's row size.
COPY_BLOCK_PAGES = 1024
# Connections reading the table at once (one core each on the server).
COPY_CONNECTIONS = 2
# Seconds from the Unix epoch to PostgreSQL's (2000-01-01), in microseconds.
POSTGRES_EPOCH_MICROS = 946_684_800 * 1_000_000
COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
# The highest page a tid can name: the upper bound of the last, open-ended range.
OPEN_END_PAGE = 0xFFFFFFFE
KIND_CODE_SQL = "CASE kind " + " ".join(f"WHEN '{kind}' THEN {code}" for code, kind in enumerate(EVENT_KINDS)) + " ELSE -1 END"


def _kind_codes_by_length() -> np.ndarray:
    """Return the kind code of each name length in bytes (-1: no kind has it)."""
    lengths = [len(kind.encode()) for kind in EVENT_KINDS]
    if len(set(lengths)) != len(lengths) or max(lengths) > 15:
        raise ImportError("the COPY read needs event kind names of distinct lengths under 16 bytes")
    table = np.full(16, -1, dtype=np.int8)
    table[lengths] = np.arange(len(lengths))
    return table


# COPY sends each event's kind as its length in bytes, packed under the product id
# (product_id * 16 + octet_length(kind)): comparing strings per row cost the server more than
# the whole rest of the read, and the four kinds' names differ in length.
KIND_BY_LENGTH = _kind_codes_by_length()


@dataclass(frozen=True)
class InteractionArrays:
    """Every interaction as parallel arrays, in the order the database returned them."""

    customer_pks: np.ndarray  # int64
    product_pks: np.ndarray  # int64
    kinds: np.ndarray  # int8, the engine's EVENT_KINDS codes
    seconds: np.ndarray  # float64, since the Unix epoch

    def __len__(self) -> int:
        return int(self.customer_pks.size)

    @classmethod
    def concatenate(cls, parts: list["InteractionArrays"]) -> "InteractionArrays":
        """Return the parts end to end, emptying ``parts``: each column's pieces go once it is joined."""
        if len(parts) == 1:
            return parts.pop()
        pieces = {name: [getattr(part, name) for part in parts] for name in ARRAY_DTYPES}
        parts.clear()
        return cls(**{
            name: np.concatenate(pieces.pop(name)) if pieces[name] else np.zeros(0, dtype=dtype)
            for name, dtype in ARRAY_DTYPES.items()
        })  # fmt: skip


ARRAY_DTYPES = {"customer_pks": np.int64, "product_pks": np.int64, "kinds": np.int8, "seconds": np.float64}


class _ArraysBuilder:
    """Columns filled block by block into buffers sized for the most rows the pages read can hold.

    A buffer's memory becomes resident only where it is written, so the unused tail costs
    address space, not RAM, and no event is copied twice (growing, should a bound be wrong, copies).
    """

    def __init__(self, capacity: int):
        self.columns = {name: np.empty(max(capacity, 1), dtype=dtype) for name, dtype in ARRAY_DTYPES.items()}
        self.size = 0

    def add(self, **values: np.ndarray) -> None:
        count = values["customer_pks"].size
        if self.size + count > self.columns["customer_pks"].size:
            self.columns = {
                name: np.concatenate((column[: self.size], np.empty(max(count, column.size), dtype=column.dtype)))
                for name, column in self.columns.items()
            }
        for name, value in values.items():
            self.columns[name][self.size : self.size + count] = value
        self.size += count

    def finish(self) -> InteractionArrays:
        return InteractionArrays(**{name: column[: self.size] for name, column in self.columns.items()})


def products_frame() -> pd.DataFrame:
    """Return every product (inactive ones too, flagged unavailable) in the engine's columns, ordered by pk.

    The engine knows a category by its slug (names repeat under different parents: "Cameras >
    Accessories", "Computers > Accessories"); its name goes into the product's text.
    """
    rows = Product.objects.order_by("pk").values_list(
        "pk", "product_id", "title", "category__slug", "category__name", "description", "is_active", "stock"
    )
    frame = pd.DataFrame.from_records(
        list(rows), columns=["pk", "item_id", "title", "category", "category_name", "description", "is_active", "stock"]
    )
    stock = pd.to_numeric(frame["stock"], errors="coerce")
    frame["available"] = frame["is_active"].astype(bool) & (stock.isna() | (stock > 0))
    return frame.drop(columns=["is_active", "stock"])


def interaction_arrays_simple() -> InteractionArrays:
    """Return every interaction through a chunked cursor (any database): a chunk of rows at a time."""
    table = Interaction._meta.db_table
    sql = f"SELECT customer_id, product_id, {KIND_CODE_SQL}, {epoch_seconds_sql('timestamp')} FROM {table}"
    parts = []
    with transaction.atomic(), connection.chunked_cursor() as cursor:
        cursor.execute(sql, [])  # with parameters, as epoch_seconds_sql expects
        while rows := cursor.fetchmany(READ_CHUNK_ROWS):
            chunk = np.array(rows, dtype=object)
            parts.append(InteractionArrays(
                chunk[:, 0].astype(np.int64), chunk[:, 1].astype(np.int64), chunk[:, 2].astype(np.int8), chunk[:, 3].astype(np.float64)
            ))  # fmt: skip
    return InteractionArrays.concatenate(parts)


def store_read(*, block_pages: int = COPY_BLOCK_PAGES, connections_count: int = COPY_CONNECTIONS) -> tuple[pd.DataFrame, InteractionArrays]:
    """Return the products frame and every interaction, read in one snapshot where the database has them."""
    if connection.vendor == "postgresql" and connection.pg_version >= 140000:
        return store_read_postgresql(block_pages=block_pages, connections_count=connections_count)
    with transaction.atomic():
        return products_frame(), interaction_arrays_simple()


def store_read_postgresql(*, block_pages: int, connections_count: int) -> tuple[pd.DataFrame, InteractionArrays]:
    """Read products and interactions in one snapshot: this connection exports it, the others import it.

    Inside a caller's transaction (whose rows may not be committed yet) everything is read on
    this connection alone.
    """
    table = Interaction._meta.db_table
    if connection.in_atomic_block:
        n_pages = _table_pages(table)
        return products_frame(), _copy_pages(connection, table, [(0, None)], block_pages, n_pages)
    with _repeatable_read():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_export_snapshot()")
            (snapshot,) = cursor.fetchone()
        n_pages = _table_pages(table)
        ranges = _page_ranges(n_pages, connections_count)
        with ThreadPoolExecutor(max_workers=max(len(ranges) - 1, 1)) as pool:
            others = [pool.submit(_copy_in_snapshot, snapshot, table, [bounds], block_pages, n_pages) for bounds in ranges[1:]]
            products = products_frame()
            parts = [_copy_pages(connection, table, ranges[:1], block_pages, n_pages)]
            parts.extend(future.result() for future in others)
    return products, InteractionArrays.concatenate(parts)


@contextmanager
def _repeatable_read():
    """Run the block in a REPEATABLE READ transaction on this thread's connection."""
    from psycopg import IsolationLevel

    connection.close_if_health_check_failed()  # now, not as the transaction's first statement
    connection.ensure_connection()
    raw = connection.connection
    previous = raw.isolation_level
    raw.isolation_level = IsolationLevel.REPEATABLE_READ  # psycopg begins the next transaction with it
    try:
        with transaction.atomic():
            yield
    finally:
        if connection.connection is raw and not raw.closed:
            raw.isolation_level = previous


def _copy_in_snapshot(snapshot: str, table: str, ranges: list, block_pages: int, n_pages: int) -> InteractionArrays:
    """Read page ranges on this thread's own connection, in the snapshot another transaction exported."""
    from psycopg import IsolationLevel

    worker = connections["default"]  # a connection of this thread's own
    try:
        worker.ensure_connection()
        worker.connection.isolation_level = IsolationLevel.REPEATABLE_READ
        with transaction.atomic(using=worker.alias):
            with worker.cursor() as cursor:
                cursor.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")  # the server's own id: [0-9A-F-]
            return _copy_pages(worker, table, ranges, block_pages, n_pages)
    finally:
        worker.close()


def _table_pages(table: str) -> int:
    """Return the table's size in pages now; pages added later hold only rows this snapshot cannot see."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_relation_size(%s) / current_setting('block_size')::int", [table])
        return int(cursor.fetchone()[0])


def _page_ranges(n_pages: int, parts: int) -> list[tuple[int, int | None]]:
    """Cut pages 0..n_pages into ``parts`` ranges; the last one is open-ended."""
    parts = max(1, min(parts, n_pages))
    cuts = [n_pages * i // parts for i in range(parts + 1)]
    return [(cuts[i], cuts[i + 1] if i + 1 < parts else None) for i in range(parts)]


def _copy_pages(db, table: str, ranges: list, block_pages: int, n_pages: int) -> InteractionArrays:
    """Return the interactions stored in these page ranges, by one binary COPY of one array per column and block."""
    blocks = []
    for first, stop in ranges:
        end = n_pages if stop is None else stop
        starts = list(range(first, max(end, first + 1), block_pages))
        for position, start in enumerate(starts):
            last = position == len(starts) - 1
            upper = (OPEN_END_PAGE if stop is None else stop) if last else start + block_pages
            blocks.append(f"({start}, {upper})")
    sql = (
        "COPY (SELECT events.* FROM (VALUES " + ", ".join(blocks) + ") AS block(first, stop), LATERAL ("
        "SELECT array_agg(customer_id), array_agg(product_id * 16 + octet_length(kind)), array_agg(\"timestamp\") "
        f"FROM {table} WHERE ctid >= format('(%s,0)', block.first)::tid "
        "AND ctid < format('(%s,0)', block.stop)::tid) AS events) TO STDOUT (FORMAT BINARY)"
    )
    pages = sum((n_pages if stop is None else stop) - first for first, stop in ranges)
    builder = _ArraysBuilder(pages * _most_rows_per_page(db))
    with db.cursor() as cursor, cursor.copy(sql) as copy:
        reader = _CopyArraysReader()
        for message in copy:
            reader.feed(message, builder)
    return builder.finish()


def _most_rows_per_page(db) -> int:
    """Return how many rows a heap page can hold at most (PostgreSQL's MaxHeapTuplesPerPage)."""
    with db.cursor() as cursor:
        cursor.execute("SELECT current_setting('block_size')::int")
        block_size = int(cursor.fetchone()[0])
    return (block_size - 24) // (24 + 4)  # page header; aligned tuple header plus line pointer


class _CopyArraysReader:
    """Decode the binary COPY rows of (customer ids[], product ids and kinds[], timestamps[]) into arrays."""

    COLUMNS = (np.dtype(">i8"), np.dtype(">i8"), np.dtype(">i8"))

    def __init__(self):
        self.started = False

    def feed(self, message, builder: _ArraysBuilder) -> None:
        data = memoryview(message)
        offset = 0
        if not self.started:
            if bytes(data[: len(COPY_SIGNATURE)]) != COPY_SIGNATURE:
                raise ValueError("not a binary COPY stream")
            (extension,) = struct.unpack_from(">i", data, len(COPY_SIGNATURE) + 4)
            offset = len(COPY_SIGNATURE) + 8 + extension
            self.started = True
        while offset < len(data):
            (fields,) = struct.unpack_from(">h", data, offset)
            offset += 2
            if fields == -1:  # the trailer
                break
            if fields != len(self.COLUMNS):
                raise ValueError(f"COPY row has {fields} fields, expected {len(self.COLUMNS)}")
            columns = []
            for dtype in self.COLUMNS:
                values, offset = _binary_array(data, offset, dtype)
                columns.append(values)
            customers, products_and_kinds, micros = columns
            if customers.size:
                products_and_kinds = products_and_kinds.astype(np.int64)
                kinds = KIND_BY_LENGTH[products_and_kinds & 15]
                if (kinds < 0).any():
                    raise ValueError("an interaction of an unknown kind")
                builder.add(
                    customer_pks=customers,
                    product_pks=products_and_kinds >> 4,
                    kinds=kinds,
                    seconds=(micros.astype(np.int64) + POSTGRES_EPOCH_MICROS) / 1e6,  # one rounding, as EXTRACT(EPOCH) gives
                )


def _binary_array(data: memoryview, offset: int, dtype: np.dtype) -> tuple[np.ndarray, int]:
    """Return a one-dimensional array field of a binary COPY row (NULL: empty) and the offset after it."""
    (length,) = struct.unpack_from(">i", data, offset)
    offset += 4
    if length < 0:  # array_agg over a block without rows
        return np.zeros(0, dtype=dtype), offset
    end = offset + length
    dimensions, has_nulls, _element_type = struct.unpack_from(">iiI", data, offset)
    if dimensions == 0:
        return np.zeros(0, dtype=dtype), end
    if dimensions != 1 or has_nulls:
        raise ValueError("expected a one-dimensional array without NULLs")
    (count,) = struct.unpack_from(">i", data, offset + 12)
    elements = np.frombuffer(data, dtype=np.dtype([("length", ">i4"), ("value", dtype)]), count=count, offset=offset + 20)
    if count and (elements["length"] != dtype.itemsize).any():
        raise ValueError("unexpected element width in a COPY array")
    return elements["value"], end


def interactions_frame(arrays: InteractionArrays, *, product_pks: np.ndarray) -> pd.DataFrame:
    """Return the engine's interactions frame: customer pk, row of the products frame, kind code, seconds.

    ``product_pks`` is the products frame's pk column (ascending); an event naming another
    product gets item_index -1, which the engine drops and counts.
    """
    return pd.DataFrame(
        {
            "user_id": arrays.customer_pks,
            "item_index": _positions(np.asarray(product_pks, dtype=np.int64), arrays.product_pks),
            "kind": arrays.kinds,
            "timestamp": arrays.seconds,
        },
        copy=False,
    )


def _positions(sorted_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Return the position of each key in ``sorted_keys`` (-1 when absent), without a per-key Python step."""
    if sorted_keys.size == 0:
        return np.full(keys.size, -1, dtype=np.int64)
    if 0 <= sorted_keys[0] and sorted_keys[-1] < 4 * sorted_keys.size + 1_000_000:
        table = np.full(int(sorted_keys[-1]) + 1, -1, dtype=np.int64)  # dense pks: one lookup per key
        table[sorted_keys] = np.arange(sorted_keys.size)
        inside = (keys >= 0) & (keys < table.size)
        return np.where(inside, table[np.where(inside, keys, 0)], -1)
    positions = np.minimum(np.searchsorted(sorted_keys, keys), sorted_keys.size - 1)
    return np.where(sorted_keys[positions] == keys, positions, -1)
