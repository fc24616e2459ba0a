"""Agent keys are stored hashed and never written to a log."""

import hashlib
import logging

import pytest

from accounts.actors import Actor
from config.logging import redact
from licensing.models import AgentKey
from licensing.services import agent_key_create
from tests.factories import make_account

pytestmark = pytest.mark.django_db


def test_an_agent_key_is_stored_as_its_hash_only():
    account, _ = make_account(plan="professional", licenses=5)
    key, secret = agent_key_create(account=account, name="lab", actor=Actor.system("t"))
    row = AgentKey.objects.filter(pk=key.pk).values().get()
    assert row["key_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    assert not any(secret in str(value) or secret.split("_")[-1] in str(value) for value in row.values())
    assert secret.startswith(f"wa_{key.prefix}_")


def test_an_agent_key_in_a_log_line_keeps_its_prefix_and_loses_its_secret(caplog):
    account, _ = make_account(plan="professional", licenses=5)
    key, secret = agent_key_create(account=account, name="lab", actor=Actor.system("t"))
    text = redact(f"agent check-in refused for key {secret} from 10.0.0.1")
    assert secret not in text and f"wa_{key.prefix}_" in text and "[REDACTED]" in text
    logger = logging.getLogger("licensing")
    from config.logging import RedactSecretsFilter

    record = logger.makeRecord("licensing", logging.WARNING, __file__, 1, "key %s", (secret,), None)
    RedactSecretsFilter().filter(record)
    assert secret not in record.getMessage()
