from rest_framework.pagination import PageNumberPagination


class ProductPagination(PageNumberPagination):
    """Page-numbered lists; clients may ask for up to 100 items a page."""

    page_size = 24
    page_size_query_param = "page_size"
    max_page_size = 100
