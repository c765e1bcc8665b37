"""Staff tune diversity on the recommender settings page; values outside 0..1 are refused."""

import pytest
from django.urls import reverse

from recommendations.models import RecommenderSettings

pytestmark = pytest.mark.django_db

FORM = {
    "view_weight": 1, "click_weight": 2, "add_to_cart_weight": 4, "purchase_weight": 8,
    "cf_half_life_days": 30, "trending_half_life_days": 7, "content_neighbors_k": 50, "cf_neighbors_k": 100,
    "min_interactions": 2, "w_content": 0.3, "w_cf": 0.7, "exclude_purchased": "on",
}


@pytest.fixture
def staff_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("tuner", "tuner@example.com", "pw-tuner-123"))
    return client


def test_the_settings_page_shows_diversity_on_and_mild_by_default(staff_client):
    page = staff_client.get(reverse("admin:recommendations_recommendersettings_change", args=[RecommenderSettings.load().pk]))
    assert page.status_code == 200
    body = page.content.decode()
    assert 'name="diversity"' in body and 'value="0.2"' in body and "next training" in body
    assert 'name="category_cap"' in body


def test_staff_save_a_stronger_diversity_and_a_category_cap(staff_client):
    url = reverse("admin:recommendations_recommendersettings_change", args=[RecommenderSettings.load().pk])
    response = staff_client.post(url, {**FORM, "diversity": 0.5, "category_cap": 4})
    assert response.status_code == 302
    saved = RecommenderSettings.load()
    assert (saved.diversity, saved.category_cap) == (0.5, 4)


def test_a_diversity_above_one_is_refused_and_nothing_changes(staff_client):
    url = reverse("admin:recommendations_recommendersettings_change", args=[RecommenderSettings.load().pk])
    response = staff_client.post(url, {**FORM, "diversity": 1.5, "category_cap": 0})
    assert response.status_code == 200
    assert "Ensure this value is less than or equal to 1" in response.content.decode()
    assert RecommenderSettings.load().diversity == 0.2
