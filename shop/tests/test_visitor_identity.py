import pytest
from django.contrib.auth import get_user_model
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils import timezone

from shop.middleware import VisitorMiddleware
from shop.models import Category, Customer, Interaction, Product
from shop.services import customer_for_request

pytestmark = pytest.mark.django_db


def run_middleware(request):
    captured = {}

    def view(req):
        captured["visitor_id"] = req.visitor_id
        return HttpResponse("ok")

    response = VisitorMiddleware(view)(request)
    return captured["visitor_id"], response


def test_a_new_visitor_gets_a_signed_cookie_and_no_database_row():
    visitor_id, response = run_middleware(RequestFactory().get("/"))
    assert visitor_id.startswith("v-")
    cookie = response.cookies["visitor_id"]
    assert cookie.value != visitor_id and visitor_id in cookie.value  # signed, not bare
    assert cookie["httponly"] is True
    assert Customer.objects.count() == 0


def test_a_returning_visitor_keeps_the_id_and_gets_no_new_cookie():
    first_id, first_response = run_middleware(RequestFactory().get("/"))
    request = RequestFactory().get("/")
    request.COOKIES["visitor_id"] = first_response.cookies["visitor_id"].value
    second_id, second_response = run_middleware(request)
    assert second_id == first_id
    assert "visitor_id" not in second_response.cookies


def test_a_forged_cookie_is_replaced():
    request = RequestFactory().get("/")
    request.COOKIES["visitor_id"] = "v-forged-by-hand"
    visitor_id, response = run_middleware(request)
    assert visitor_id != "v-forged-by-hand"
    assert "visitor_id" in response.cookies


def _request(visitor_id, user=None):
    from django.contrib.auth.models import AnonymousUser

    request = RequestFactory().get("/")
    request.visitor_id = visitor_id
    request.user = user or AnonymousUser()
    return request


def test_anonymous_visitor_becomes_a_customer_on_first_use():
    customer = customer_for_request(request=_request("v-abc"))
    assert customer.customer_id == "v-abc"
    assert customer_for_request(request=_request("v-abc")).pk == customer.pk


def test_signing_in_keeps_the_visitor_history():
    user = get_user_model().objects.create_user("ann", password="pw-123456")
    category = Category.objects.create(name="Books", slug="books")
    product = Product.objects.create(product_id="P1", title="Novel", category=category, price=10)
    visitor = customer_for_request(request=_request("v-ann-laptop"))
    Interaction.objects.create(customer=visitor, product=product, kind="view", timestamp=timezone.now())

    signed_in = customer_for_request(request=_request("v-ann-laptop", user))
    assert signed_in.pk == visitor.pk and signed_in.user == user

    # Later, on another device: the new visitor's events move onto the user's customer.
    phone = customer_for_request(request=_request("v-ann-phone"))
    Interaction.objects.create(customer=phone, product=product, kind="click", timestamp=timezone.now())
    again = customer_for_request(request=_request("v-ann-phone", user))
    assert again.pk == visitor.pk
    assert sorted(again.interactions.values_list("kind", flat=True)) == ["click", "view"]
    assert not Customer.objects.filter(customer_id="v-ann-phone").exists()
