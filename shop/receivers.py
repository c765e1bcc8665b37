"""Signal receivers: a saved or deleted product or category gives the catalogue a new version."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from shop.catalog_cache import catalog_changed
from shop.models import Category, Product


@receiver([post_save, post_delete], sender=Product, dispatch_uid="shop.catalog_product_changed")
@receiver([post_save, post_delete], sender=Category, dispatch_uid="shop.catalog_category_changed")
def catalog_row_changed(sender, using, **kwargs) -> None:
    catalog_changed(using=using)
