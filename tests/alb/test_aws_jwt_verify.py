"""Checklist item 53: AWS's own `aws-jwt-verify` (`AlbJwtVerifier`), pointed at albauth's key
endpoint, accepts albauth's x-amzn-oidc-data — the "Done when" of the authenticate-oidc issue."""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from pathlib import Path

import jwt as pyjwt
import pytest

from albauth.clock import FakeClock
from albauth.devidp import DevIdP

from .conftest import CLIENT_ID, StartAlb, Upstream, header, required_header

NODE_DIR = Path(__file__).resolve().parent.parent / "node"

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (NODE_DIR / "node_modules" / "aws-jwt-verify").is_dir(),
    reason="needs node and `npm ci --prefix tests/node` (.ci/run does both)")


async def _verify(token: str, arn: str, issuer: str, client: str, jwks_uri: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        "node", str(NODE_DIR / "verify-alb.js"), token, arn, issuer, client, jwks_uri, cwd=NODE_DIR,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    return proc.returncode or 0, (out or err).decode()


async def test_aws_jwt_verify_accepts_albauths_token(start_alb: StartAlb, idp: DevIdP, upstream: Upstream,
                                                     clock: FakeClock) -> None:
    clock.now = time.time()  # the verifier checks exp against real time
    alb = await start_alb()
    await alb.browser.login()
    token = required_header(upstream.last, "x-amzn-oidc-data")
    head = pyjwt.get_unverified_header(token)
    code, out = await _verify(token, head["signer"], idp.settings.issuer, CLIENT_ID, alb.admin)
    assert code == 0, out
    assert json.loads(out)["sub"] == header(upstream.last, "x-amzn-oidc-identity")
    # The signer check is real: another ARN is refused.
    other = head["signer"].rsplit("/", 1)[0] + "/0000000000000000"
    code, out = await _verify(token, other, idp.settings.issuer, CLIENT_ID, alb.admin)
    assert code == 1 and "ALB ARN not allowed" in out
