"""CSV import of the catalog and of behaviour, in the older Flask engine's formats.

Both importers stream the file in chunks, validate every row, and write each chunk with a
few bulk statements inside one transaction: memory stays bounded, a chunk is never half
written, and importing the same file again changes nothing. Rejected rows are reported with
their physical line number (the header is line 1), so a person can find them in an editor.

Validation is one Python pass shared by every database. The writes differ: on PostgreSQL each
chunk is copied into a temporary staging table with COPY and upserted by one set-based
statement (`shop.importers_copy`), several times faster than the ORM's batched INSERTs, which
SQLite (and `use_copy=False`) keeps. Both give the same rows, counts and rejections.
"""

import csv
import gc
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
from django.utils import timezone

from shop.activity import customer_activity_bump_on_commit
from shop.category_paths import (
    CATEGORY_SEPARATORS,
    DEFAULT_CATEGORY_NAME,
    DEFAULT_CATEGORY_SEPARATOR,
    CategoryPath,
    CategoryTree,
    category_path_parse,
    default_category_path,
)
from shop.event_parsing import (
    EARLIEST_EVENT_TIME,
    FUTURE_TIMESTAMP_TOLERANCE,
    EventTimeError,
    event_time_check,
    kind_parse,
    timestamp_parse,
)
from shop.importers_copy import interactions_copy_write, products_copy_write
from shop.models import Customer, Interaction, Product

PRODUCT_COLUMNS = ("product_id", "title", "category", "description", "price", "img_url")
PRODUCT_OPTIONAL_COLUMNS = ("currency", "stock", "is_active", "item_group_id")
INTERACTION_COLUMNS = ("user_id", "product_id", "interaction_type", "ts")

DEFAULT_CHUNK_SIZE = 5_000
# COPY writes a chunk in a few statements whatever its size, and each chunk bumps the activity
# token of every customer in it: larger chunks bump a returning customer less often.
COPY_CHUNK_SIZE = 50_000
WRITE_BATCH_SIZE = 2_000
LOOKUP_BATCH_SIZE = 1_000
REJECTIONS_LISTED = 1_000
EVENT_ID_PREFIX = "csv-"
# Ids by natural key remembered during one import; a store with more products or customers
# than this starts over (costing lookups, never correctness), so memory stays bounded.
KEY_CACHE_LIMIT = 200_000

Progress = Callable[[int], None]


class ImportFileError(Exception):
    """The file as a whole cannot be imported: missing, unreadable, or with the wrong header."""


@dataclass(frozen=True)
class RejectedRow:
    line: int
    reason: str


@dataclass
class ImportReport:
    """What an import did, row by row; `rolled_back` means --strict found bad rows and wrote nothing.

    `warnings` counts rows kept with a change the file did not ask for (a default category, a
    cut title), by what was done to them.
    """

    path: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    rejections: list[RejectedRow] = field(default_factory=list)
    related_created: Counter = field(default_factory=Counter)
    warnings: Counter = field(default_factory=Counter)
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
        if self.warnings:
            warnings = "; ".join(f"{count} {what}" for what, count in sorted(self.warnings.items()))
            text += f" Kept with a warning: {warnings}."
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
    chunk_size: int | None = None,
    progress: Progress | None = None,
    category_separator: str = DEFAULT_CATEGORY_SEPARATOR,
    default_category: str = DEFAULT_CATEGORY_NAME,
    truncate_long_text: bool = False,
    use_copy: bool | None = None,
) -> ImportReport:
    """Upsert products by product_id from `product_id,title,category,description,price,img_url`.

    Optional columns `currency`, `stock`, `is_active` and `item_group_id` are applied when the file
    has them; an empty cell means the model's default (USD, stock not tracked, active, no group).
    Variants of one product share an `item_group_id`, so a recommendation list shows one.

    The category is a path (`A > B > C`, or split by `category_separator`): the tree is created
    as needed and the product filed under the leaf (`shop.category_paths`). A row without one
    goes to `default_category`, counted as a warning, since catalogue exports leave it empty
    for products nobody filed. A title longer than the field is a reject, unless
    `truncate_long_text` cuts it at a word boundary (counted too). A product_id repeated in the
    file is rejected, so a re-import is a no-op. `use_copy`: see `interactions_import`.
    """
    if category_separator not in CATEGORY_SEPARATORS:
        raise ValueError(f"the category separator must be one of {' '.join(CATEGORY_SEPARATORS)}")
    copy = _copy_chosen(use_copy)
    options = _ProductOptions(category_separator, default_category_path(default_category), truncate_long_text)
    tree = CategoryTree()
    return _csv_import(
        path=path,
        columns=PRODUCT_COLUMNS,
        optional_columns=PRODUCT_OPTIONAL_COLUMNS,
        strict=strict,
        chunk_size=_chunk_size(chunk_size, copy=copy),
        progress=progress,
        validate=partial(_products_validate, first_lines={}, options=options),
        write=partial(_products_write, tree=tree, copy=copy),
    )


def interactions_import(
    *,
    path: str | Path,
    strict: bool = False,
    chunk_size: int | None = None,
    progress: Progress | None = None,
    use_copy: bool | None = None,
) -> ImportReport:
    """Add interactions from `user_id,product_id,interaction_type,ts`, each stored once.

    Products must already exist; customers are created by user_id. A ts before 2000-01-01 UTC or
    more than 15 minutes ahead is rejected (`shop.event_parsing`). The event_id of each row is
    derived from its content (and, for exact repeats within the file, from how many times it
    was seen before), so re-importing a file, or an overlapping export, stores nothing twice.

    `use_copy`: write through PostgreSQL's COPY (None: whenever the database is PostgreSQL;
    False: through the ORM, as on SQLite). `chunk_size` rows are validated and written per
    transaction (None: COPY_CHUNK_SIZE with COPY, DEFAULT_CHUNK_SIZE through the ORM).
    """
    copy = _copy_chosen(use_copy)
    return _csv_import(
        path=path,
        columns=INTERACTION_COLUMNS,
        optional_columns=(),
        strict=strict,
        chunk_size=_chunk_size(chunk_size, copy=copy),
        progress=progress,
        validate=partial(
            _interactions_validate,
            occurrences=OccurrenceCounter(),
            products=KeyCache(Product.objects, "product_id"),
            kinds={},
        ),
        write=partial(interactions_copy_write, customers=KeyCache(Customer.objects, "customer_id"))
        if copy
        else _interactions_write,
    )


def _copy_chosen(use_copy: bool | None) -> bool:
    if use_copy is None:
        return connection.vendor == "postgresql"
    if use_copy and connection.vendor != "postgresql":
        raise ValueError(f"COPY import needs PostgreSQL, not {connection.vendor}")
    return use_copy


def _chunk_size(chunk_size: int | None, *, copy: bool) -> int:
    if chunk_size is not None:
        return chunk_size
    return COPY_CHUNK_SIZE if copy else DEFAULT_CHUNK_SIZE


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
    """Records as (first physical line, stripped values in `columns` order)."""

    columns: tuple[str, ...]
    records: list[tuple[int, list[str]]]
    end_line: int


def _csv_import(
    *,
    path,
    columns: tuple[str, ...],
    optional_columns: tuple[str, ...],
    strict: bool,
    chunk_size: int,
    progress: Progress | None,
    validate: Callable[[_Chunk, ImportReport], list],
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
    with _collector_paused(), _csv_opened(path) as handle, (transaction.atomic() if strict else nullcontext()):
        for chunk in _csv_chunks(handle, path, columns, optional_columns, chunk_size, report):
            rows, end_line = validate(chunk, report), chunk.end_line
            chunk.records.clear()  # the file's text is not needed while the chunk is written
            if rows and not (strict and report.rejected):
                with transaction.atomic():
                    write(rows, report)
            if progress is not None:
                progress(end_line - lines_reported)
                lines_reported = end_line
        if strict and report.rejected:
            transaction.set_rollback(True)
            report.discard_writes()
    report.seconds = time.perf_counter() - started
    return report


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector while importing.

    A chunk is a few hundred thousand fresh objects with no reference cycles; the collector
    found nothing among them, but its full passes over them and the rest of the process took
    three quarters of the time spent reading a file.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextmanager
def _csv_opened(path):
    try:
        handle = open(path, newline="", encoding="utf-8-sig")
    except OSError as error:
        raise ImportFileError(f"cannot open {path}: {error.strerror or error}") from error
    with handle:
        yield handle


def _csv_chunks(handle, path, columns, optional_columns, chunk_size, report) -> Iterator[_Chunk]:
    """Yield records as stripped values with their first physical line; reject malformed ones."""
    reader = csv.reader(handle)
    try:
        header = next(reader, None)
        names = _header_names(header, path, columns, optional_columns)
        width = len(header)
        records: list[tuple[int, list[str]]] = []
        end_line = yielded_end_line = reader.line_num
        for record in reader:
            line, end_line = end_line + 1, reader.line_num
            if not record:
                continue
            report.rows += 1
            if len(record) != width:
                report.reject(line, f"expected {width} fields, found {len(record)}")
            elif "\x00" in "".join(record):
                report.reject(line, "contains a NUL character")
            else:
                records.append((line, [value.strip() for value in record]))
            if len(records) >= chunk_size:
                yield _Chunk(names, records, end_line)
                records, yielded_end_line = [], end_line
        if records or end_line > yielded_end_line:
            yield _Chunk(names, records, end_line)
    except UnicodeDecodeError as error:
        raise ImportFileError(f"{path} is not UTF-8 text (near line {reader.line_num + 1})") from error
    except csv.Error as error:
        raise ImportFileError(f"{path}, line {reader.line_num}: {error}") from error


def _header_names(header, path, columns, optional_columns) -> tuple[str, ...]:
    """Return the file's column names in file order, or fail naming the columns the file should have."""
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
    return tuple(names)


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


class KeyCache:
    """Database ids by natural key for one import: keys found once are not looked up again.

    Keys not found are asked again in each chunk, so a row created meanwhile is found. At
    KEY_CACHE_LIMIT keys it starts over, to keep an import of any size in bounded memory.
    """

    def __init__(self, queryset, key_field: str):
        self.queryset = queryset
        self.key_field = key_field
        self.found: dict[str, int] = {}

    def pks(self, keys: Iterable[str]) -> dict[str, int]:
        """Return {key: id} for these keys that exist (the mapping may hold other keys too)."""
        missing = [key for key in set(keys) if key not in self.found]
        if missing:
            if len(self.found) + len(missing) > KEY_CACHE_LIMIT:
                self.found = {}
                missing = list(set(keys))
            self.found.update(_pks_by_key(self.queryset, self.key_field, missing))
        return self.found

    def remember(self, pks: dict[str, int]) -> None:
        self.found.update(pks)


# Products


@dataclass(frozen=True, slots=True)
class _ProductOptions:
    category_separator: str
    default_category: CategoryPath
    truncate_long_text: bool


@dataclass(frozen=True, slots=True)
class _ProductRow:
    line: int
    product_id: str
    category_path: CategoryPath
    fields: dict[str, object]
    warnings: tuple[str, ...] = ()


def _products_validate(
    chunk: _Chunk, report: ImportReport, *, first_lines: dict[str, int], options: _ProductOptions
) -> list[_ProductRow]:
    rows = []
    for line, values in chunk.records:
        try:
            row = _product_row_parse(line, dict(zip(chunk.columns, values)), options)
        except ValueError as error:
            report.reject(line, str(error))
            continue
        first_line = first_lines.setdefault(row.product_id, line)
        if first_line != line:
            report.reject(line, f"duplicate product_id {row.product_id!r} (first on line {first_line})")
            continue
        report.warnings.update(row.warnings)
        rows.append(row)
    return rows


def _product_row_parse(line: int, record: dict[str, str], options: _ProductOptions) -> _ProductRow:
    warnings = []
    product_id = _text_parse(record, "product_id", Product, required=True)
    title = record["title"]
    title_max_length = Product._meta.get_field("title").max_length
    if options.truncate_long_text and len(title) > title_max_length:
        title = text_cut_at_word(title, title_max_length)
        warnings.append(f"titles cut to {title_max_length} characters at a word boundary")
    fields: dict[str, object] = {
        "title": _text_parse({"title": title}, "title", Product, required=True),
        "description": record["description"],
        "price": _price_parse(record["price"]),
        "image_url": _text_parse(record, "img_url", Product, field_name="image_url"),
    }
    category_path = category_path_parse(record["category"], separator=options.category_separator)
    if not category_path:
        category_path = options.default_category
        warnings.append(f"rows without a category filed under {options.default_category[-1]!r}")
    if "currency" in record:
        fields["currency"] = _currency_parse(record["currency"])
    if "stock" in record:
        fields["stock"] = _stock_parse(record["stock"])
    if "is_active" in record:
        fields["is_active"] = _flag_parse(record["is_active"], column="is_active")
    if "item_group_id" in record:
        fields["item_group_id"] = _text_parse(record, "item_group_id", Product).strip()
    return _ProductRow(line, product_id, category_path, fields, tuple(warnings))


def text_cut_at_word(text: str, max_length: int) -> str:
    """Return `text` cut to at most `max_length` characters at the last word boundary.

    Separators left dangling at the cut (`,`, `-`, `&`, ...) go too; a single word longer than
    the limit is cut inside it.
    """
    if len(text) <= max_length:
        return text
    head = text[:max_length]
    if not text[max_length].isspace() and (words := _BEFORE_LAST_SPACE.match(head)):
        head = words.group(1)
    return head.rstrip().rstrip(_DANGLING_SEPARATORS) or text[:max_length]


_BEFORE_LAST_SPACE = re.compile(r"(.*\S)\s", re.DOTALL)
_DANGLING_SEPARATORS = " \t,;:-\u2013\u2014/|&("


def _products_write(rows: list[_ProductRow], report: ImportReport, *, tree: CategoryTree, copy: bool) -> None:
    """Create new products and update changed ones with one upsert; leave equal ones untouched."""
    category_ids, created = tree.leaf_ids(row.category_path for row in rows)
    if created:
        report.related_created["categories"] += created
    if copy:
        products_copy_write(rows, report, category_ids=category_ids)
        return
    existing = _products_current({row.product_id for row in rows}, field_names=list(rows[0].fields))
    changed = []
    for row in rows:
        wanted = {**row.fields, "category_id": category_ids[row.category_path]}
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
class InteractionRows:
    """A chunk's valid interactions, as parallel lists (a million small objects would cost more than the writes).

    `micros` is the event time in UTC microseconds since the epoch, the form both writers and
    the event ids need.
    """

    lines: list[int] = field(default_factory=list)
    user_ids: list[str] = field(default_factory=list)
    product_ids: list[str] = field(default_factory=list)
    product_pks: list[int] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    micros: list[int] = field(default_factory=list)
    event_ids: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.lines)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_EARLIEST_MICROS = (EARLIEST_EVENT_TIME - _EPOCH) // _MICROSECOND
_UNIX_SECONDS_LIMIT = 10**11
_KINDS_REMEMBERED = 1_000


def _interactions_validate(
    chunk: _Chunk,
    report: ImportReport,
    *,
    occurrences: "OccurrenceCounter",
    products: KeyCache,
    kinds: dict[str, str],
) -> InteractionRows:
    """Check each row in the order a person reads it (user, product, kind, time, then whether the product exists).

    The hot loop of a million-row import: kinds are remembered per spelling, and whole unix
    seconds, the commonest export format, skip the general timestamp parser.
    """
    user_at, product_at, kind_at, ts_at = (chunk.columns.index(name) for name in INTERACTION_COLUMNS)
    product_pks = products.pks(values[product_at] for _, values in chunk.records)
    user_max_length = Customer._meta.get_field("customer_id").max_length
    latest_micros = _latest_event_micros()
    rows = InteractionRows()
    for line, values in chunk.records:
        user_id, product_id, kind_value, ts = values[user_at], values[product_at], values[kind_at], values[ts_at]
        try:
            if not user_id:
                raise ValueError("missing user_id")
            if len(user_id) > user_max_length:
                raise ValueError(f"user_id is longer than {user_max_length} characters ({len(user_id)})")
            if not product_id:
                raise ValueError("missing product_id")
            kind = kinds.get(kind_value)
            if kind is None:
                kind = kind_parse(kind_value)
                if len(kinds) < _KINDS_REMEMBERED:
                    kinds[kind_value] = kind
            if ts.isdigit() and ts.isascii() and int(ts) < _UNIX_SECONDS_LIMIT:
                micros = int(ts) * 1_000_000
            else:
                micros = (timestamp_parse(ts) - _EPOCH) // _MICROSECOND
            if not _EARLIEST_MICROS <= micros <= latest_micros:
                latest_micros = _latest_event_micros()
                if not _EARLIEST_MICROS <= micros <= latest_micros:
                    _event_time_refuse(ts)
            product_pk = product_pks.get(product_id)
            if product_pk is None:
                raise ValueError(f"unknown product {product_id!r}")
        except ValueError as error:
            report.reject(line, str(error))
            continue
        rows.lines.append(line)
        rows.user_ids.append(user_id)
        rows.product_ids.append(product_id)
        rows.product_pks.append(product_pk)
        rows.kinds.append(kind)
        rows.micros.append(micros)
    _event_ids_assign(rows, occurrences)
    return rows


def _latest_event_micros() -> int:
    return (timezone.now() + FUTURE_TIMESTAMP_TOLERANCE - _EPOCH) // _MICROSECOND


def _event_time_refuse(ts: str) -> None:
    """Raise the reason `shop.event_parsing` gives for this event time, which is outside its bounds."""
    try:
        event_time_check(timestamp_parse(ts))
    except EventTimeError as error:
        raise ValueError(f"ts {ts!r} is {error}") from None


def _event_ids_assign(rows: InteractionRows, occurrences: "OccurrenceCounter") -> None:
    """Give each row `csv-<time>-<digest of its content>`, suffixed `-n` for the n-th exact repeat in the file.

    The content is user, product, kind and the instant in UTC microseconds, so equal instants
    in any notation match. The leading time keeps inserts into the unique index close together
    for a chronological file (inserting a million random ids into it alone took twice as long
    on PostgreSQL).
    """
    blake2b = hashlib.blake2b
    digests = [
        blake2b(f"{user_id}\x1f{product_id}\x1f{kind}\x1f{micros}".encode(), digest_size=16).digest()
        for user_id, product_id, kind, micros in zip(rows.user_ids, rows.product_ids, rows.kinds, rows.micros)
    ]
    # Repeats are counted on the digest's first 8 bytes; a collision there only adds a suffix
    # to an id that is already unique, so ids stay unique and deterministic.
    keys = np.frombuffer(b"".join(digest[:8] for digest in digests), dtype=np.uint64)
    rows.event_ids = [
        f"{EVENT_ID_PREFIX}{micros:016x}-{digest.hex()}-{earlier}"
        if earlier
        else f"{EVENT_ID_PREFIX}{micros:016x}-{digest.hex()}"
        for micros, digest, earlier in zip(rows.micros, digests, occurrences.count_and_add(keys).tolist())
    ]


def _interactions_write(rows: InteractionRows, report: ImportReport) -> None:
    """Write a chunk through the ORM: look up which event ids are stored, bulk-insert the others."""
    customer_pks = _customers_get_or_create(set(rows.user_ids), report)
    stored = _event_ids_stored(rows)
    new = [
        Interaction(
            customer_id=customer_pks[user_id],
            product_id=product_pk,
            kind=kind,
            timestamp=_EPOCH + micros * _MICROSECOND,
            event_id=event_id,
        )
        for user_id, product_pk, kind, micros, event_id in zip(
            rows.user_ids, rows.product_pks, rows.kinds, rows.micros, rows.event_ids
        )
        if event_id not in stored
    ]
    Interaction.objects.bulk_create(new, batch_size=WRITE_BATCH_SIZE, ignore_conflicts=True)
    # The chunk's customers get fresh personal lists once it commits (their linked users looked up then).
    customer_activity_bump_on_commit(
        customer_ids={user_id for user_id, event_id in zip(rows.user_ids, rows.event_ids) if event_id not in stored},
        user_ids=None,
    )
    report.created += len(new)
    report.unchanged += len(rows) - len(new)


def _event_ids_stored(rows: InteractionRows) -> set[str]:
    """Return the event ids of these rows that are already stored.

    A stored row has the same timestamp as its event id's row, so when nothing at all is stored
    in the chunk's time window (a first import of a chronological file) no ids need looking up.
    """
    window = (_EPOCH + min(rows.micros) * _MICROSECOND, _EPOCH + max(rows.micros) * _MICROSECOND)
    if not Interaction.objects.filter(timestamp__range=window).exists():
        return set()
    stored = set()
    for batch in _in_batches(rows.event_ids):
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
