"""The demo app `albauth dev` puts behind albauth: a page showing what an application
behind ALB's authenticate-oidc receives, with the signature of `x-amzn-oidc-data`
checked against albauth's public-key endpoint, and a logout done the ALB way."""

from .app import DEMO_KEY, DemoSettings, EndSession, create_demo_app
from .verify import PublicKeys, Verification, verify_oidc_data

__all__ = [
    "DEMO_KEY",
    "DemoSettings",
    "EndSession",
    "PublicKeys",
    "Verification",
    "create_demo_app",
    "verify_oidc_data",
]
