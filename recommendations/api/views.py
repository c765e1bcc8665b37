"""Recommendation endpoints: parse the query, call one selector, render the list with a request id."""

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

from django.http import QueryDict
from django.utils.cache import patch_cache_control
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api_errors import ApiError, openapi_error
from experiments.serving import Arm, arm_for_request, arm_forced, subject_for_request
from recommendations.api.permissions import personal_list_customer
from recommendations.api.serializers import (
    AlsoBoughtListQuerySerializer,
    HybridListQuerySerializer,
    PersonalListQuerySerializer,
    RecommendationListSerializer,
    SimilarListQuerySerializer,
    TrendingListQuerySerializer,
)
from recommendations.health import HealthReportSerializer, health_report
from recommendations.experiment_selectors import (
    PLACEMENT_KIND_PERSONAL,
    PLACEMENT_KIND_PRODUCT,
    recommendations_for_config,
    recommendations_interleaved,
)
from recommendations.rendering import RecommendationList
from recommendations.selectors import (
    recommendations_also_bought,
    recommendations_personal,
    recommendations_similar,
    recommendations_trending,
)
from recommendations.store import CustomerRef
from shop.api.authentication import CATALOG_AUTHENTICATION, caller_may_name_customers



BAD_PARAMETER = openapi_error("A bad parameter (k, exclude, ...); `extra.fields` names it.")
BAD_TOKEN = openapi_error("The `Authorization: Token ...` header names no valid token (`authentication_failed`).")
PRODUCT_PATH = OpenApiParameter("product_id", str, OpenApiParameter.PATH, description="The store's id, e.g. P001.")
UNKNOWN_PRODUCT = openapi_error("The store has no product with this id (`product_not_found`).")
VARIANT_NOT_ALLOWED = openapi_error("`variant` was given by a caller who is neither an API-token client nor staff (`variant_not_allowed`).")


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


class RequestIdSource:
    """Mints the request id of every list (random; it also seeds an interleaved list's merge).

    A rehearsal (``simulate_experiment``) may seed it for its run, so that the same seed replays
    the same merged lists; web processes never do.
    """

    def __init__(self) -> None:
        self._rng = None
        self.last = ""

    def new(self) -> str:
        raw = self._rng.bytes(16) if self._rng is not None else uuid.uuid4().bytes
        self.last = uuid.UUID(bytes=raw, version=4).hex
        return self.last

    @contextmanager
    def seeded(self, rng) -> Iterator["RequestIdSource"]:
        """Mint ids from ``rng`` (a numpy Generator) until the block ends (this process, one thread)."""
        self._rng = rng
        try:
            yield self
        finally:
            self._rng = None


request_ids = RequestIdSource()
QA_REQUEST_PREFIX = "qa-"
QA_NOT_ALLOWED = "Only API-token clients and staff may choose a variant."


@dataclass(frozen=True)
class PlacedList:
    """A list served in a placement: the list, its request id, and the experiment arm that decided it (if any)."""

    listing: RecommendationList
    request_id: str
    arm: Arm | None = None


def placed_list(
    request: Request,
    query: dict,
    *,
    customer: CustomerRef,
    default: Callable[[], RecommendationList],
    product_id: str | None = None,
) -> PlacedList:
    """Serve the list of ``query["placement"]``: the experiment's variant there if one runs for this visitor, else ``default``.

    The request id is minted first, since the first exposure stores it with the assignment.
    ``?variant=<experiment>:<variant>`` (staff and token clients) forces a variant; its request
    id starts with ``qa-`` and nothing is stored or counted.
    """
    placement = query["placement"]
    if query.get("variant"):
        arm = _forced_arm(request, placement, query["variant"])
        request_id = QA_REQUEST_PREFIX + request_ids.new()
    else:
        request_id = request_ids.new()
        subject = subject_for_request(request=request, customer=customer)
        arm = arm_for_request(placement=placement, subject=subject, request_id=request_id)
    if arm is None:
        return PlacedList(default(), request_id)
    options = {
        "placement_kind": PLACEMENT_KIND_PRODUCT if placement.startswith("product_") else PLACEMENT_KIND_PERSONAL,
        "customer": customer,
        "product_id": product_id,
        "k": query["k"],
        "exclude": query["exclude"],
    }
    if arm.teams is not None:
        return PlacedList(recommendations_interleaved(teams=arm.teams, request_id=request_id, **options), request_id, arm)
    return PlacedList(recommendations_for_config(config=arm.config, variant_digest=arm.digest, **options), request_id, arm)


def _forced_arm(request: Request, placement: str, forced: str) -> Arm:
    if not caller_may_name_customers(request):
        raise ApiError(f"variant: {QA_NOT_ALLOWED}", code="variant_not_allowed", fields={"variant": [QA_NOT_ALLOWED]}, status_code=403)
    experiment_key, variant_key = forced.split(":", 1)
    try:
        return arm_forced(placement=placement, experiment_key=experiment_key, variant_key=variant_key)
    except LookupError as exc:
        raise ApiError(f"variant: {exc}", code="unknown_variant", fields={"variant": [str(exc)]}) from None


def listing_response(placed: PlacedList, *, personal: bool = False) -> Response:
    """Render a list with its request id (never cached: it names this response) and its experiment arm."""
    listing, arm = placed.listing, placed.arm
    response = Response({
        "results": listing.results,
        "strategy": listing.strategy,
        "model_version": listing.model_version,
        "source": listing.source,
        "request_id": placed.request_id,
        "experiment": arm.experiment if arm else None,
        "variant": arm.variant if arm else None,
    })
    if personal or arm is not None:
        patch_cache_control(response, private=True)
    return response


PRODUCT_LIST_RESPONSES = {
    200: RecommendationListSerializer,
    400: BAD_PARAMETER,
    401: BAD_TOKEN,
    403: VARIANT_NOT_ALLOWED,
    404: UNKNOWN_PRODUCT,
}

class RecommendationView(APIView):
    """Base for the recommendation lists: public, token or session callers, JSON only."""

    authentication_classes = CATALOG_AUTHENTICATION
    permission_classes = [AllowAny]


class ProductListView(RecommendationView):
    """Base for a product page's lists: the product's own list, or the experiment's variant in its placement."""

    query_serializer = SimilarListQuerySerializer
    selector = staticmethod(recommendations_similar)

    def get(self, request: Request, product_id: str) -> Response:
        query = query_params(self.query_serializer, request)
        placed = placed_list(
            request,
            query,
            customer=personal_list_customer(request=request, customer_id=None),
            product_id=product_id,
            default=lambda: self.selector(product_id=product_id, k=query["k"], exclude=query["exclude"]),
        )
        return listing_response(placed)


@extend_schema_view(
    get=extend_schema(
        operation_id="recommendations_similar",
        parameters=[PRODUCT_PATH, SimilarListQuerySerializer],
        responses=PRODUCT_LIST_RESPONSES,
    )
)
class SimilarView(ProductListView):
    """Products similar to one product (content-based), for "Similar products"."""


@extend_schema_view(
    get=extend_schema(
        operation_id="recommendations_also_bought",
        parameters=[PRODUCT_PATH, AlsoBoughtListQuerySerializer],
        responses=PRODUCT_LIST_RESPONSES,
    )
)
class AlsoBoughtView(ProductListView):
    """What customers who bought one product also bought (item CF on purchases)."""

    query_serializer = AlsoBoughtListQuerySerializer
    selector = staticmethod(recommendations_also_bought)


PERSONAL_RESPONSES = {
    200: RecommendationListSerializer,
    400: BAD_PARAMETER,
    401: BAD_TOKEN,
    403: openapi_error("customer_id names another customer, or `variant` is given, and the caller is neither an API-token "
               "client nor staff (`customer_id_not_allowed`, `variant_not_allowed`)."),
    404: openapi_error("No such customer (`customer_not_found`) or product (`product_not_found`)."),
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
        product_id = query.get("product_id") or None
        placed = placed_list(
            request,
            query,
            customer=customer,
            product_id=product_id,
            default=lambda: recommendations_personal(customer=customer, k=query["k"], product_id=product_id, exclude=query["exclude"]),
        )
        return listing_response(placed, personal=True)


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
        return listing_response(PlacedList(listing, request_ids.new()), personal=True)


class TrendingView(RecommendationView):
    """Trending products, overall or in one category."""

    @extend_schema(
        operation_id="recommendations_trending",
        parameters=[TrendingListQuerySerializer],
        responses={200: RecommendationListSerializer, 400: openapi_error("A bad parameter, or an unknown category "
                                                                 "(`unknown_category`)."), 401: BAD_TOKEN,
                   403: VARIANT_NOT_ALLOWED},
    )  # fmt: skip
    def get(self, request: Request) -> Response:
        query = query_params(TrendingListQuerySerializer, request)
        default = lambda: recommendations_trending(category=query.get("category"), k=query["k"], exclude=query["exclude"])  # noqa: E731
        if query.get("category"):  # a category's list is a catalog page's, not the placement's
            return listing_response(PlacedList(default(), request_ids.new()))
        placed = placed_list(request, query, customer=personal_list_customer(request=request, customer_id=None), default=default)
        return listing_response(placed)


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
