"""CSV import of the catalog and of behaviour, in the older Flask engine's formats.

Both importers stream the file in chunks, validate every row, and write each chunk with a
few bulk statements inside one transaction: memory stays bounded, a chunk is never half
written, and importing the same file again changes nothing. Rejected rows are reported with
their physical line number (the header is line 1), so a person can find them in an editor.
"""

import csv
import hashlib
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import partial
from pathlib import Path

import numpy as np
from django.db import connection, transaction
from django.utils.text import slugify

from shop.activity import customer_activity_bump_on_commit
from shop.event_parsing import EventTimeError, event_time_check, kind_parse, timestamp_parse
from shop.models import Category, Customer, Interaction, Product

PRODUCT_COLUMNS = ("product_id", "title", "category", "description", "price", "img_url")
PRODUCT_OPTIONAL_COLUMNS = ("currency", "stock", "is_active", "item_group_id")
INTERACTION_COLUMNS = ("user_id", "product_id", "interaction_type", "ts")

DEFAULT_CHUNK_SIZE = 5_000
WRITE_BATCH_SIZE = 2_000
LOOKUP_BATCH_SIZE = 1_000
REJECTIONS_LISTED = 1_000
EVENT_ID_PREFIX = "csv-"

Progress = Callable[[int], None]


class ImportFileError(Exception):
    """The file as a whole cannot be imported: missing, unreadable, or with the wrong header."""


@dataclass(frozen=True)
class RejectedRow:
    line: int
    reason: str


@dataclass
class ImportReport:
    """What an import did, row by row; `rolled_back` means --strict found bad rows and wrote nothing."""

    path: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    rejections: list[RejectedRow] = field(default_factory=list)
    related_created: Counter = field(default_factory=Counter)
    rolled_back: bool = False
    seconds: float = 0.0

    def reject(self, line: int, reason: str) -> None:
        self.rejected += 1
        if len(self.rejections) < REJECTIONS_LISTED:
            self.rejections.append(RejectedRow(line, reason))

    def discard_writes(self) -> None:
        self.created = self.updated = self.unchanged = 0
        self.related_created.clear()
        self.rolled_back = True

    def summary(self) -> str:
        counts = (
            f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged, {self.rejected} rejected"
        )
        related = "".join(f", {count} new {name}" for name, count in sorted(self.related_created.items()))
        text = f"{self.path}: {self.rows} rows in {self.seconds:.1f} s: {counts}{related}."
        if self.rolled_back:
            text += " Nothing was written (--strict and some rows were rejected)."
        return text

    def rejection_lines(self) -> list[str]:
        lines = [f"line {row.line}: {row.reason}" for row in self.rejections]
        if self.rejected > len(self.rejections):
            lines.append(f"... and {self.rejected - len(self.rejections)} more rejected rows not listed")
        return lines


def products_import(
    *,
    path: str | Path,
    strict: bool = False,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: Progress | None = None,
) -> ImportReport:
    """Upsert products by product_id from `product_id,title,category,description,price,img_url`.

    Optional columns `currency`, `stock`, `is_active` and `item_group_id` are applied when the file
    has them; an empty cell means the model's default (USD, stock not tracked, active, no group).
    Variants of one product share an `item_group_id`, so a recommendation list shows one. Categories are
    created by name. A product_id repeated in the file is rejected, so a re-import is a no-op.
    """
    return _csv_import(
        path=path,
        columns=PRODUCT_COLUMNS,
        optional_columns=PRODUCT_OPTIONAL_COLUMNS,
        strict=strict,
        chunk_size=chunk_size,
        progress=progress,
        validate=partial(_products_validate, first_lines={}),
        write=_products_write,
    )


def interactions_import(
    *,
    path: str | Path,
    strict: bool = False,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: Progress | None = None,
) -> ImportReport:
    """Add interactions from `user_id,product_id,interaction_type,ts`, each stored once.

    Products must already exist; customers are created by user_id. A ts before 2000-01-01 UTC or
    more than 15 minutes ahead is rejected (`shop.event_parsing`). The event_id of each row is
    derived from its content (and, for exact repeats within the file, from how many times it
    was seen before), so re-importing a file, or an overlapping export, stores nothing twice.
    """
    return _csv_import(
        path=path,
        columns=INTERACTION_COLUMNS,
        optional_columns=(),
        strict=strict,
        chunk_size=chunk_size,
        progress=progress,
        validate=partial(_interactions_validate, occurrences=OccurrenceCounter()),
        write=_interactions_write,
    )


def csv_line_count(path: str | Path) -> int:
    """Return the number of physical lines, the unit of import progress."""
    count = 0
    last_block = b""
    with open(path, "rb") as handle:
        for block in iter(partial(handle.read, 1 << 20), b""):
            count += block.count(b"\n")
            last_block = block
    return count + (1 if last_block and not last_block.endswith(b"\n") else 0)


@contextmanager
def import_progress_bar(path: str | Path, *, enabled: bool) -> Iterator[Progress | None]:
    """Yield a callback that advances a terminal progress bar over the file's lines, or None."""
    if not enabled:
        yield None
        return
    from tqdm import tqdm

    try:
        total = csv_line_count(path)
    except OSError:
        total = None
    with tqdm(total=total, unit=" lines", unit_scale=True, desc=Path(path).name, leave=False) as bar:
        yield bar.update


# The import loop


@dataclass
class _Chunk:
    records: list[tuple[int, dict[str, str]]]
    end_line: int


def _csv_import(
    *,
    path,
    columns: tuple[str, ...],
    optional_columns: tuple[str, ...],
    strict: bool,
    chunk_size: int,
    progress: Progress | None,
    validate: Callable[[list[tuple[int, dict[str, str]]], ImportReport], list],
    write: Callable[[list, ImportReport], None],
) -> ImportReport:
    """Validate and write a CSV chunk by chunk; under `strict`, all in one transaction rolled back on any rejection.

    Once a strict import has rejected a row the remaining chunks are only validated, so the
    report still lists every bad row.
    """
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    started = time.perf_counter()
    report = ImportReport(path=str(path))
    lines_reported = 0
    with _csv_opened(path) as handle, (transaction.atomic() if strict else nullcontext()):
        for chunk in _csv_chunks(handle, path, columns, optional_columns, chunk_size, report):
            rows = validate(chunk.records, report)
            if rows and not (strict and report.rejected):
                with transaction.atomic():
                    write(rows, report)
            if progress is not None:
                progress(chunk.end_line - lines_reported)
                lines_reported = chunk.end_line
        if strict and report.rejected:
            transaction.set_rollback(True)
            report.discard_writes()
    report.seconds = time.perf_counter() - started
    return report


@contextmanager
def _csv_opened(path):
    try:
        handle = open(path, newline="", encoding="utf-8-sig")
    except OSError as error:
        raise ImportFileError(f"cannot open {path}: {error.strerror or error}") from error
    with handle:
        yield handle


def _csv_chunks(handle, path, columns, optional_columns, chunk_size, report) -> Iterator[_Chunk]:
    """Yield records as {column: stripped value} with their first physical line; reject malformed ones."""
    reader = csv.reader(handle)
    try:
        header = next(reader, None)
        positions = _header_positions(header, path, columns, optional_columns)
        width = len(header)
        records: list[tuple[int, dict[str, str]]] = []
        end_line = yielded_end_line = reader.line_num
        for record in reader:
            line, end_line = end_line + 1, reader.line_num
            if not record:
                continue
            report.rows += 1
            if len(record) != width:
                report.reject(line, f"expected {width} fields, found {len(record)}")
            elif any("\x00" in value for value in record):
                report.reject(line, "contains a NUL character")
            else:
                records.append((line, {name: record[index].strip() for name, index in positions}))
            if len(records) >= chunk_size:
                yield _Chunk(records, end_line)
                records, yielded_end_line = [], end_line
        if records or end_line > yielded_end_line:
            yield _Chunk(records, end_line)
    except UnicodeDecodeError as error:
        raise ImportFileError(f"{path} is not UTF-8 text (near line {reader.line_num + 1})") from error
    except csv.Error as error:
        raise ImportFileError(f"{path}, line {reader.line_num}: {error}") from error


def _header_positions(header, path, columns, optional_columns) -> list[tuple[str, int]]:
    """Map each known column to its position, or fail naming the columns the file should have."""
    expected = ",".join(columns)
    optional = f" (optional: {','.join(optional_columns)})" if optional_columns else ""
    if not header:
        raise ImportFileError(f"{path} has no header line: expected {expected}{optional}")
    names = [name.strip().lower() for name in header]
    problems = []
    if missing := [name for name in columns if name not in names]:
        problems.append(f"missing {', '.join(missing)}")
    if unknown := [name for name in names if name not in columns and name not in optional_columns]:
        problems.append(f"unknown {', '.join(repr(name) for name in unknown)}")
    if repeated := sorted({name for name in names if names.count(name) > 1}):
        problems.append(f"repeated {', '.join(repeated)}")
    if problems:
        raise ImportFileError(f"{path}: the header must be {expected}{optional}; {'; '.join(problems)}")
    return [(name, index) for index, name in enumerate(names)]


def _in_batches(values: Iterable) -> Iterator[list]:
    """Split an `IN (...)` lookup into lists the database answers from an index.

    SQLite allows 999 parameters; PostgreSQL plans a sequential scan of a million-row table
    for an IN list of 5,000 keys, but index probes for 1,000.
    """
    values = list(values)
    size = min(connection.features.max_query_params or LOOKUP_BATCH_SIZE, LOOKUP_BATCH_SIZE)
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _pks_by_key(queryset, key_field: str, keys: Iterable[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for batch in _in_batches(keys):
        found.update(queryset.filter(**{f"{key_field}__in": batch}).order_by().values_list(key_field, "pk"))
    return found


# Products


@dataclass(frozen=True, slots=True)
class _ProductRow:
    line: int
    product_id: str
    category_name: str
    fields: dict[str, object]


def _products_validate(records, report: ImportReport, *, first_lines: dict[str, int]) -> list[_ProductRow]:
    rows = []
    for line, record in records:
        try:
            row = _product_row_parse(line, record)
        except ValueError as error:
            report.reject(line, str(error))
            continue
        first_line = first_lines.setdefault(row.product_id, line)
        if first_line != line:
            report.reject(line, f"duplicate product_id {row.product_id!r} (first on line {first_line})")
            continue
        rows.append(row)
    return rows


def _product_row_parse(line: int, record: dict[str, str]) -> _ProductRow:
    product_id = _text_parse(record, "product_id", Product, required=True)
    fields: dict[str, object] = {
        "title": _text_parse(record, "title", Product, required=True),
        "description": record["description"],
        "price": _price_parse(record["price"]),
        "image_url": _text_parse(record, "img_url", Product, field_name="image_url"),
    }
    category_name = _text_parse(record, "category", Category, field_name="name", required=True)
    if "currency" in record:
        fields["currency"] = _currency_parse(record["currency"])
    if "stock" in record:
        fields["stock"] = _stock_parse(record["stock"])
    if "is_active" in record:
        fields["is_active"] = _flag_parse(record["is_active"], column="is_active")
    if "item_group_id" in record:
        fields["item_group_id"] = _text_parse(record, "item_group_id", Product).strip()
    return _ProductRow(line, product_id, category_name, fields)


def _products_write(rows: list[_ProductRow], report: ImportReport) -> None:
    """Create new products and update changed ones with one upsert; leave equal ones untouched."""
    category_ids = _category_ids(rows, report)
    existing = _products_current({row.product_id for row in rows}, field_names=list(rows[0].fields))
    changed = []
    for row in rows:
        wanted = {**row.fields, "category_id": category_ids[row.category_name]}
        current = existing.get(row.product_id)
        if current is None:
            report.created += 1
        elif all(current[name] == value for name, value in wanted.items()):
            report.unchanged += 1
            continue
        else:
            report.updated += 1
        changed.append(Product(product_id=row.product_id, **wanted))
    if changed:
        Product.objects.bulk_create(
            changed,
            batch_size=WRITE_BATCH_SIZE,
            update_conflicts=True,
            unique_fields=["product_id"],
            update_fields=[*rows[0].fields, "category", "updated_at"],
        )


def _products_current(product_ids: set[str], *, field_names: list[str]) -> dict[str, dict]:
    current = {}
    for batch in _in_batches(product_ids):
        for values in Product.objects.filter(product_id__in=batch).order_by().values(
            "product_id", "category_id", *field_names
        ):
            current[values["product_id"]] = values
    return current


def _category_ids(rows: list[_ProductRow], report: ImportReport) -> dict[str, int]:
    """Return the id of each category named in the rows, creating new ones in file order with a free slug."""
    names = list(dict.fromkeys(row.category_name for row in rows))
    ids = _pks_by_key(Category.objects, "name", names)
    for name in names:
        if name not in ids:
            ids[name] = Category.objects.create(name=name, slug=_category_slug_free(name)).pk
            report.related_created["categories"] += 1
    return ids


def _category_slug_free(name: str) -> str:
    """Return slugify(name), or it with the smallest free `-2`, `-3`, ... when another category has it."""
    max_length = Category._meta.get_field("slug").max_length
    base = slugify(name)[: max_length - 8].strip("-") or "category"
    taken = set(Category.objects.filter(slug__startswith=base).values_list("slug", flat=True))
    suffix = 1
    slug = base
    while slug in taken:
        suffix += 1
        slug = f"{base}-{suffix}"
    return slug


def _text_parse(record, column: str, model, *, field_name: str | None = None, required: bool = False) -> str:
    value = record[column]
    if required and not value:
        raise ValueError(f"missing {column}")
    max_length = model._meta.get_field(field_name or column).max_length
    if len(value) > max_length:
        raise ValueError(f"{column} is longer than {max_length} characters ({len(value)})")
    return value


def _price_parse(value: str) -> Decimal:
    if not value:
        raise ValueError("missing price")
    price_field = Product._meta.get_field("price")
    cent = Decimal(1).scaleb(-price_field.decimal_places)
    limit = Decimal(10) ** (price_field.max_digits - price_field.decimal_places)
    try:
        price = Decimal(value)
        if not price.is_finite():
            raise InvalidOperation
        if price < 0:
            raise ValueError(f"price {value} is negative")
        if price >= limit:
            raise ValueError(f"price {value} is too large (under {limit} please)")
        rounded = price.quantize(cent)
    except InvalidOperation:
        raise ValueError(f"price {value!r} is not a number") from None
    if rounded != price:
        raise ValueError(f"price {value} has more than {price_field.decimal_places} decimal places")
    return rounded


_CURRENCY_CODE = re.compile(r"[A-Z]{3}")


def _currency_parse(value: str) -> str:
    if not value:
        return Product._meta.get_field("currency").default
    code = value.upper()
    if not _CURRENCY_CODE.fullmatch(code):
        raise ValueError(f"currency {value!r} is not a three-letter ISO 4217 code such as USD")
    return code


_STOCK_LIMIT = 2_147_483_647


def _stock_parse(value: str) -> int | None:
    if not value:
        return None
    if not value.isascii() or not value.isdigit() or int(value) > _STOCK_LIMIT:
        raise ValueError(f"stock {value!r} is not a whole number from 0 to {_STOCK_LIMIT}")
    return int(value)


_TRUE_WORDS = {"1", "true", "t", "yes", "y"}
_FALSE_WORDS = {"0", "false", "f", "no", "n"}


def _flag_parse(value: str, *, column: str) -> bool:
    word = value.lower()
    if not word or word in _TRUE_WORDS:
        return True
    if word in _FALSE_WORDS:
        return False
    raise ValueError(f"{column} {value!r} is not true or false")


# Interactions


@dataclass(slots=True)
class _InteractionRow:
    line: int
    user_id: str
    product_id: str
    product_pk: int
    kind: str
    timestamp: datetime
    event_id: str = ""

    @property
    def unix_micros(self) -> int:
        return (self.timestamp - _EPOCH) // _MICROSECOND

    def identity(self) -> bytes:
        """The row's content, with the instant in UTC microseconds so equal instants in any notation match."""
        return f"{self.user_id}\x1f{self.product_id}\x1f{self.kind}\x1f{self.unix_micros}".encode()


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _interactions_validate(records, report: ImportReport, *, occurrences: "OccurrenceCounter") -> list[_InteractionRow]:
    product_pks = _pks_by_key(Product.objects, "product_id", {record["product_id"] for _, record in records})
    rows = []
    for line, record in records:
        try:
            row = _interaction_row_parse(line, record, product_pks)
        except ValueError as error:
            report.reject(line, str(error))
            continue
        rows.append(row)
    _event_ids_assign(rows, occurrences)
    return rows


def _interaction_row_parse(line: int, record: dict[str, str], product_pks: dict[str, int]) -> _InteractionRow:
    user_id = _text_parse(record, "user_id", Customer, field_name="customer_id", required=True)
    product_id = record["product_id"]
    if not product_id:
        raise ValueError("missing product_id")
    kind = kind_parse(record["interaction_type"])
    timestamp = timestamp_parse(record["ts"])
    try:
        event_time_check(timestamp)
    except EventTimeError as error:
        raise ValueError(f"ts {record['ts']!r} is {error}") from None
    product_pk = product_pks.get(product_id)
    if product_pk is None:
        raise ValueError(f"unknown product {product_id!r}")
    return _InteractionRow(line, user_id, product_id, product_pk, kind, timestamp)


def _event_ids_assign(rows: list[_InteractionRow], occurrences: "OccurrenceCounter") -> None:
    """Give each row `csv-<time>-<digest of its content>`, suffixed `-n` for the n-th exact repeat in the file.

    The leading time keeps inserts into the unique index close together for a chronological
    file (inserting a million random ids into it alone took twice as long on PostgreSQL).
    """
    digests = [hashlib.blake2b(row.identity(), digest_size=16).digest() for row in rows]
    # Repeats are counted on the digest's first 8 bytes; a collision there only adds a suffix
    # to an id that is already unique, so ids stay unique and deterministic.
    keys = np.frombuffer(b"".join(digest[:8] for digest in digests), dtype=np.uint64)
    for row, digest, earlier in zip(rows, digests, occurrences.count_and_add(keys).tolist()):
        repeat = f"-{earlier}" if earlier else ""
        row.event_id = f"{EVENT_ID_PREFIX}{row.unix_micros:016x}-{digest.hex()}{repeat}"


def _interactions_write(rows: list[_InteractionRow], report: ImportReport) -> None:
    customer_pks = _customers_get_or_create({row.user_id for row in rows}, report)
    stored = _event_ids_stored(rows)
    new = [
        Interaction(
            customer_id=customer_pks[row.user_id],
            product_id=row.product_pk,
            kind=row.kind,
            timestamp=row.timestamp,
            event_id=row.event_id,
        )
        for row in rows
        if row.event_id not in stored
    ]
    Interaction.objects.bulk_create(new, batch_size=WRITE_BATCH_SIZE, ignore_conflicts=True)
    # The chunk's customers get fresh personal lists once it commits (their linked users looked up then).
    customer_activity_bump_on_commit(customer_ids={row.user_id for row in rows if row.event_id not in stored}, user_ids=None)
    report.created += len(new)
    report.unchanged += len(rows) - len(new)


def _event_ids_stored(rows: list[_InteractionRow]) -> set[str]:
    """Return the event ids of these rows that are already stored.

    A stored row has the same timestamp as its event id's row, so when nothing at all is stored
    in the chunk's time window (a first import of a chronological file) no ids need looking up.
    """
    window = (min(row.timestamp for row in rows), max(row.timestamp for row in rows))
    if not Interaction.objects.filter(timestamp__range=window).exists():
        return set()
    stored = set()
    for batch in _in_batches(row.event_id for row in rows):
        stored.update(Interaction.objects.filter(event_id__in=batch).order_by().values_list("event_id", flat=True))
    return stored


def _customers_get_or_create(customer_ids: set[str], report: ImportReport) -> dict[str, int]:
    pks = _pks_by_key(Customer.objects, "customer_id", customer_ids)
    missing = customer_ids - pks.keys()
    if missing:
        Customer.objects.bulk_create(
            [Customer(customer_id=customer_id) for customer_id in sorted(missing)],
            batch_size=WRITE_BATCH_SIZE,
            ignore_conflicts=True,
        )
        pks |= _pks_by_key(Customer.objects, "customer_id", missing)
        report.related_created["customers"] += len(missing)
    return pks


class OccurrenceCounter:
    """Count, for a stream of 64-bit keys, how often each key was seen before, in 8 bytes per key.

    Seen keys are kept as sorted runs that merge like a binary counter, so there are at most
    log2(n) runs to search and each key is re-sorted only log2(n) times.
    """

    def __init__(self):
        self._runs: list[np.ndarray] = []

    def count_and_add(self, keys: np.ndarray) -> np.ndarray:
        """Return, per key in order, its occurrences in all earlier keys (this batch included), then remember them."""
        if not len(keys):
            return np.zeros(0, dtype=np.int64)
        earlier = _ranks_among_equal(keys)
        for run in self._runs:
            earlier += np.searchsorted(run, keys, side="right") - np.searchsorted(run, keys, side="left")
        self._add(np.sort(keys))
        return earlier

    def _add(self, run: np.ndarray) -> None:
        while self._runs and len(self._runs[-1]) <= len(run):
            run = np.sort(np.concatenate([self._runs.pop(), run]))
        self._runs.append(run)


def _ranks_among_equal(keys: np.ndarray) -> np.ndarray:
    """Return for each key how many equal keys come before it in the array."""
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    positions = np.arange(len(keys))
    group_starts = np.r_[True, ordered[1:] != ordered[:-1]]
    first_of_group = np.maximum.accumulate(np.where(group_starts, positions, 0))
    ranks = np.empty(len(keys), dtype=np.int64)
    ranks[order] = positions - first_of_group
    return ranks
