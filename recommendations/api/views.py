"""Recommendation endpoints: parse the query, call one selector, render the list with a request id."""

import uuid
from functools import lru_cache

from django.http import QueryDict
from django.utils.cache import patch_cache_control
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api_errors import ErrorSerializer
from recommendations.api.permissions import personal_list_customer
from recommendations.api.serializers import (
    HybridListQuerySerializer,
    ListQuerySerializer,
    PersonalListQuerySerializer,
    RecommendationListSerializer,
    TrendingListQuerySerializer,
)
from recommendations.health import HealthReportSerializer, health_report
from recommendations.selectors import (
    RecommendationList,
    recommendations_also_bought,
    recommendations_personal,
    recommendations_similar,
    recommendations_trending,
)
from shop.api.authentication import CATALOG_AUTHENTICATION


def error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


BAD_PARAMETER = error("A bad parameter (k, exclude, ...); `extra.fields` names it.")
BAD_TOKEN = error("The `Authorization: Token ...` header names no valid token (`authentication_failed`).")
PRODUCT_PATH = OpenApiParameter("product_id", str, OpenApiParameter.PATH, description="The store's id, e.g. P001.")
UNKNOWN_PRODUCT = error("The store has no product with this id (`product_not_found`).")


def query_params(serializer_class, request: Request) -> dict:
    """Return the validated query; the same query string is parsed once per process (a hot path)."""
    items = tuple((key, tuple(values)) for key, values in sorted(request.query_params.lists()))
    validated = _validated_query(serializer_class, items)
    return {name: list(value) if isinstance(value, list) else value for name, value in validated.items()}


@lru_cache(maxsize=1024)
def _validated_query(serializer_class, items: tuple) -> dict:
    data = QueryDict(mutable=True)
    for key, values in items:
        data.setlist(key, list(values))
    query = serializer_class(data=data)
    query.is_valid(raise_exception=True)
    return dict(query.validated_data)


def listing_response(listing: RecommendationList, *, personal: bool = False) -> Response:
    """Render a list with a fresh request id (never cached: it names this response)."""
    response = Response({
        "results": listing.results,
        "strategy": listing.strategy,
        "model_version": listing.model_version,
        "source": listing.source,
        "request_id": uuid.uuid4().hex,
    })
    if personal:
        patch_cache_control(response, private=True)
    return response


class RecommendationView(APIView):
    """Base for the recommendation lists: public, token or session callers, JSON only."""

    authentication_classes = CATALOG_AUTHENTICATION
    permission_classes = [AllowAny]


class SimilarView(RecommendationView):
    """Products similar to one product (content-based), for "Similar products"."""

    @extend_schema(
        operation_id="recommendations_similar",
        parameters=[PRODUCT_PATH, ListQuerySerializer],
        responses={200: RecommendationListSerializer, 400: BAD_PARAMETER, 401: BAD_TOKEN, 404: UNKNOWN_PRODUCT},
    )
    def get(self, request: Request, product_id: str) -> Response:
        query = query_params(ListQuerySerializer, request)
        return listing_response(recommendations_similar(product_id=product_id, k=query["k"], exclude=query["exclude"]))


class AlsoBoughtView(RecommendationView):
    """What customers who bought one product also bought (item CF on purchases)."""

    @extend_schema(
        operation_id="recommendations_also_bought",
        parameters=[PRODUCT_PATH, ListQuerySerializer],
        responses={200: RecommendationListSerializer, 400: BAD_PARAMETER, 401: BAD_TOKEN, 404: UNKNOWN_PRODUCT},
    )
    def get(self, request: Request, product_id: str) -> Response:
        query = query_params(ListQuerySerializer, request)
        listing = recommendations_also_bought(product_id=product_id, k=query["k"], exclude=query["exclude"])
        return listing_response(listing)


PERSONAL_RESPONSES = {
    200: RecommendationListSerializer,
    400: BAD_PARAMETER,
    401: BAD_TOKEN,
    403: error("customer_id names another customer and the caller is neither an API-token client nor staff "
               "(`customer_id_not_allowed`)."),
    404: error("No such customer (`customer_not_found`) or product (`product_not_found`)."),
}  # fmt: skip


class ForYouView(RecommendationView):
    """The current visitor's personal list, from their interactions up to this request."""

    @extend_schema(
        operation_id="recommendations_for_you",
        parameters=[PersonalListQuerySerializer],
        responses=PERSONAL_RESPONSES,
    )
    def get(self, request: Request) -> Response:
        query = query_params(PersonalListQuerySerializer, request)
        customer = personal_list_customer(request=request, customer_id=query.get("customer_id"))
        listing = recommendations_personal(
            customer=customer, k=query["k"], product_id=query.get("product_id") or None, exclude=query["exclude"]
        )
        return listing_response(listing, personal=True)


class HybridView(RecommendationView):
    """A personal list with an explicit blend of content and collaborative scores."""

    @extend_schema(
        operation_id="recommendations_hybrid",
        parameters=[HybridListQuerySerializer],
        responses=PERSONAL_RESPONSES,
    )
    def get(self, request: Request) -> Response:
        query = query_params(HybridListQuerySerializer, request)
        customer = personal_list_customer(request=request, customer_id=query.get("customer_id"))
        listing = recommendations_personal(
            customer=customer,
            k=query["k"],
            product_id=query.get("product_id") or None,
            exclude=query["exclude"],
            w_content=query.get("w_content"),
            w_cf=query.get("w_cf"),
        )
        return listing_response(listing, personal=True)


class TrendingView(RecommendationView):
    """Trending products, overall or in one category."""

    @extend_schema(
        operation_id="recommendations_trending",
        parameters=[TrendingListQuerySerializer],
        responses={200: RecommendationListSerializer, 400: error("A bad parameter, or an unknown category "
                                                                 "(`unknown_category`)."), 401: BAD_TOKEN},
    )  # fmt: skip
    def get(self, request: Request) -> Response:
        query = query_params(TrendingListQuerySerializer, request)
        listing = recommendations_trending(category=query.get("category"), k=query["k"], exclude=query["exclude"])
        return listing_response(listing)


class HealthView(APIView):
    """Report database, cache, broker and model state; 503 when the database is unreachable."""

    authentication_classes: list = []  # no session or token lookup: the database may be down
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="health",
        responses={200: HealthReportSerializer, 503: OpenApiResponse(HealthReportSerializer, description="The database is unreachable.")},
    )
    def get(self, request: Request) -> Response:
        report = health_report()
        response = Response(HealthReportSerializer(report).data, status=report.http_status)
        patch_cache_control(response, no_store=True)
        return response
