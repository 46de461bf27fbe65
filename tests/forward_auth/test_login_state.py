"""The login state carries forward-auth's return URL; states sealed before it still decode."""

from __future__ import annotations

import base64
import json

from albauth.auth.action import return_location
from albauth.auth.state import LoginState, StateCodec
from albauth.session.sealing import Sealer
from tests.alb.conftest import SECRET

_AAD = b"albauth/login-state"


def codec() -> tuple[StateCodec, Sealer]:
    sealer = Sealer((SECRET,), "albauth login state")
    return StateCodec(sealer), sealer


def test_return_url_round_trips_and_wins_over_the_path() -> None:
    states, _ = codec()
    state = LoginState(nonce="n", original_uri="/oauth2/start?rd=x", binding="b",
                       redirect_uri="https://auth.example.com/oauth2/idpresponse", created_at=1.0,
                       return_url="https://app.example.com/x?y=1")
    decoded = states.decode(states.encode(state))
    assert decoded == state
    assert return_location(decoded) == "https://app.example.com/x?y=1"


def test_a_state_sealed_before_forward_auth_still_decodes() -> None:
    states, sealer = codec()
    old = {"n": "n", "u": "/page?q=1", "b": "b", "r": "https://app.test/oauth2/idpresponse", "t": 5}
    text = base64.b64encode(sealer.seal(json.dumps(old).encode(), _AAD)).decode()
    decoded = states.decode(text)
    assert decoded.return_url is None
    assert return_location(decoded) == "https://app.test/page?q=1"
