"""Test-only urlconf: the project's URLs, plus views that fail with an unexpected exception.

The boom paths come first, so ``/feedback`` here is a failing view standing in for the real one.
``handler500`` is the project's own (Django reads it from the active ROOT_URLCONF), or Django's
default when the project defines none.
"""

from django.urls import include, path

from config import urls as project_urls


def boom(request):
    raise RuntimeError("secret internal detail")


urlpatterns = [
    path("api/boom/", boom),
    path("recommend/boom", boom),
    path("feedback", boom),
    path("boom/", boom),
    path("apiary/boom/", boom),
    path("", include(project_urls)),
]

handler500 = getattr(project_urls, "handler500", None)
