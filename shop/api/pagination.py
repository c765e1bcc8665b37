"""Page-numbered lists whose bad page parameters answer in the API's error shape."""

from django.core.paginator import EmptyPage
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

from config.api_errors import ApiError


class ProductPagination(PageNumberPagination):
    """Page-numbered lists; clients may ask for up to 100 items a page (more is capped at 100)."""

    page_size = 24
    page_size_query_param = "page_size"
    max_page_size = 100

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
        number = self.get_page_number(request, paginator)
        try:
            self.page = paginator.page(number)
        except EmptyPage:
            message = f"Page {number} is past the last page ({paginator.num_pages})."
            raise ApiError(
                f"page: {message}", code="page_out_of_range", fields={"page": [message]}, status_code=404
            ) from None
        return list(self.page)

    def get_paginated_response(self, data) -> Response:
        paginator = self.page.paginator
        return Response(
            {
                "count": paginator.count,
                "page": self.page.number,
                "page_size": paginator.per_page,
                "num_pages": paginator.num_pages,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )

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
