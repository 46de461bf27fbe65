"""Shared test constants: the real ALB token's rule, so our tokens can be compared to it."""

from pathlib import Path

# Copied from the shared fixtures so the suite runs from a bare checkout.
FIXTURE = Path(__file__).with_name("real-alb-token.json")
ISSUER = "https://cognito-idp.eu-central-1.amazonaws.com/eu-central-1_MyRrOCHQw"
CLIENT_ID = "4fmvht22tjrgd7d3k3tghttct7"
NOW = 1_700_000_000.4
UUID_RE = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
