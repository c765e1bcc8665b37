from urllib.parse import urlencode

import pytest
from django.urls import reverse
from django.utils import timezone

from shop.models import Interaction
from shop.tests.factories import CategoryFactory, CustomerFactory, InteractionFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("boss", "boss@example.com", "pw-boss-123"))
    return client


@pytest.fixture
def store():
    cameras = CategoryFactory(name="Cameras", slug="cameras")
    camera = ProductFactory(product_id="P001", title="Mirrorless camera", category=cameras, stock=0)
    ProductFactory(product_id="P002", title="Tripod", category=cameras)
    InteractionFactory(customer=CustomerFactory(customer_id="U001"), product=camera, kind="purchase",
                       timestamp=timezone.now(), context={"placement": "similar"})
    return camera


@pytest.fixture
def catalogue(django_user_model):
    """Three categories, four products, three customers and four events for the changelist searches."""
    cameras = CategoryFactory(name="Cameras", slug="cameras")
    lenses = CategoryFactory(name="Lenses", slug="optics", parent=cameras)
    books = CategoryFactory(name="Books", slug="books")
    camera = ProductFactory(product_id="P001", title="Mirrorless camera", category=cameras, stock=0)
    tripod = ProductFactory(product_id="P002", title="Tripod", description="Holds any camera steady.", category=cameras)
    ProductFactory(product_id="P003", title="Zoom lens", category=lenses, stock=None, is_active=False)
    novel = ProductFactory(product_id="P004", title="Crime novel", category=books, currency="EUR")
    imported = CustomerFactory(customer_id="U001")
    alice = CustomerFactory(customer_id="U002", user=django_user_model.objects.create_user("alice", "alice@example.com"))
    visitor = CustomerFactory(customer_id="v-visitor")
    InteractionFactory(customer=imported, product=camera, kind="purchase")
    InteractionFactory(customer=alice, product=camera, kind="view")
    InteractionFactory(customer=alice, product=tripod, kind="click")
    InteractionFactory(customer=visitor, product=novel, kind="view")
    return {"cameras": cameras, "lenses": lenses, "books": books}


ROW_KEYS = {
    "category": lambda category: category.name,
    "product": lambda product: product.product_id,
    "customer": lambda customer: customer.customer_id,
    "interaction": lambda event: f"{event.customer.customer_id} {event.kind} {event.product.product_id}",
}

CHANGELIST_CASES = [
    ("category", {}, {"Cameras", "Lenses", "Books"}),
    ("category", {"q": "cam"}, {"Cameras"}),
    ("category", {"q": "optics"}, {"Lenses"}),  # the slug
    ("category", {"parent__id__exact": "cameras"}, {"Lenses"}),
    ("product", {}, {"P001", "P002", "P003", "P004"}),
    ("product", {"q": "P001"}, {"P001"}),
    ("product", {"q": "camera"}, {"P001", "P002"}),  # title, and description
    ("product", {"is_active__exact": "0"}, {"P003"}),
    ("product", {"stock_state": "in"}, {"P002", "P003", "P004"}),  # untracked stock counts as in stock
    ("product", {"stock_state": "untracked"}, {"P003"}),
    ("product", {"category__id__exact": "books"}, {"P004"}),
    ("product", {"currency": "EUR"}, {"P004"}),
    ("product", {"q": "camera", "stock_state": "in"}, {"P002"}),
    ("customer", {}, {"U001", "U002", "v-visitor"}),
    ("customer", {"q": "U001"}, {"U001"}),
    ("customer", {"q": "alice"}, {"U002"}),  # the user's name
    ("customer", {"user__isempty": "1"}, {"U001", "v-visitor"}),
    ("customer", {"user__isempty": "0"}, {"U002"}),
    ("interaction", {}, {"U001 purchase P001", "U002 view P001", "U002 click P002", "v-visitor view P004"}),
    ("interaction", {"q": "P001"}, {"U001 purchase P001", "U002 view P001"}),
    ("interaction", {"q": "U002"}, {"U002 view P001", "U002 click P002"}),
    ("interaction", {"q": "tripod"}, {"U002 click P002"}),  # the product's title
    ("interaction", {"kind__exact": "view"}, {"U002 view P001", "v-visitor view P004"}),
    ("interaction", {"q": "P001", "kind__exact": "purchase"}, {"U001 purchase P001"}),
]


@pytest.mark.parametrize(
    ("model", "query", "expected"),
    [pytest.param(*case, id=f"{case[0]}?{urlencode(case[1])}") for case in CHANGELIST_CASES],
)
def test_changelists_render_with_search_and_filters(staff_client, catalogue, model, query, expected):
    # Related-object filters take a primary key; the cases name the category.
    params = {key: catalogue[value].pk if key.endswith("__id__exact") else value for key, value in query.items()}

    response = staff_client.get(reverse(f"admin:shop_{model}_changelist"), params)

    assert response.status_code == 200  # an unknown lookup would redirect with ?e=1
    changelist = response.context["cl"]
    assert changelist.result_count == len(expected)
    assert {ROW_KEYS[model](row) for row in changelist.result_list} == expected


def test_product_search_and_stock_filter(staff_client, store):
    body = staff_client.get(reverse("admin:shop_product_changelist"), {"stock_state": "out"}).content.decode()
    assert "Mirrorless camera" in body and "Tripod" not in body


def test_interactions_are_read_only(staff_client, store):
    interaction = Interaction.objects.get()
    assert staff_client.get(reverse("admin:shop_interaction_add")).status_code == 403
    page = staff_client.get(reverse("admin:shop_interaction_change", args=[interaction.pk]))
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    listing = staff_client.get(reverse("admin:shop_interaction_changelist")).content.decode()
    assert "similar" in listing  # placement column from the context


def test_deactivate_action_hides_products(staff_client, store):
    staff_client.post(reverse("admin:shop_product_changelist"), {"action": "deactivate", "_selected_action": [store.pk]})
    store.refresh_from_db()
    assert store.is_active is False


@pytest.fixture
def staff_with(client, django_user_model):
    """A client logged in as a (non-super) staff user holding exactly the named shop permissions."""
    from django.contrib.auth.models import Permission

    def login(*codenames):
        user = django_user_model.objects.create_user("clerk", "clerk@example.com", "pw-clerk-123", is_staff=True)
        user.user_permissions.set(Permission.objects.filter(content_type__app_label="shop", codename__in=codenames))
        client.force_login(user)
        return client

    return login


@pytest.mark.parametrize(("action", "initially_active"), [("deactivate", True), ("activate", False)])
def test_view_only_staff_cannot_run_the_product_actions(staff_with, store, action, initially_active):
    store.is_active = initially_active
    store.save(update_fields=["is_active"])
    client = staff_with("view_product")
    changelist = reverse("admin:shop_product_changelist")

    listing = client.get(changelist)
    assert listing.status_code == 200
    assert f'value="{action}"' not in listing.content.decode()

    client.post(changelist, {"action": action, "_selected_action": [store.pk], "index": 0})

    store.refresh_from_db()
    assert store.is_active is initially_active


@pytest.mark.parametrize(("action", "initially_active"), [("deactivate", True), ("activate", False)])
def test_staff_with_change_permission_can_run_the_product_actions(staff_with, store, action, initially_active):
    store.is_active = initially_active
    store.save(update_fields=["is_active"])
    client = staff_with("view_product", "change_product")
    changelist = reverse("admin:shop_product_changelist")

    assert f'value="{action}"' in client.get(changelist).content.decode()
    client.post(changelist, {"action": action, "_selected_action": [store.pk], "index": 0})

    store.refresh_from_db()
    assert store.is_active is not initially_active
