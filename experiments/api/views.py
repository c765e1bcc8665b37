"""Experiments API: staff and token clients manage experiments and read results; the storefront posts impressions."""

from functools import partial

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api_errors import ApiError, openapi_error
from core.parsers import StrictJSONParser
from experiments.api.serializers import (
    MAX_IMPRESSIONS_PER_REQUEST,
    ExperimentSerializer,
    ImpressionItemSerializer,
    ImpressionResultSerializer,
)
from experiments.models import Experiment
from experiments.results import experiment_results
from experiments.services import (
    experiment_create,
    experiment_pause,
    experiment_start,
    experiment_stop,
    experiment_update,
    impressions_record,
)
from shop.api.authentication import CATALOG_AUTHENTICATION, EVENTS_AUTHENTICATION, caller_may_name_customers
from shop.services import customer_for_request



FORBIDDEN = openapi_error("Only staff and API-token clients manage experiments (`permission_denied`).")
BAD_TOKEN = openapi_error("The `Authorization: Token ...` header names no valid token (`authentication_failed`).")
NOT_FOUND = openapi_error("No experiment with this key (`not_found`).")
CONFLICT = openapi_error("Not possible in the experiment's state, or another experiment runs on the placement (`placement_taken`).")


class IsStaffOrTokenClient(BasePermission):
    """Staff sessions and API-token clients; storefront visitors get 403."""

    message = "Only staff and API-token clients may manage experiments."

    def has_permission(self, request, view) -> bool:
        return caller_may_name_customers(request)


class ExperimentView(APIView):
    """Base for the staff endpoints."""

    authentication_classes = CATALOG_AUTHENTICATION
    permission_classes = [IsStaffOrTokenClient]
    parser_classes = [StrictJSONParser]

    def get_authenticate_header(self, request):
        # A visitor without credentials is refused (403), not challenged; a bad token still gets its 401.
        return super().get_authenticate_header(request) if request.META.get("HTTP_AUTHORIZATION") else None


def _experiment(key: str) -> Experiment:
    return get_object_or_404(Experiment.objects.prefetch_related("variants"), key=key)


def _split(validated: dict) -> tuple[dict, list[dict] | None]:
    fields = dict(validated)
    variants = fields.pop("variants", None)
    return fields, [dict(variant) for variant in variants] if variants is not None else None


class ExperimentListView(ExperimentView):
    """List experiments, or create a draft with its variants."""

    @extend_schema(operation_id="experiments_list", responses={200: ExperimentSerializer(many=True), 401: BAD_TOKEN, 403: FORBIDDEN})
    def get(self, request: Request) -> Response:
        experiments = Experiment.objects.prefetch_related("variants").order_by("-created_at", "-id")
        return Response(ExperimentSerializer(experiments, many=True).data)

    @extend_schema(
        operation_id="experiments_create",
        request=ExperimentSerializer,
        responses={201: ExperimentSerializer, 400: openapi_error("A bad field; `extra.fields` names it."), 401: BAD_TOKEN, 403: FORBIDDEN},
    )
    def post(self, request: Request) -> Response:
        serializer = ExperimentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        fields, variants = _split(serializer.validated_data)
        experiment = experiment_create(fields=fields, variants=variants or [])
        return Response(ExperimentSerializer(_experiment(experiment.key)).data, status=status.HTTP_201_CREATED)


class ExperimentDetailView(ExperimentView):
    """One experiment: read it, or edit what its state allows."""

    @extend_schema(operation_id="experiments_retrieve", responses={200: ExperimentSerializer, 401: BAD_TOKEN, 403: FORBIDDEN, 404: NOT_FOUND})
    def get(self, request: Request, key: str) -> Response:
        return Response(ExperimentSerializer(_experiment(key)).data)

    @extend_schema(
        operation_id="experiments_partial_update",
        request=ExperimentSerializer(partial=True),
        responses={200: ExperimentSerializer, 400: openapi_error("A bad field, or one that cannot change once started."), 401: BAD_TOKEN, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT},
    )
    def patch(self, request: Request, key: str) -> Response:
        experiment = _experiment(key)
        serializer = ExperimentSerializer(experiment, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        fields, variants = _split(serializer.validated_data)
        experiment_update(experiment=experiment, fields=fields, variants=variants)
        return Response(ExperimentSerializer(_experiment(key)).data)


class ExperimentActionView(ExperimentView):
    """Start, pause or stop an experiment."""

    transition = staticmethod(experiment_start)

    def post(self, request: Request, key: str) -> Response:
        experiment = self.transition(experiment=_experiment(key))
        return Response(ExperimentSerializer(_experiment(experiment.key)).data)


ACTION_RESPONSES = {200: ExperimentSerializer, 400: openapi_error("The variants are not a valid set."), 401: BAD_TOKEN, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT}


class ExperimentStartView(ExperimentActionView):
    """Start or resume: the placement serves the variants from now on."""

    transition = staticmethod(experiment_start)

    @extend_schema(operation_id="experiments_start", request=None, responses=ACTION_RESPONSES)
    def post(self, request: Request, key: str) -> Response:
        return super().post(request, key)


class ExperimentPauseView(ExperimentActionView):
    """Pause: the placement serves its default list; assignments are kept."""

    transition = staticmethod(experiment_pause)

    @extend_schema(operation_id="experiments_pause", request=None, responses=ACTION_RESPONSES)
    def post(self, request: Request, key: str) -> Response:
        return super().post(request, key)


class ExperimentStopView(ExperimentActionView):
    """Stop for good and freeze the results."""

    transition = staticmethod(partial(experiment_stop, results=lambda experiment: experiment_results(experiment=experiment)))

    @extend_schema(operation_id="experiments_stop", request=None, responses=ACTION_RESPONSES)
    def post(self, request: Request, key: str) -> Response:
        return super().post(request, key)


class ExperimentResultsView(ExperimentView):
    """The experiment's metrics per variant, lifts with intervals, SRM check, sequential decision and planner."""

    @extend_schema(
        operation_id="experiments_results",
        responses={200: OpenApiResponse(description="See the README's 'Running an experiment'."), 401: BAD_TOKEN, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    def get(self, request: Request, key: str) -> Response:
        return Response(experiment_results(experiment=_experiment(key)))


class ImpressionCreateView(APIView):
    """Record the recommendation lists the current visitor actually saw."""

    authentication_classes = EVENTS_AUTHENTICATION
    throttle_scope = "events"  # the storefront's other event stream: one budget with /api/interactions/
    parser_classes = [StrictJSONParser]

    @extend_schema(
        operation_id="impressions_create",
        description=(
            f"Post a list of up to {MAX_IMPRESSIONS_PER_REQUEST} impressions (one object is accepted too). A list "
            "(request_id) or event_id recorded before is skipped and counted as a duplicate. The experiment and "
            "variant are taken from the visitor's stored assignment. Browsers send the CSRF token header."
        ),
        request=ImpressionItemSerializer(many=True),
        responses={
            201: ImpressionResultSerializer,
            400: openapi_error("A bad impression; for a list `extra.fields` is keyed by item index, then field."),
            401: BAD_TOKEN,
            403: openapi_error("CSRF token missing (`csrf_failed`)."),
        },
    )
    def post(self, request: Request) -> Response:
        data = request.data
        items = [data] if isinstance(data, dict) else data
        if not isinstance(items, list) or not items:
            raise ApiError("Send one impression object or a non-empty list of them.", code="invalid")
        if len(items) > MAX_IMPRESSIONS_PER_REQUEST:
            raise ApiError(f"Send at most {MAX_IMPRESSIONS_PER_REQUEST} impressions a request; this one has {len(items)}.", code="too_many_items")
        serializer = ImpressionItemSerializer(data=data, many=not isinstance(data, dict))
        serializer.is_valid(raise_exception=True)
        validated = [serializer.validated_data] if isinstance(data, dict) else serializer.validated_data
        inputs = [ImpressionItemSerializer().to_input(attrs) for attrs in validated]
        result = impressions_record(items=inputs, customer=customer_for_request(request=request))
        return Response(ImpressionResultSerializer(result).data, status=status.HTTP_201_CREATED)


