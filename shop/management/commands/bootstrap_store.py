"""Prepare a fresh store for `make run`: demo data when the catalog is empty, and an admin login."""

import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import BaseCommand, call_command

from shop.models import Product

ADMIN_USERNAME = "admin"


class Command(BaseCommand):
    help = "Load the demo store if the catalog is empty and make sure an admin login exists (printed)."

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
        username, password = self.ensure_admin()
        self.stdout.write(self.style.SUCCESS(f"Admin login: {username} / {password}  at /admin/"))

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
        password_file.write_text(password + "\n")
        password_file.chmod(0o600)
        return ADMIN_USERNAME, password
