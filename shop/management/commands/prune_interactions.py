"""`manage.py prune_interactions --older-than DAYS`: delete old views and clicks in short batches."""

from django.core.management import BaseCommand, CommandError

from shop.models import Interaction
from shop.retention import DEFAULT_BATCH_SIZE, DEFAULT_PRUNE_KINDS, PruneProgress, interactions_prune


class Command(BaseCommand):
    help = (
        "Delete interactions older than DAYS days, a batch of rows per short transaction, so the store keeps "
        "serving while it runs. By default only views and clicks go: purchases and add-to-carts feed the "
        "'already bought' filter, repeat-purchase suggestions and the strongest training signal, so they are "
        "deleted only when --kinds names them (orders and their lines are never touched). Clicks that an "
        "unfinished experiment still counts are kept. The customers whose events went get fresh personal lists."
    )

    def add_arguments(self, parser):
        parser.add_argument("--older-than", dest="days", type=int, required=True, metavar="DAYS", help="age in whole days (1 or more)")
        parser.add_argument(
            "--kinds",
            default=",".join(DEFAULT_PRUNE_KINDS),
            help=f"comma-separated kinds to delete, of {', '.join(Interaction.Kind.values)} (default: %(default)s)",
        )
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="rows deleted per transaction (default: %(default)s)")
        parser.add_argument("--dry-run", action="store_true", help="count what would be deleted and delete nothing")

    def handle(self, *args, days: int, kinds: str, batch_size: int, dry_run: bool, **options):
        try:
            report = interactions_prune(
                older_than_days=days,
                kinds=kinds,
                batch_size=batch_size,
                dry_run=dry_run,
                progress=self._show_progress,
            )
        except ValueError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(self.style.SUCCESS(report.summary()))

    def _show_progress(self, step: PruneProgress) -> None:
        self.stdout.write(f"  batch {step.batch}: deleted {step.deleted:,} (total {step.total:,}, up to id {step.last_pk})")
