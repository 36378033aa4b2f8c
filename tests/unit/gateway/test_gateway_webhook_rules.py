"""Webhook rules without I/O: Standard Webhooks signatures, SSRF refusals, filters, back-off."""

from __future__ import annotations

import pytest
from modelbay_gateway.webhook_delivery import retry_delay
from modelbay_gateway.webhook_settings import WebhookSettings
from modelbay_gateway.webhooks import UnsafeWebhookTarget, Webhook, check_target, new_secret, sign


def test_the_signature_matches_the_standard_webhooks_test_vector() -> None:
    """The example of the Standard Webhooks reference libraries."""
    signature = sign(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265330,
        b'{"test": 2432232314}',
    )
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_secrets_are_whsec_and_random() -> None:
    first, second = new_secret(), new_secret()
    assert first.startswith("whsec_")
    assert first != second


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/x",
        "http://localhost/x",
        "http://10.1.2.3/x",
        "http://192.168.0.10/x",
        "http://169.254.169.254/latest/meta-data",  # cloud metadata
        "http://[::1]/x",
        "http://0.0.0.0/x",
    ],
)
def test_private_and_loopback_targets_are_refused_unless_allowed(url: str) -> None:
    with pytest.raises(UnsafeWebhookTarget):
        check_target(url, allow_private=False)
    check_target(url, allow_private=True)


@pytest.mark.parametrize(
    "url", ["ftp://example.org/x", "http:///nohost", "https://user:pw@example.org/x"]
)
def test_non_http_and_credential_urls_are_refused_even_when_private_is_allowed(url: str) -> None:
    with pytest.raises(UnsafeWebhookTarget):
        check_target(url, allow_private=True)


def test_filters_take_exact_types_prefixes_or_everything() -> None:
    def hook(*types: str) -> Webhook:
        return Webhook(None, "a", None, "u", types, True, None)  # type: ignore[arg-type]

    assert hook().wants("modelbay.model.published.v1")
    assert hook("modelbay.model.*").wants("modelbay.model.published.v1")
    assert hook("modelbay.model.published.v1").wants("modelbay.model.published.v1")
    assert not hook("modelbay.model.published.v1").wants("modelbay.model.uploaded.v1")
    assert not hook("modelbay.org.*").wants("modelbay.model.uploaded.v1")


def test_back_off_doubles_is_capped_and_jittered() -> None:
    settings = WebhookSettings(webhook_backoff_seconds=2.0, webhook_backoff_cap_seconds=30.0)
    for attempt, full in ((1, 2.0), (2, 4.0), (3, 8.0), (10, 30.0)):
        delays = [retry_delay(attempt, settings) for _ in range(200)]
        assert all(full / 2 <= delay <= full for delay in delays)
        assert len(set(delays)) > 1  # jitter: replicas retrying together spread out
