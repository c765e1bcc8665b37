"""Retrain the recommendation models now (inline with progress), or enqueue the Celery task."""

import uuid

from django.core.management import BaseCommand, CommandError

from recommendations.models import ModelVersion
from recommendations.services import TrainingAlreadyRunning, model_train


class Command(BaseCommand):
    help = "Train, validate, store and activate a new model version from the current catalog and interactions."

    def add_arguments(self, parser):
        parser.add_argument("--async", dest="run_async", action="store_true", help="Enqueue the Celery task and return.")

    def handle(self, *args, run_async: bool, **options):
        if run_async:
            from core.broker import BrokerUnavailable, task_enqueue
            from recommendations.tasks import train_models

            try:
                task_id = task_enqueue(train_models, kwargs={"trigger": "command"}, task_id=f"command-{uuid.uuid4()}")
            except BrokerUnavailable as exc:
                raise CommandError(f"Not enqueued: {exc} Start the broker, or train inline without --async.") from None
            self.stdout.write(f"Enqueued training task {task_id}.")
            return

        def show_step(name: str, seconds: float) -> None:
            self.stdout.write(f"  {name:<22} {seconds:8.2f} s")

        self.stdout.write("Training...")
        try:
            version = model_train(run_key=f"command-{uuid.uuid4()}", trigger="command", on_step=show_step)
        except TrainingAlreadyRunning as exc:
            raise CommandError(f"{exc} Try again when it has finished.") from None

        if version.status == ModelVersion.Status.FAILED:
            raise CommandError(f"Training failed; the active model is unchanged.\n{version.error.split(chr(10))[0]}")
        self.stdout.write(self.style.SUCCESS(
            f"Model {version} is active: {version.product_count} products, {version.customer_count} customers, "
            f"{version.interaction_count} interactions, CF algorithm {version.cf_algorithm}, "
            f"{version.duration_seconds:.1f} s."
        ))
        for strategy, values in (version.metrics.get("results") or {}).items():
            self.stdout.write(f"  {strategy:<12} nDCG@10 {values.get('ndcg', 0):.4f}  P@10 {values.get('precision', 0):.4f}")
