"""Page-numbered lists whose bad page parameters answer in the API's error shape."""

from collections.abc import Callable

from django.core.paginator import EmptyPage
from django.http import HttpResponse
from rest_framework.pagination import PageNumberPagination
from rest_framework.utils.urls import remove_query_param, replace_query_param

from core.api_errors import ApiError
from shop.api.rendering import json_text, json_text_response


class ProductPagination(PageNumberPagination):
    """Page-numbered lists; clients may ask for up to 100 items a page (more is capped at 100)."""

    page_size = 24
    page_size_query_param = "page_size"
    max_page_size = 100
    # How to count the whole list, e.g. from a cache; None counts it in the database.
    count_source: Callable[[], int] | None = None

    def get_page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw in (None, ""):
            return self.page_size
        return min(_positive_int(raw, parameter=self.page_size_query_param), self.max_page_size)

    def get_page_number(self, request, paginator) -> int:
        raw = request.query_params.get(self.page_query_param)
        if raw in (None, ""):
            return 1
        if raw in self.last_page_strings:
            return paginator.num_pages
        return _positive_int(raw, parameter=self.page_query_param)

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        paginator = self.django_paginator_class(queryset, self.get_page_size(request))
        if self.count_source is not None:
            paginator.count = self.count_source()
        number = self.get_page_number(request, paginator)
        try:
            self.page = paginator.page(number)
        except EmptyPage:
            message = f"Page {number} is past the last page ({paginator.num_pages})."
            raise ApiError(
                f"page: {message}", code="page_out_of_range", fields={"page": [message]}, status_code=404
            ) from None
        return list(self.page)

    def get_paginated_response(self, data) -> HttpResponse:
        return self.response_for(self.page_body(data), request=self.request)

    def page_body(self, data) -> dict:
        """Return the page without its links, results rendered to JSON text: what a shared cache may keep.

        The links name the request's own host and parameters, so they are added per request.
        """
        paginator = self.page.paginator
        return {
            "count": paginator.count,
            "page": self.page.number,
            "page_size": paginator.per_page,
            "num_pages": paginator.num_pages,
            "results": json_text(data),
        }

    def response_for(self, body: dict, *, request) -> HttpResponse:
        """Answer with a page body and the links to the pages before and after it, as seen from this request's URL."""
        url, number = request.build_absolute_uri(), body["page"]
        next_link = replace_query_param(url, self.page_query_param, number + 1) if number < body["num_pages"] else None
        if number <= 1:
            previous_link = None
        elif number == 2:
            previous_link = remove_query_param(url, self.page_query_param)
        else:
            previous_link = replace_query_param(url, self.page_query_param, number - 1)
        text = (
            f'{{"count":{body["count"]:d},"page":{number:d},"page_size":{body["page_size"]:d},'
            f'"num_pages":{body["num_pages"]:d},"next":{json_text(next_link)},"previous":{json_text(previous_link)},'
            f'"results":{body["results"]}}}'
        )
        return json_text_response(text, request=request)

    def get_paginated_response_schema(self, schema: dict) -> dict:
        response = super().get_paginated_response_schema(schema)
        response["required"] = ["count", "page", "page_size", "num_pages", "next", "previous", "results"]
        response["properties"] = {
            "count": {"type": "integer", "example": 123, "description": "Items in all pages."},
            "page": {"type": "integer", "example": 2},
            "page_size": {"type": "integer", "example": 24},
            "num_pages": {"type": "integer", "example": 6},
            **{key: response["properties"][key] for key in ("next", "previous", "results")},
        }
        return response


def _positive_int(raw: str, *, parameter: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        message = f"Must be a whole number, 1 or more; got '{raw[:20]}'."
        raise ApiError(f"{parameter}: {message}", code="invalid", fields={parameter: [message]})
    return value
