"""The ActivConnect API fuzzed from its own OpenAPI document (schemathesis, in-process over
WSGI, as tests/hardening/test_fuzz_api.py does for the agent API): whatever the parameters,
never a 5xx, every 4xx is problem+json, every answer conforms to the document."""

import pytest
import schemathesis
from django.test import override_settings
from hypothesis import given
from schemathesis import GenerationMode
from schemathesis.specs.openapi import checks as openapi_checks

from connect.api import api
from tests.connect.helpers import activity_row, connect_account, token_for, tracked_user
from tests.hardening.fuzz_helpers import InProcessWSGI, fuzz_settings

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"
SCHEMA = schemathesis.openapi.from_dict(api.get_openapi_schema())
SCHEMA.app = InProcessWSGI()
PATHS = sorted(SCHEMA.raw_schema["paths"])


@pytest.fixture
def secret():
    account = connect_account()[0]
    eva = tracked_user(account, "eva")
    activity_row(account, eva, title="t", url_path="/p")
    return token_for(account)[1]


@pytest.fixture(autouse=True)
def _no_rate_limit():
    with override_settings(CONNECT_API_RATE_LIMIT=(10**9, 60), CONNECT_AUTH_FAILURE_LIMIT=(10**9, 60)):
        yield


def check(case, response, headers):
    assert response.status_code < 500, response.text
    excluded = [openapi_checks.positive_data_acceptance, openapi_checks.negative_data_rejection]
    case.validate_response(response, excluded_checks=excluded, headers=headers)
    if response.status_code >= 400:
        content_type = (response.headers.get("content-type") or [""])[0]
        assert content_type.startswith(PROBLEM), response.text
        assert response.json()["status"] == response.status_code


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["positive", "negative"])
def test_no_500_over_the_document(secret, path, mode):
    operation = SCHEMA[path]["GET"]
    headers = {"Authorization": f"Bearer {secret}"}

    @fuzz_settings(25)
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        check(case, case.call(headers=headers), headers)

    run()
