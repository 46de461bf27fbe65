from __future__ import annotations

import json
from typing import Any

import pytest

from albauth.signing import AlbJwtSigner, KeyRing, default_signer_arn

from .vectors import CLIENT_ID, FIXTURE, ISSUER, NOW


@pytest.fixture(scope="session")
def real_alb() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(FIXTURE.read_text())
    return data


@pytest.fixture(scope="session")
def keyring() -> KeyRing:
    return KeyRing.generate()


@pytest.fixture(scope="session")
def signer_arn() -> str:
    return default_signer_arn(region="eu-central-1", account="197280958225",
                              name="ecs-with-cognito-lb")


@pytest.fixture
def userinfo() -> dict[str, Any]:
    # Cognito's userinfo: email_verified is a string, key order is the IdP's.
    return {"sub": "23d498b2-3031-70d2-8a15-49dd886a087b", "email_verified": "true",
            "email": "duke@sun.com", "username": "duke"}


@pytest.fixture
def alb_signer(keyring: KeyRing, signer_arn: str) -> AlbJwtSigner:
    return AlbJwtSigner(keyring, signer_arn=signer_arn)


@pytest.fixture
def alb_token(alb_signer: AlbJwtSigner, userinfo: dict[str, Any]) -> str:
    return alb_signer.sign(userinfo, issuer=ISSUER, client_id=CLIENT_ID, now=NOW)
