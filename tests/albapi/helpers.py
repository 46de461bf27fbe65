"""Settings for the ALB-API tests: one loopback HTTP listener with ALB's own listener keys
(ListenerAttributes, Rules) and load-balancer attributes, as a user's file would give them."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp.test_utils import unused_port

from albauth.app import Runtime
from albauth.config.load import load_text
from albauth.config.model import Settings

StartAlbauth = Callable[[Settings], Awaitable[Runtime]]


def fixed(body: str, status: str = "200") -> list[dict[str, Any]]:
    return [{"Type": "fixed-response", "FixedResponseConfig": {
        "StatusCode": status, "ContentType": "text/plain", "MessageBody": body}}]


def settings_doc(targets: list[str], *, listener: dict[str, Any] | None = None,
                 load_balancer_attributes: list[dict[str, str]] | None = None,
                 proxy: dict[str, Any] | None = None) -> dict[str, Any]:
    """A document whose default action forwards to target group `app` (`targets`)."""
    doc: dict[str, Any] = {
        "albauth": {"admin_listen": "off", "proxy": proxy or {}, "target_groups": {"app": {"targets": targets}}},
        "listeners": [{"Protocol": "HTTP", "Port": unused_port(), "albauth": {"address": "127.0.0.1"},
                       "DefaultActions": [{"Type": "forward", "TargetGroupArn": "app"}], **(listener or {})}],
    }
    if load_balancer_attributes is not None:
        doc["LoadBalancerAttributes"] = load_balancer_attributes
    return doc


def load_doc(doc: dict[str, Any]) -> Settings:
    return load_text(json.dumps(doc), "test.json", {})


def attributes(**pairs: str) -> list[dict[str, str]]:
    """`attributes(**{"routing.http.x": "true"})` -> [{"Key": ..., "Value": ...}]."""
    return [{"Key": k, "Value": v} for k, v in pairs.items()]
