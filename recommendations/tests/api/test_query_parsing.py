"""Query strings are parsed once per process; the memo must never leak one request's data into another."""

import pytest
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from recommendations.api.serializers import PersonalListQuerySerializer
from recommendations.api.views import query_params


def parse(url: str) -> dict:
    return query_params(PersonalListQuerySerializer, Request(APIRequestFactory().get(url)))


def test_the_same_query_parses_to_equal_but_separate_values():
    first = parse("/?k=5&exclude=P1,P2")
    first["exclude"].append("P3")
    second = parse("/?exclude=P1,P2&k=5")
    assert second == {"k": 5, "exclude": ["P1", "P2"], "placement": "home_for_you"}


def test_a_bad_query_is_refused_every_time():
    for _ in range(2):
        with pytest.raises(ValidationError) as refused:
            parse("/?k=0")
        assert "k" in refused.value.detail
