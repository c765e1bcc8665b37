"""`manage.py import_products PATH`: upsert the catalog from the older Flask engine's products CSV."""

from pathlib import Path

from django.core.management import BaseCommand, CommandError

from shop.category_paths import CATEGORY_SEPARATORS, DEFAULT_CATEGORY_NAME, DEFAULT_CATEGORY_SEPARATOR
from shop.importers import (
    COPY_CHUNK_SIZE,
    DEFAULT_CHUNK_SIZE,
    PRODUCT_COLUMNS,
    PRODUCT_OPTIONAL_COLUMNS,
    ImportFileError,
    import_progress_bar,
    products_import,
)


class Command(BaseCommand):
    help = (
        f"Import products from a CSV with the columns {','.join(PRODUCT_COLUMNS)} "
        f"(optional: {','.join(PRODUCT_OPTIONAL_COLUMNS)}). A category may be a path such as "
        "'Electronics > Cameras > Lenses': the tree is created and the product filed under the leaf. "
        "Running it twice changes nothing; rejected rows are listed with their line numbers and make the "
        "command exit non-zero."
    )
    service = staticmethod(products_import)

    def add_arguments(self, parser):
        self.add_file_arguments(parser)
        parser.add_argument(
            "--category-separator",
            choices=CATEGORY_SEPARATORS,
            default=DEFAULT_CATEGORY_SEPARATOR,
            help=f"what separates the levels of a category path (default {DEFAULT_CATEGORY_SEPARATOR!r})",
        )
        parser.add_argument(
            "--default-category",
            default=DEFAULT_CATEGORY_NAME,
            metavar="NAME",
            help=f"the category of rows whose category is empty (default {DEFAULT_CATEGORY_NAME!r}); they are counted, not rejected",
        )
        parser.add_argument(
            "--truncate-long-text",
            action="store_true",
            help="cut a title longer than 255 characters at a word boundary and keep the row (counted) instead of rejecting it",
        )

    def add_file_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument("--strict", action="store_true", help="write nothing at all when any row is rejected")
        parser.add_argument(
            "--chunk-size",
            type=int,
            default=None,
            help=f"rows validated and written per transaction (default {COPY_CHUNK_SIZE:,} on PostgreSQL, "
            f"{DEFAULT_CHUNK_SIZE:,} on SQLite)",
        )

    def service_options(self, options) -> dict:
        return {
            "category_separator": options["category_separator"],
            "default_category": options["default_category"],
            "truncate_long_text": options["truncate_long_text"],
        }

    def handle(self, *args, path, strict, chunk_size, **options):
        with import_progress_bar(path, enabled=self.stdout.isatty()) as progress:
            try:
                report = self.service(
                    path=path, strict=strict, chunk_size=chunk_size, progress=progress, **self.service_options(options)
                )
            except (ImportFileError, ValueError) as error:
                raise CommandError(str(error)) from error
        for line in report.rejection_lines():
            self.stderr.write(line)
        if report.rejected:
            self.stdout.write(self.style.WARNING(report.summary()))
            raise CommandError(f"{report.rejected} rows rejected")
        self.stdout.write(self.style.SUCCESS(report.summary()))
