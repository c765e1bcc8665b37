"""`manage.py import_interactions PATH`: add behaviour from the older Flask engine's interactions CSV."""

from shop.importers import INTERACTION_COLUMNS, interactions_import
from shop.management.commands.import_products import Command as ImportProductsCommand


class Command(ImportProductsCommand):
    help = (
        f"Import interactions from a CSV with the columns {','.join(INTERACTION_COLUMNS)} "
        "(ts in ISO 8601, naive meaning UTC, or unix seconds; kinds view, click, add_to_cart, purchase or an alias). "
        "Products must exist; customers are created. Running it twice stores nothing twice; rejected rows are "
        "listed with their line numbers and make the command exit non-zero."
    )
    service = staticmethod(interactions_import)

    def add_arguments(self, parser):
        self.add_file_arguments(parser)

    def service_options(self, options) -> dict:
        return {}
