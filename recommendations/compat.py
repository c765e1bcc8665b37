"""The older Flask recommendation engine's API, kept so its clients can switch without changes.

Paths and shapes (no trailing slash, as Flask served them)::

    GET  /recommend/content/<product_id>?top_k=10                        -> {"results": [item, ...]}
    GET  /recommend/user/<user_id>?top_k=10                              -> {"results": [item, ...]}
    GET  /recommend/hybrid?user_id=&product_id=&top_k=&w_content=&w_cf=  -> {"results": [item, ...]}
    GET  /recommend/ab?user_id=&product_id=&top_k=&experiment=           -> {"variant": "...", "results": [...], "source": "model"|"cache"}
    POST /feedback {"user_id", "product_id", "action", "ts"}              -> {"status": "received"}
    GET  /health                                                          -> {"status": "ok"}

``item`` is ``{"product_id": "P001", "title": "...", "score": 0.87}``, best first: the Flask
engine's result objects, nothing added. ``top_k`` is 1..100 (default 10). The lists are the
same selectors, caches and filters as ``/api/recommendations/``: content is "similar", user
and hybrid are the personal list (CF + content blend with the cold-start chain).

Differences a client may notice: errors use this API's one shape
(``{"message", "code", "extra": {"fields"}}``) with 400 for bad parameters and 404 for an
unknown product; an unknown ``user_id`` is taken as a customer with no history (the cold-start
list: trending), so a user the store has not seen yet gets a list, not an error. Per-user paths follow the API's rule: naming a user needs an
API token (``Authorization: Token ...``) or a staff session; a storefront visitor may name
only their own visitor id.

``/recommend/ab`` is a thin view over a real experiment (the ``experiments`` app): the one
named by ``experiment``, else the one running on the ``home_for_you`` placement. The user is
assigned (and stored, sticky) like any storefront visitor, and the list is that variant's;
``variant`` is the variant's key, or null when no experiment runs (the list is then the
placement's default). ``request_id`` and ``experiment`` are added so clicks can be attributed.

``/feedback`` stores the event as an Interaction (``action`` accepts the canonical kinds and
their aliases, see ``shop.kinds``; ``ts`` is ISO 8601 or unix seconds, default now, within
the bounds of ``shop.timestamps``). ``user_id`` follows the per-user rule above whatever its
JSON type (``12345`` is the user ``"12345"``). It
writes for the named user, so it takes an API token, which needs no CSRF token: browsers
never attach it on their own. A session caller (staff, or a visitor naming themselves) must
send the CSRF token like any other cookie-authenticated write.

``/health`` is a liveness probe that touches nothing; ``/api/health/`` is the full report.
"""

from django.urls import path
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api_errors import ApiError, ErrorSerializer
from config.parsers import StrictJSONParser
from recommendations.api.permissions import personal_list_customer
from recommendations.api.serializers import DEFAULT_K, MAX_K
from experiments.models import Experiment, Placement
from recommendations.api.views import placed_list, query_params
from recommendations.selectors import (
    CustomerRef,
    RecommendationList,
    recommendations_personal,
    recommendations_similar,
)
from shop.api.authentication import CATALOG_AUTHENTICATION, EVENTS_AUTHENTICATION, caller_may_name_customers
from shop.api.serializers import event_time_validate
from shop.importers import timestamp_parse
from shop.kinds import kind_parse
from shop.models import Product
from shop.services import InteractionInput, customer_for_request, customer_get_or_create, interactions_record

class TopKQuerySerializer(serializers.Serializer):
    """How many products (the Flask engine's `top_k`)."""

    top_k = serializers.IntegerField(min_value=1, max_value=MAX_K, default=DEFAULT_K)


class UserQuerySerializer(TopKQuerySerializer):
    """An optional user and page product."""

    user_id = serializers.CharField(required=False, allow_blank=True, max_length=64)
    product_id = serializers.CharField(required=False, allow_blank=True, max_length=64)


class HybridQuerySerializer(UserQuerySerializer):
    """An explicit blend."""

    w_content = serializers.FloatField(required=False, min_value=0, max_value=1)
    w_cf = serializers.FloatField(required=False, min_value=0, max_value=1)


class AbQuerySerializer(UserQuerySerializer):
    """The A/B path needs the user; the experiment defaults to the one on the home page's personal list."""

    user_id = serializers.CharField(max_length=64)
    experiment = serializers.SlugField(required=False, max_length=64, help_text="An experiment's key (default: the one running on home_for_you).")


class CompatItemSerializer(serializers.Serializer):
    """One product as the Flask engine listed it."""

    product_id = serializers.CharField()
    title = serializers.CharField()
    score = serializers.FloatField()


class CompatListSerializer(serializers.Serializer):
    """A list in the Flask engine's shape."""

    results = CompatItemSerializer(many=True)


class CompatAbSerializer(CompatListSerializer):
    """A list and the experiment variant that made it."""

    variant = serializers.CharField(allow_null=True, help_text="The user's variant, or null when no experiment runs.")
    source = serializers.ChoiceField(choices=["model", "cache"])
    experiment = serializers.CharField(allow_null=True)
    request_id = serializers.CharField()


class FeedbackSerializer(serializers.Serializer):
    """One event in the Flask engine's feedback format."""

    user_id = serializers.CharField(max_length=64)
    product_id = serializers.CharField(max_length=64)
    action = serializers.CharField(max_length=32, help_text="view, click, add_to_cart, purchase, or an alias (clicked, cart, order, ...).")
    ts = serializers.JSONField(
        required=False,
        help_text="ISO 8601 or unix seconds; default now. Not before 2000-01-01 UTC, nor more than 15 minutes ahead.",
    )

    def validate_product_id(self, value: str) -> Product:
        product = Product.objects.filter(product_id=value).first()
        if product is None:
            raise serializers.ValidationError(f"Unknown product '{value}'.", code="unknown_product")
        return product

    def validate_action(self, value: str) -> str:
        try:
            return kind_parse(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc), code="invalid_choice") from None

    def validate_ts(self, value):
        if value is None or value == "":
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise serializers.ValidationError("Expected ISO 8601 or unix seconds.", code="invalid")
        try:
            moment = timestamp_parse(str(value).strip())
        except ValueError as exc:
            raise serializers.ValidationError(str(exc), code="invalid") from None
        return event_time_validate(moment)


def compat_results(listing: RecommendationList) -> list[dict]:
    return [{"product_id": item["product_id"], "title": item["title"], "score": item["score"]} for item in listing.results]


def compat_personal(request: Request, *, user_id: str | None, **options) -> RecommendationList:
    """Return the personal list for a compat path; an unknown user gets the cold-start list."""
    customer = personal_list_customer(request=request, customer_id=user_id or None, parameter="user_id")
    try:
        return recommendations_personal(customer=customer, **options)
    except ApiError as exc:
        if exc.error_code != "customer_not_found":
            raise
        return recommendations_personal(customer=CustomerRef(), **options)


ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="A bad parameter; `extra.fields` names it."),
    403: OpenApiResponse(ErrorSerializer, description="Naming a user needs an API token or staff (`customer_id_not_allowed`)."),
    404: OpenApiResponse(ErrorSerializer, description="No such product (`product_not_found`)."),
}


class CompatView(APIView):
    """Base for the Flask engine's read paths."""

    authentication_classes = CATALOG_AUTHENTICATION
    permission_classes = [AllowAny]


class ContentRecommendView(CompatView):
    """Flask path: products similar to one product."""

    @extend_schema(
        operation_id="compat_recommend_content",
        tags=["compat"],
        parameters=[OpenApiParameter("product_id", str, OpenApiParameter.PATH), TopKQuerySerializer],
        responses={200: CompatListSerializer, 400: ERRORS[400], 404: ERRORS[404]},
    )
    def get(self, request: Request, product_id: str) -> Response:
        query = query_params(TopKQuerySerializer, request)
        return Response({"results": compat_results(recommendations_similar(product_id=product_id, k=query["top_k"]))})


class UserRecommendView(CompatView):
    """Flask path: one user's personal list."""

    @extend_schema(
        operation_id="compat_recommend_user",
        tags=["compat"],
        parameters=[OpenApiParameter("user_id", str, OpenApiParameter.PATH), TopKQuerySerializer],
        responses={200: CompatListSerializer, 400: ERRORS[400], 403: ERRORS[403]},
    )
    def get(self, request: Request, user_id: str) -> Response:
        query = query_params(TopKQuerySerializer, request)
        return Response({"results": compat_results(compat_personal(request, user_id=user_id, k=query["top_k"]))})


class HybridRecommendView(CompatView):
    """Flask path: an explicit blend for a user and/or a product."""

    @extend_schema(
        operation_id="compat_recommend_hybrid",
        tags=["compat"],
        parameters=[HybridQuerySerializer],
        responses={200: CompatListSerializer, **ERRORS},
    )
    def get(self, request: Request) -> Response:
        query = query_params(HybridQuerySerializer, request)
        listing = compat_personal(
            request,
            user_id=query.get("user_id"),
            k=query["top_k"],
            product_id=query.get("product_id") or None,
            w_content=query.get("w_content"),
            w_cf=query.get("w_cf"),
        )
        return Response({"results": compat_results(listing)})


class AbRecommendView(CompatView):
    """Flask path: the user's variant in a running experiment, and its list."""

    @extend_schema(
        operation_id="compat_recommend_ab",
        tags=["compat"],
        parameters=[AbQuerySerializer],
        responses={200: CompatAbSerializer, **ERRORS},
    )
    def get(self, request: Request) -> Response:
        query = query_params(AbQuerySerializer, request)
        placement = Placement.HOME_FOR_YOU
        if query.get("experiment"):
            experiment = Experiment.objects.filter(key=query["experiment"]).first()
            if experiment is None:
                raise ApiError(f"experiment: No experiment '{query['experiment']}'.", code="unknown_experiment",
                               fields={"experiment": [f"No experiment '{query['experiment']}'."]}, status_code=404)  # fmt: skip
            placement = experiment.placement
        customer = personal_list_customer(request=request, customer_id=query["user_id"], parameter="user_id")
        if customer.customer_id is not None:
            customer_get_or_create(customer_id=customer.customer_id)  # an assignment is stored for the user
        product_id = query.get("product_id") or None
        list_query = {"placement": placement, "k": query["top_k"], "exclude": []}
        placed = placed_list(
            request,
            list_query,
            customer=customer,
            product_id=product_id,
            default=lambda: recommendations_personal(customer=customer, k=query["top_k"], product_id=product_id),
        )
        arm = placed.arm
        return Response({
            "variant": arm.variant if arm else None,
            "results": compat_results(placed.listing),
            "source": placed.listing.source,
            "experiment": arm.experiment if arm else None,
            "request_id": placed.request_id,
        })


class FeedbackView(APIView):
    """Flask path: store one event for a user."""

    authentication_classes = EVENTS_AUTHENTICATION
    throttle_scope = "feedback"
    permission_classes = [AllowAny]
    parser_classes = [StrictJSONParser]

    @extend_schema(
        operation_id="compat_feedback",
        tags=["compat"],
        request=FeedbackSerializer,
        responses={
            200: inline_serializer("FeedbackReceived", {"status": serializers.CharField()}),
            400: ERRORS[400],
            403: OpenApiResponse(ErrorSerializer, description="A session caller without the CSRF token (`csrf_failed`), "
                                 "or user_id naming someone else without a token (`customer_id_not_allowed`)."),
        },
    )  # fmt: skip
    def post(self, request: Request) -> Response:
        if not isinstance(request.data, dict):
            raise ApiError("Send one feedback object.", code="invalid")
        feedback = FeedbackSerializer(data=request.data)
        feedback.is_valid(raise_exception=True)
        event = feedback.validated_data
        # The check sees the user_id that is written: validated, so 12345 is "12345" here, whatever JSON type it came as.
        if not caller_may_name_customers(request):
            personal_list_customer(request=request, customer_id=event["user_id"], parameter="user_id")  # 403 unless the caller's own
        interactions_record(
            items=[
                InteractionInput(
                    product=event["product_id"],
                    kind=event["action"],
                    timestamp=event.get("ts") or timezone.now(),
                    customer_id=event["user_id"],
                )
            ],
            default_customer=lambda: customer_for_request(request=request),
        )
        return Response({"status": "received"})


class HealthView(APIView):
    """Flask path: liveness; touches neither database nor cache."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="compat_health", tags=["compat"], responses={200: inline_serializer("Alive", {"status": serializers.CharField()})}
    )
    def get(self, request: Request) -> Response:
        return Response({"status": "ok"})


urlpatterns = [
    path("recommend/content/<str:product_id>", ContentRecommendView.as_view(), name="compat-recommend-content"),
    path("recommend/user/<str:user_id>", UserRecommendView.as_view(), name="compat-recommend-user"),
    path("recommend/hybrid", HybridRecommendView.as_view(), name="compat-recommend-hybrid"),
    path("recommend/ab", AbRecommendView.as_view(), name="compat-recommend-ab"),
    path("feedback", FeedbackView.as_view(), name="compat-feedback"),
    path("health", HealthView.as_view(), name="compat-health"),
]
