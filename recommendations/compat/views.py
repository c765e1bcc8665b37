"""The Flask engine's paths as DRF views over the API's own selectors and services."""

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api_errors import ApiError, openapi_error
from core.parsers import StrictJSONParser
from experiments.models import Experiment, Placement
from recommendations.api.permissions import personal_list_customer
from recommendations.api.views import placed_list, query_params
from recommendations.compat.serializers import (
    AbQuerySerializer,
    CompatAbSerializer,
    CompatListSerializer,
    FeedbackSerializer,
    HybridQuerySerializer,
    TopKQuerySerializer,
)
from recommendations.rendering import RecommendationList
from recommendations.selectors import recommendations_personal, recommendations_similar
from recommendations.store import CustomerRef
from shop.api.authentication import CATALOG_AUTHENTICATION, EVENTS_AUTHENTICATION, caller_may_name_customers
from shop.services import InteractionInput, customer_for_request, customer_get_or_create, interactions_record


def compat_list(listing: RecommendationList) -> dict:
    """Return a list in the Flask engine's shape: where it came from and its items, nothing added."""
    results = [{"product_id": item["product_id"], "title": item["title"], "score": item["score"]} for item in listing.results]
    return {"source": listing.source, "results": results}


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
    400: openapi_error("A bad parameter; `extra.fields` names it."),
    403: openapi_error("Naming a user needs an API token or staff (`customer_id_not_allowed`)."),
    404: openapi_error("No such product (`product_not_found`)."),
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
        return Response(compat_list(recommendations_similar(product_id=product_id, k=query["top_k"])))


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
        return Response(compat_list(compat_personal(request, user_id=user_id, k=query["top_k"])))


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
        return Response(compat_list(listing))


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
            **compat_list(placed.listing),
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
            403: openapi_error("A session caller without the CSRF token (`csrf_failed`), "
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
