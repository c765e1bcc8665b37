"""The fault matrix reuses the apps' own fixtures: the small store, a trained model, fresh serving state."""

from recommendations.tests.api.conftest import active_model, fresh_serving_state  # noqa: F401 (fixtures)
from recommendations.tests.conftest import celery_eager, media_in_tmp, small_store  # noqa: F401 (fixtures)
from shop.tests.concurrency import order_store_held  # noqa: F401 (a fixture)
