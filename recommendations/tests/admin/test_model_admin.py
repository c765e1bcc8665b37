import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from recommendations.models import ModelVersion, RecommenderSettings
from recommendations.services import model_train

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("boss", "boss@example.com", "pw-boss-123")
    client.force_login(user)
    return client


def test_retrain_now_trains_and_lists_the_new_version(staff_client, small_store, celery_eager, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(reverse("admin:recommendations_modelversion_retrain"), follow=True)
    assert response.status_code == 200
    assert "Retraining requested" in response.content.decode()
    version = ModelVersion.objects.get()
    assert (version.status, version.trigger) == ("active", "admin")
    listing = staff_client.get(reverse("admin:recommendations_modelversion_changelist")).content.decode()
    assert "Retrain now" in listing and str(version) in listing


def test_retrain_now_is_refused_while_a_run_is_in_progress(staff_client, small_store):
    ModelVersion.objects.create(run_key="running", status="training", heartbeat_at=timezone.now())
    response = staff_client.post(reverse("admin:recommendations_modelversion_retrain"), follow=True)
    assert "still training" in response.content.decode()
    assert ModelVersion.objects.count() == 1


def test_retrain_needs_a_post(staff_client, small_store, celery_eager, django_capture_on_commit_callbacks):
    retrain = reverse("admin:recommendations_modelversion_retrain")
    changelist = reverse("admin:recommendations_modelversion_changelist")

    with django_capture_on_commit_callbacks(execute=True) as on_get:
        response = staff_client.get(retrain)

    assert (response.status_code, response.url) == (302, changelist)
    assert on_get == []
    assert list(get_messages(response.wsgi_request)) == []
    assert ModelVersion.objects.count() == 0

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(retrain)

    assert (response.status_code, response.url) == (302, changelist)
    assert [str(message) for message in get_messages(response.wsgi_request)] == [
        "Retraining requested; the new version appears below when it is done."
    ]
    assert list(ModelVersion.objects.values_list("trigger", "status")) == [("admin", "active")]
    assert "Retraining requested" in staff_client.get(changelist).content.decode()


def test_activate_action_rolls_back_to_an_older_version(staff_client, small_store):
    first = model_train(run_key="first")
    second = model_train(run_key="second")
    response = staff_client.post(
        reverse("admin:recommendations_modelversion_changelist"),
        {"action": "activate_selected", "_selected_action": [first.pk]},
        follow=True,
    )
    assert "now serves recommendations" in response.content.decode()
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == ("active", "retired")


def test_settings_open_as_a_single_page_and_save(staff_client):
    response = staff_client.get(reverse("admin:recommendations_recommendersettings_changelist"))
    assert response.status_code == 302
    assert response.url == reverse("admin:recommendations_recommendersettings_change", args=[1])
    page = staff_client.get(response.url)
    assert page.status_code == 200
    form = {
        "view_weight": 1, "click_weight": 3, "add_to_cart_weight": 5, "purchase_weight": 9,
        "cf_half_life_days": 14, "trending_half_life_days": 3, "content_neighbors_k": 40, "cf_neighbors_k": 80,
        "min_interactions": 2, "w_content": 0.4, "w_cf": 0.6, "exclude_purchased": "on",
        "diversity": 0.2, "category_cap": 0,
    }
    staff_client.post(response.url, form)
    saved = RecommenderSettings.load()
    assert (saved.click_weight, saved.cf_neighbors_k, saved.w_content) == (3, 80, 0.4)


def test_the_daily_retrain_schedule_exists_and_is_editable(staff_client):
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(task="recommendations.tasks.train_models")
    assert (task.crontab.hour, task.crontab.minute, task.enabled) == ("3", "0", True)
    page = staff_client.get(reverse("admin:django_celery_beat_periodictask_change", args=[task.pk]))
    assert page.status_code == 200


@pytest.fixture
def staff_with(client, django_user_model):
    """A client logged in as a (non-super) staff user holding exactly the named model permissions."""
    from django.contrib.auth.models import Permission

    def login(*codenames):
        user = django_user_model.objects.create_user("clerk", "clerk@example.com", "pw-clerk-123", is_staff=True)
        user.user_permissions.set(Permission.objects.filter(content_type__app_label="recommendations", codename__in=codenames))
        client.force_login(user)
        return client

    return login


def test_view_only_staff_are_not_offered_the_activate_action_and_posting_it_does_nothing(staff_with, small_store):
    first = model_train(run_key="first")
    second = model_train(run_key="second")
    client = staff_with("view_modelversion")
    changelist = reverse("admin:recommendations_modelversion_changelist")

    listing = client.get(changelist)
    assert listing.status_code == 200
    assert "activate_selected" not in listing.content.decode()

    response = client.post(changelist, {"action": "activate_selected", "_selected_action": [first.pk]}, follow=True)

    assert "now serves recommendations" not in response.content.decode()
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == ("retired", "active")


def test_view_only_staff_cannot_retrain(staff_with, small_store, django_capture_on_commit_callbacks):
    client = staff_with("view_modelversion")
    assert "Retrain now" not in client.get(reverse("admin:recommendations_modelversion_changelist")).content.decode()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(reverse("admin:recommendations_modelversion_retrain"))

    assert response.status_code == 403
    assert callbacks == []
    assert ModelVersion.objects.count() == 0


def test_staff_with_change_permission_can_activate_and_retrain(
    staff_with, small_store, celery_eager, django_capture_on_commit_callbacks
):
    first = model_train(run_key="first")
    second = model_train(run_key="second")
    client = staff_with("view_modelversion", "change_modelversion")
    changelist = reverse("admin:recommendations_modelversion_changelist")

    page = client.get(changelist).content.decode()
    assert "activate_selected" in page and "Retrain now" in page
    response = client.post(changelist, {"action": "activate_selected", "_selected_action": [first.pk]}, follow=True)
    assert "now serves recommendations" in response.content.decode()
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == ("active", "retired")

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:recommendations_modelversion_retrain"))
    assert (response.status_code, response.url) == (302, changelist)
    assert ModelVersion.objects.filter(trigger="admin", status="active").count() == 1
