import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from shop.tests.factories import UserFactory


@pytest.fixture
def api_client() -> APIClient:
    """A storefront visitor's client (DRF's test client skips the CSRF check unless asked)."""
    return APIClient()


@pytest.fixture
def token_client(db) -> APIClient:
    """A server-to-server client holding an API token."""
    token = Token.objects.create(user=UserFactory(username="recommender-service"))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def staff_client(db) -> APIClient:
    client = APIClient()
    client.force_login(UserFactory(username="staffer", staff=True))
    return client
