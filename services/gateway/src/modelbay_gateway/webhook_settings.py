"""Settings of webhook deliveries (a part of GatewaySettings, prefix `MODELBAY_GATEWAY_`)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class WebhookSettings(BaseModel):
    webhook_allow_private_targets: bool = Field(
        default=False,
        description="Allow webhook URLs on loopback, private, link-local or reserved addresses "
        "(off: such targets are refused at registration and at delivery, against SSRF)",
    )
    webhook_max_attempts: int = Field(
        default=8, ge=1, le=50, description="Delivery attempts before a delivery is `failed`"
    )
    webhook_backoff_seconds: float = Field(
        default=5.0, gt=0, description="First retry delay; doubled each attempt, with jitter"
    )
    webhook_backoff_cap_seconds: float = Field(
        default=3600.0, gt=0, description="Longest delay between two attempts"
    )
    webhook_timeout_seconds: float = Field(
        default=10.0, gt=0, description="Timeout of one delivery request (connect and read)"
    )
    webhook_poll_seconds: float = Field(
        default=1.0, gt=0, description="How often the delivery worker looks for due deliveries"
    )
    webhook_batch_size: int = Field(
        default=20, ge=1, le=500, description="Deliveries claimed per poll (sent concurrently)"
    )
