"""`manage.py import_products PATH`: upsert the catalog from the older Flask engine's products CSV."""

from pathlib import Path

from django.core.management import BaseCommand, CommandError

from shop.importers import (
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
        f"(optional: {','.join(PRODUCT_OPTIONAL_COLUMNS)}). Running it twice changes nothing; "
        "rejected rows are listed with their line numbers and make the command exit non-zero."
    )
    service = staticmethod(products_import)

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument("--strict", action="store_true", help="write nothing at all when any row is rejected")
        parser.add_argument(
            "--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE, help="rows validated and written per transaction"
        )

    def handle(self, *args, path, strict, chunk_size, **options):
        with import_progress_bar(path, enabled=self.stdout.isatty()) as progress:
            try:
                report = self.service(path=path, strict=strict, chunk_size=chunk_size, progress=progress)
            except (ImportFileError, ValueError) as error:
                raise CommandError(str(error)) from error
        for line in report.rejection_lines():
            self.stderr.write(line)
        if report.rejected:
            self.stdout.write(self.style.WARNING(report.summary()))
            raise CommandError(f"{report.rejected} rows rejected")
        self.stdout.write(self.style.SUCCESS(report.summary()))
