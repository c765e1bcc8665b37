"""Generate the demo store: write it as CSV files, or load it through the importers."""

import tempfile
import time
from pathlib import Path

from django.core.management import BaseCommand, CommandError, call_command

from shop.demo.store import DEFAULT_END_DATE, DemoStoreOptions, parse_end_date, write_demo_store

DEFAULTS = DemoStoreOptions()


def positive_int(value: str) -> int:
    number = int(value.replace("_", "").replace(",", ""))
    if number < 0:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = (
        "Generate a deterministic synthetic store (catalogue, customers, interactions). With --out DIR, write "
        "DIR/products.csv and DIR/interactions.csv; otherwise load them with import_products and import_interactions."
    )

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=DEFAULTS.seed, help="Same seed, same store (default 42).")
        parser.add_argument("--products", type=positive_int, default=None, help=f"default {DEFAULTS.products:,}")
        parser.add_argument("--customers", type=positive_int, default=None, help=f"default {DEFAULTS.customers:,}")
        parser.add_argument(
            "--interactions", type=positive_int, default=None, help=f"default {DEFAULTS.interactions:,}"
        )
        parser.add_argument("--days", type=positive_int, default=DEFAULTS.days, help="length of the time window")
        parser.add_argument(
            "--end-date",
            default=DEFAULT_END_DATE,
            help=f"end of the time window, ISO 8601, UTC unless an offset is given (default {DEFAULT_END_DATE})",
        )
        parser.add_argument("--out", default=None, help="write the CSV files to this directory instead of loading")

    def handle(self, *args, **options):
        try:
            parse_end_date(options["end_date"])
        except ValueError as error:
            raise CommandError(f"--end-date: {error}") from error
        demo_options = DemoStoreOptions(
            seed=options["seed"],
            products=options["products"] or DEFAULTS.products,
            customers=options["customers"] or DEFAULTS.customers,
            interactions=DEFAULTS.interactions if options["interactions"] is None else options["interactions"],
            days=options["days"],
            end_date=options["end_date"],
        )
        try:
            demo_options.validate()
        except ValueError as error:
            raise CommandError(str(error)) from error
        verbose = options["verbosity"] >= 2
        log = (lambda message: self.stdout.write(f"  {message}")) if verbose else (lambda message: None)

        if options["out"]:
            summary = write_demo_store(Path(options["out"]), demo_options, log)
            for line in summary.lines():
                self.stdout.write(line)
            return

        with tempfile.TemporaryDirectory(prefix="demo-store-") as directory:
            summary = write_demo_store(Path(directory), demo_options, log)
            for line in summary.lines():
                self.stdout.write(line)
            started = time.perf_counter()
            self.load(summary.products_path, summary.interactions_path, options)
            self.stdout.write(self.style.SUCCESS(f"Demo store loaded in {time.perf_counter() - started:.1f} s."))

    def load(self, products_path: Path, interactions_path: Path, options) -> None:
        """Load the CSV files through the importers, so demo data takes the same path as real data."""
        forwarded = {"stdout": self.stdout, "stderr": self.stderr, "verbosity": options["verbosity"]}
        for command, path in (("import_products", products_path), ("import_interactions", interactions_path)):
            try:
                call_command(command, str(path), **forwarded)
            except CommandError as error:
                raise CommandError(f"{command} failed on the generated {path.name}: {error}") from error
