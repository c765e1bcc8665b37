"""Prepare a fresh store for `make run`: demo data when the catalog is empty, and an admin login."""

import secrets
import uuid
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import BaseCommand, call_command
from django.db import connection

from shop.models import Product

ADMIN_USERNAME = "admin"


class Command(BaseCommand):
    help = "Load the demo store if the catalog is empty, train the first model, and make sure an admin login exists."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--products", type=int, default=None)
        parser.add_argument("--customers", type=int, default=None)
        parser.add_argument("--interactions", type=int, default=None)

    def handle(self, *args, **options):
        if Product.objects.exists():
            self.stdout.write(f"Catalog has {Product.objects.count()} products; demo data not loaded.")
        else:
            self.stdout.write("Catalog is empty: generating and loading the demo store...")
            sizes = {k: options[k] for k in ("products", "customers", "interactions") if options[k] is not None}
            call_command("generate_demo_data", seed=options["seed"], stdout=self.stdout, **sizes)
            self.analyze_tables()
        self.ensure_model()
        username, password = self.ensure_admin()
        self.stdout.write(self.style.SUCCESS(f"Admin login: {username} / {password}  at /admin/"))

    def analyze_tables(self) -> None:
        """Refresh PostgreSQL's planner statistics after a bulk load (autovacuum may be off or late)."""
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")

    def ensure_model(self) -> None:
        """Train the first model so the carousels are personal from the first page view."""
        from recommendations.models import ModelVersion
        from recommendations.services import TrainingAlreadyRunning, model_train

        if ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).exists():
            return
        if not Product.objects.exists():
            return
        self.stdout.write("No active recommendation model: training the first one...")
        try:
            version = model_train(run_key=f"bootstrap-{uuid.uuid4()}", trigger="command")
        except TrainingAlreadyRunning as exc:
            self.stdout.write(str(exc))
            return
        if version.status == ModelVersion.Status.ACTIVE:
            self.stdout.write(f"Model {version} is active ({version.duration_seconds:.1f} s).")
        else:
            self.stderr.write(f"Training failed ({version.error.splitlines()[0]}); serving popular products meanwhile.")

    def ensure_admin(self) -> tuple[str, str]:
        """Create the admin user once; its password lives in a git-ignored file beside manage.py."""
        password_file = Path(settings.BASE_DIR) / ".admin_password"
        User = get_user_model()
        user = User.objects.filter(username=ADMIN_USERNAME).first()
        if user is not None and password_file.exists():
            password = password_file.read_text().strip()
            if user.check_password(password):
                return ADMIN_USERNAME, password
        password = secrets.token_urlsafe(12)
        if user is None:
            User.objects.create_superuser(ADMIN_USERNAME, "admin@example.com", password)
        else:
            user.set_password(password)
            user.save(update_fields=["password"])
        try:
            password_file.write_text(password + "\n")
            password_file.chmod(0o600)
        except OSError as exc:  # a read-only install (the Docker image): the printed login is the only copy
            self.stderr.write(f"Could not keep the admin password in {password_file} ({exc.strerror}): note it now.")
        return ADMIN_USERNAME, password
