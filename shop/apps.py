from django.apps import AppConfig


class ShopConfig(AppConfig):
    default_auto_field = 'django.db.models.BigAutoField'
    name = 'shop'

    def ready(self) -> None:
        from shop import receivers  # noqa: F401 (connects signal receivers)
