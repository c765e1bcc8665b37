"""Catalog and interactions endpoints: parse, call one selector or service, render."""

from dataclasses import asdict
from functools import partial

from django.http import HttpResponse
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import ensure_csrf_cookie
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api_errors import openapi_error
from core.parsers import StrictJSONParser
from shop.api.authentication import CATALOG_AUTHENTICATION, EVENTS_AUTHENTICATION, caller_may_name_customers
from shop.api.pagination import ProductPagination
from shop.api.rendering import json_text, json_text_response
from shop.api.serializers import (
    CategorySerializer,
    CheckoutRequestSerializer,
    CheckoutResponseSerializer,
    checkout_lines_parse,
    InteractionItemSerializer,
    ProductListQuerySerializer,
    ProductSerializer,
    RecordResultSerializer,
    interaction_items_parse,
)
from shop.catalog_cache import catalog_cached, catalog_popularity_seconds, catalog_version
from shop.selectors import ProductFilters, category_list, order_with_lines, product_get, product_list
from shop.services import customer_for_request, interactions_record, order_place



BAD_TOKEN = openapi_error("The `Authorization: Token ...` header names no valid token (`authentication_failed`).")


# Catalog responses set the csrftoken cookie, so the storefront holds one before it posts events.
@method_decorator(ensure_csrf_cookie, name="dispatch")
class ProductListView(generics.ListAPIView):
    """List active products: filtered, searched, ordered and paginated."""

    authentication_classes = CATALOG_AUTHENTICATION
    throttle_scope = "search"  # counts only requests that carry ?search=
    serializer_class = ProductSerializer
    pagination_class = ProductPagination
    filter_backends: list = []  # filtering, search and ordering live in shop.selectors.product_list
    # Every parameter a page depends on: parsing them is a function of their values as sent, so pages are cached
    # under those values (with the catalogue version); other parameters play no part.
    cache_parameters = (
        *ProductListQuerySerializer().fields, ProductPagination.page_query_param, ProductPagination.page_size_query_param
    )

    @extend_schema(
        operation_id="products_list",
        parameters=[ProductListQuerySerializer],
        responses={
            200: ProductSerializer(many=True),
            400: openapi_error("A bad parameter (price, ordering, category, page, page_size, ...); `extra.fields` names it."),
            401: BAD_TOKEN,
            404: openapi_error("The page is past the last page (`page_out_of_range`)."),
        },
    )
    def get(self, request: Request, *args, **kwargs) -> HttpResponse:
        return super().get(request, *args, **kwargs)

    def list(self, request: Request, *args, **kwargs) -> HttpResponse:
        version = catalog_version()

        def page_body() -> dict:
            filters = self.product_filters()
            products = product_list(filters=filters)
            # One count per filter, whatever the order or page.
            count_params = {**asdict(filters), "ordering": None}
            self.paginator.count_source = partial(
                catalog_cached, version=version, kind="product-count", params=count_params, compute=products.count
            )
            return self.paginator.page_body(self.get_serializer(self.paginate_queryset(products), many=True).data)

        params = {name: request.query_params[name] for name in self.cache_parameters if name in request.query_params}
        body = catalog_cached(
            version=version,
            kind="product-page",
            params=params,
            compute=page_body,
            timeout=catalog_popularity_seconds() if params.get("ordering") == "popularity" else None,
        )
        return self.paginator.response_for(body, request=request)

    def product_filters(self) -> ProductFilters:
        query = ProductListQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return ProductFilters(**query.validated_data)

    def get_queryset(self):
        return product_list(filters=self.product_filters())


@method_decorator(ensure_csrf_cookie, name="dispatch")
class ProductDetailView(APIView):
    """Show one active product, named by the store's product_id."""

    authentication_classes = CATALOG_AUTHENTICATION

    @extend_schema(
        operation_id="products_retrieve",
        parameters=[OpenApiParameter("product_id", str, OpenApiParameter.PATH, description="The store's id, e.g. P001.")],
        responses={
            200: ProductSerializer,
            401: BAD_TOKEN,
            404: openapi_error("No active product has this id (`product_not_found`)."),
        },
    )
    def get(self, request: Request, product_id: str) -> HttpResponse:
        text = catalog_cached(
            version=catalog_version(),
            kind="product",
            params={"product_id": product_id},
            compute=lambda: json_text(ProductSerializer(product_get(product_id=product_id)).data),
        )
        return json_text_response(text, request=request)


@method_decorator(ensure_csrf_cookie, name="dispatch")
class CategoryListView(APIView):
    """List every category with its parent and its counts of active products (not paginated)."""

    authentication_classes = CATALOG_AUTHENTICATION

    @extend_schema(operation_id="categories_list", responses={200: CategorySerializer(many=True), 401: BAD_TOKEN})
    def get(self, request: Request) -> HttpResponse:
        text = catalog_cached(
            version=catalog_version(),
            kind="categories",
            params={},
            compute=lambda: json_text(CategorySerializer(category_list(), many=True).data),
        )
        return json_text_response(text, request=request)


class InteractionCreateView(APIView):
    """Record storefront events for the current visitor or, for API-token clients and staff, any customer."""

    authentication_classes = EVENTS_AUTHENTICATION
    throttle_scope = "events"
    parser_classes = [StrictJSONParser]

    @extend_schema(
        operation_id="interactions_create",
        description=(
            "Post one event object or a list of up to 500. All are stored, or, when any item is bad, none. "
            "Browsers (visitor cookie or session) send the `csrftoken` cookie's value in the `X-CSRFToken` header; "
            "API-token clients (`Authorization: Token <key>`) need no CSRF token and may set `customer_id`."
        ),
        request=PolymorphicProxySerializer(
            component_name="InteractionPayload",
            serializers=[InteractionItemSerializer, InteractionItemSerializer(many=True)],
            resource_type_field_name=None,
            many=False,
        ),
        responses={
            201: RecordResultSerializer,
            400: openapi_error("A bad event; for a list `extra.fields` is keyed by item index, then field."),
            401: BAD_TOKEN,
            413: openapi_error("The body is larger than the server accepts (`request_too_large`)."),
            403: openapi_error("CSRF token missing (`csrf_failed`), or customer_id set by a visitor (`customer_id_not_allowed`)."),
        },
        examples=[
            OpenApiExample(
                "One event",
                value={"product_id": "P001", "kind": "click", "context": {"placement": "home", "position": 2}},
                request_only=True,
            ),
            OpenApiExample(
                "A batch from a server",
                value=[
                    {"product_id": "P001", "kind": "view", "customer_id": "U042", "event_id": "e-1"},
                    {"product_id": "P001", "kind": "purchase", "quantity": 2, "customer_id": "U042", "event_id": "e-2"},
                ],
                request_only=True,
            ),
            OpenApiExample(
                "An unknown product in item 2",
                value={
                    "message": "Item 2: product_id: Unknown product 'P999'.",
                    "code": "unknown_product",
                    "extra": {"fields": {"2": {"product_id": ["Unknown product 'P999'."]}}},
                },
                response_only=True,
                status_codes=["400"],
            ),
        ],
    )
    def post(self, request: Request) -> Response:
        items = interaction_items_parse(data=request.data, may_name_customers=caller_may_name_customers(request))
        result = interactions_record(items=items, default_customer=partial(customer_for_request, request=request))
        return Response(RecordResultSerializer(result).data, status=status.HTTP_201_CREATED)


class CheckoutView(APIView):
    """Place an order for the current visitor from their cart, recording one purchase per line."""

    authentication_classes = EVENTS_AUTHENTICATION
    throttle_scope = "checkout"
    parser_classes = [StrictJSONParser]

    @extend_schema(
        operation_id="checkout_create",
        description=(
            "All lines are bought, or, when any line is bad, none: nothing is stored and `extra.fields.lines` "
            "names each bad line by index and then field. Browsers send the `csrftoken` cookie's value in "
            "the `X-CSRFToken` header. A line may carry `unit_price`, the price the shopper's cart showed: "
            "the order always charges the product's current price, and `price_changes` lists each line whose "
            "cart price differed, so the shopper can be told. Send an `Idempotency-Key` header to make retries "
            "safe: the first checkout under a key answers 201, and every later one by the same customer with "
            "the same lines (product ids and quantities) answers 200 with that same order, writing nothing."
        ),
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                required=False,
                pattern=r"^[A-Za-z0-9_\-:.]{1,64}$",
                description=(
                    "A key the client makes for one cart (a UUID fits) and resends with each retry of it. The "
                    "customer's first order under the key is returned (200) instead of placing another, also when "
                    "the retries race; the key with other lines is a 409 `idempotency_key_reused`. A checkout that "
                    "failed stores nothing, so its key may be retried. Without the header every checkout places an order."
                ),
            )
        ],
        request=CheckoutRequestSerializer,
        responses={
            200: OpenApiResponse(CheckoutResponseSerializer, description="A retry: the order placed earlier under this `Idempotency-Key`; nothing new was written."),
            201: OpenApiResponse(CheckoutResponseSerializer, description="The order was placed."),
            400: openapi_error("A bad line (unknown product, bad quantity, a product twice, a second currency), or a bad `Idempotency-Key` header (`invalid_idempotency_key`)."),
            401: BAD_TOKEN,
            403: openapi_error("CSRF token missing (`csrf_failed`)."),
            409: openapi_error("Not enough stock for a line (`out_of_stock`, `insufficient_stock`), or the `Idempotency-Key` already placed an order for other lines (`idempotency_key_reused`)."),
            503: openapi_error("No free order number after several tries, or the database is unreachable; nothing was written, retry (`order_number_unavailable`, `database_unavailable`)."),
        },
        examples=[
            OpenApiExample(
                "A cart of two products",
                value={
                    "lines": [
                        {"product_id": "P001", "quantity": 1, "unit_price": "89.00", "context": {"placement": "product_similar"}},
                        {"product_id": "P002", "quantity": 2},
                    ]
                },
                request_only=True,
            ),
            OpenApiExample(
                "An order placed at a price that changed since the cart was filled",
                value={
                    "order_number": "LM-20260301-7K3QX9",
                    "created_at": "2026-03-01T12:00:00Z",
                    "currency": "USD",
                    "total": "94.00",
                    "lines": [{"product_id": "P001", "title": "Trail Running Shoes", "quantity": 1, "unit_price": "94.00", "line_total": "94.00"}],
                    "price_changes": [{"product_id": "P001", "title": "Trail Running Shoes", "cart_price": "89.00", "price": "94.00"}],
                },
                response_only=True,
                status_codes=["201"],
            ),
            OpenApiExample(
                "Too many units in line 1",
                value={
                    "message": "Line 1: quantity: Only 3 of 'Trail Running Shoes' left in stock.",
                    "code": "insufficient_stock",
                    "extra": {"fields": {"lines": {"1": {"quantity": ["Only 3 of 'Trail Running Shoes' left in stock."]}}}},
                },
                response_only=True,
                status_codes=["409"],
            ),
        ],
    )
    def post(self, request: Request) -> Response:
        lines = checkout_lines_parse(data=request.data)
        idempotency_key = request.headers.get("Idempotency-Key")
        placed = order_place(customer=customer_for_request(request=request), lines=lines, idempotency_key=idempotency_key)
        order = order_with_lines(order_pk=placed.order.pk)
        body = CheckoutResponseSerializer(order, context={"price_changes": placed.price_changes}).data
        return Response(body, status=status.HTTP_201_CREATED if placed.created else status.HTTP_200_OK)
