"""x-amzn-oidc-data, spec 5.2 and checklist 47-53: same structure as a real ALB token."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import jwt
import pytest

from albauth.signing import (
    AlbJwtSigner,
    InvalidAlbToken,
    KeyRing,
    b64url_decode,
    b64url_padded,
    default_signer_arn,
    verify_alb_jwt,
)

from .vectors import CLIENT_ID, ISSUER, NOW, UUID_RE

HEADER_KEYS = ["typ", "kid", "alg", "iss", "client", "signer", "exp"]


def _strip_padding(token: str) -> str:
    return ".".join(seg.rstrip("=") for seg in token.split("."))


def _segments(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes]:
    h, p, s = token.split(".")
    return json.loads(b64url_decode(h)), json.loads(b64url_decode(p)), b64url_decode(s)


# --- the real ALB token ------------------------------------------------------------

def test_real_alb_token_verifies(real_alb: dict[str, Any]) -> None:
    token = verify_alb_jwt(real_alb["token"], real_alb["public_key_pem"].encode(),
                           expected_signer=json.loads(real_alb["decoded_header_json"])["signer"])
    assert token.header["kid"] == real_alb["kid"]
    assert json.dumps(token.claims, separators=(",", ":")) == real_alb["decoded_payload_json"]


def test_real_alb_token_fails_without_its_padding(real_alb: dict[str, Any]) -> None:
    with pytest.raises(InvalidAlbToken, match="signature"):
        verify_alb_jwt(_strip_padding(real_alb["token"]), real_alb["public_key_pem"].encode())


def test_real_alb_token_is_expired_when_checked(real_alb: dict[str, Any]) -> None:
    with pytest.raises(InvalidAlbToken, match="expired"):
        verify_alb_jwt(real_alb["token"], real_alb["public_key_pem"].encode(), now=NOW)


def test_real_alb_token_fails_with_another_signer(real_alb: dict[str, Any]) -> None:
    with pytest.raises(InvalidAlbToken, match="signer"):
        verify_alb_jwt(real_alb["token"], real_alb["public_key_pem"].encode(),
                       expected_signer=default_signer_arn())


# --- our token has the real one's structure ------------------------------------------

def test_segments_are_padded_base64url_like_alb(alb_token: str, real_alb: dict[str, Any]) -> None:
    for token in (alb_token, real_alb["token"]):
        segments = token.split(".")
        assert len(segments) == 3
        for seg in segments:
            assert len(seg) % 4 == 0
            assert re.fullmatch(r"[A-Za-z0-9_=-]+", seg)
            assert "=" not in seg.rstrip("=")


def test_header_keys_in_alb_order(alb_token: str, real_alb: dict[str, Any]) -> None:
    header, _, _ = _segments(alb_token)
    assert list(header) == HEADER_KEYS == list(json.loads(real_alb["decoded_header_json"]))
    assert header["typ"] == "JWT" and header["alg"] == "ES256"
    assert re.fullmatch(UUID_RE, header["kid"])
    assert header["iss"] == ISSUER and header["client"] == CLIENT_ID
    assert re.fullmatch(r"arn:aws:elasticloadbalancing:[a-z0-9-]+:\d{12}:loadbalancer/app/"
                        r"[A-Za-z0-9-]+/[0-9a-f]{16}", header["signer"])
    assert type(header["exp"]) is int


def test_header_is_compact_json(alb_token: str) -> None:
    raw = base64.urlsafe_b64decode(alb_token.split(".")[0])
    assert raw.startswith(b'{"typ":"JWT","kid":"') and b" " not in raw


def test_payload_is_userinfo_then_exp_then_iss(alb_token: str, userinfo: dict[str, Any]) -> None:
    header, payload, _ = _segments(alb_token)
    assert list(payload) == [*userinfo, "exp", "iss"]
    assert payload == {**userinfo, "exp": header["exp"], "iss": ISSUER}
    assert "iat" not in payload


def test_idp_exp_and_iss_are_moved_to_the_end(alb_signer: AlbJwtSigner) -> None:
    token = alb_signer.sign({"iss": "https://idp", "sub": "s", "exp": 5, "email": "e"},
                            issuer=ISSUER, client_id=CLIENT_ID, now=NOW)
    _, payload, _ = _segments(token)
    assert list(payload) == ["sub", "email", "exp", "iss"]
    assert payload["exp"] == int(NOW) + 120 and payload["iss"] == ISSUER


def test_exp_is_now_plus_120_in_header_and_payload(alb_token: str) -> None:
    header, payload, _ = _segments(alb_token)
    assert header["exp"] == payload["exp"] == int(NOW) + 120


def test_exp_changes_between_requests_a_second_apart(alb_signer: AlbJwtSigner) -> None:
    a = alb_signer.sign({"sub": "s"}, issuer=ISSUER, client_id=CLIENT_ID, now=NOW)
    b = alb_signer.sign({"sub": "s"}, issuer=ISSUER, client_id=CLIENT_ID, now=NOW + 1)
    assert _segments(b)[0]["exp"] == _segments(a)[0]["exp"] + 1


def test_lifetime_is_configurable(keyring: KeyRing, signer_arn: str) -> None:
    signer = AlbJwtSigner(keyring, signer_arn=signer_arn, lifetime=30)
    token = signer.sign({"sub": "s"}, issuer=ISSUER, client_id=CLIENT_ID, now=NOW)
    assert _segments(token)[1]["exp"] == int(NOW) + 30


def test_signature_is_88_chars_of_raw_r_s(alb_token: str, real_alb: dict[str, Any]) -> None:
    for token in (alb_token, real_alb["token"]):
        sig = token.split(".")[2]
        assert len(sig) == 88 and sig.endswith("==")
        assert len(b64url_decode(sig)) == 64


def test_non_ascii_claims_round_trip(alb_signer: AlbJwtSigner, keyring: KeyRing) -> None:
    token = alb_signer.sign({"sub": "s", "name": "Zoë Ørsted"}, issuer=ISSUER,
                            client_id=CLIENT_ID, now=NOW)
    assert verify_alb_jwt(token, keyring.current.public_pem()).claims["name"] == "Zoë Ørsted"


def test_claim_json_types_pass_through(alb_signer: AlbJwtSigner) -> None:
    claims = {"sub": "s", "email_verified": True, "groups": ["a", "b"], "n": 3, "x": None}
    token = alb_signer.sign(claims, issuer=ISSUER, client_id=CLIENT_ID, now=NOW)
    assert _segments(token)[1] == {**claims, "exp": int(NOW) + 120, "iss": ISSUER}


# --- verification --------------------------------------------------------------------

def test_our_token_verifies(alb_token: str, keyring: KeyRing, signer_arn: str) -> None:
    token = verify_alb_jwt(alb_token, keyring.current.public_pem(), expected_signer=signer_arn,
                           now=NOW)
    assert token.header["kid"] == keyring.current.kid


def test_pyjwt_2_13_decodes_the_padded_token(alb_token: str, keyring: KeyRing,
                                             userinfo: dict[str, Any]) -> None:
    # What AWS's user-guide sample does.
    assert jwt.__version__ == "2.13.0"
    claims = jwt.decode(alb_token, keyring.current.public_pem(), algorithms=["ES256"],
                        options={"verify_exp": False})
    assert claims == {**userinfo, "exp": int(NOW) + 120, "iss": ISSUER}


def test_unpadded_alb_token_fails(alb_token: str, keyring: KeyRing) -> None:
    with pytest.raises(InvalidAlbToken, match="signature"):
        verify_alb_jwt(_strip_padding(alb_token), keyring.current.public_pem())


def test_tampered_payload_fails(alb_signer: AlbJwtSigner, keyring: KeyRing) -> None:
    good = alb_signer.sign({"sub": "alice"}, issuer=ISSUER, client_id=CLIENT_ID, now=NOW)
    evil = alb_signer.sign({"sub": "mallory"}, issuer=ISSUER, client_id=CLIENT_ID, now=NOW)
    h, _, s = good.split(".")
    with pytest.raises(InvalidAlbToken):
        verify_alb_jwt(f"{h}.{evil.split('.')[1]}.{s}", keyring.current.public_pem())


def test_another_keys_token_fails(alb_token: str) -> None:
    with pytest.raises(InvalidAlbToken, match="signature"):
        verify_alb_jwt(alb_token, KeyRing.generate().current.public_pem())


def test_exp_is_checked_when_now_is_given(alb_token: str, keyring: KeyRing) -> None:
    verify_alb_jwt(alb_token, keyring.current.public_pem(), now=NOW + 119)
    with pytest.raises(InvalidAlbToken, match="expired"):
        verify_alb_jwt(alb_token, keyring.current.public_pem(), now=NOW + 120)


@pytest.mark.parametrize("alg", ["none", "HS256", "RS256", None])
def test_only_es256_is_accepted(alb_token: str, keyring: KeyRing, alg: str | None) -> None:
    _, p, s = alb_token.split(".")
    header = {"typ": "JWT", "alg": alg} if alg else {"typ": "JWT"}
    forged = f"{b64url_padded(json.dumps(header).encode())}.{p}.{s}"
    with pytest.raises(InvalidAlbToken, match="alg"):
        verify_alb_jwt(forged, keyring.current.public_pem())


@pytest.mark.parametrize("token", ["", "a.b", "a.b.c.d", "!!!.e30=.AAAA", "e30=.e30=.AAAA",
                                   "W10=.e30=.AAAA"])
def test_malformed_tokens_raise_invalid(token: str, keyring: KeyRing) -> None:
    with pytest.raises(InvalidAlbToken):
        verify_alb_jwt(token, keyring.current.public_pem())


def test_a_non_p256_key_is_refused(alb_token: str) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = ec.generate_private_key(ec.SECP384R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(InvalidAlbToken, match="P-256"):
        verify_alb_jwt(alb_token, pem)


# --- standard encoding -----------------------------------------------------------------

def test_standard_encoding_is_plain_jws(keyring: KeyRing, signer_arn: str,
                                        userinfo: dict[str, Any]) -> None:
    signer = AlbJwtSigner(keyring, signer_arn=signer_arn, encoding="standard")
    token = signer.sign(userinfo, issuer=ISSUER, client_id=CLIENT_ID, now=NOW)
    assert "=" not in token
    assert len(token.split(".")[2]) == 86
    assert jwt.get_unverified_header(token)["kid"] == keyring.current.kid
    claims = jwt.decode(token, keyring.current.public_pem(), algorithms=["ES256"],
                        options={"verify_exp": False})
    assert list(claims) == [*userinfo, "exp", "iss"]
    assert verify_alb_jwt(token, keyring.current.public_pem()).claims == claims


def test_unknown_encoding_is_refused(keyring: KeyRing) -> None:
    with pytest.raises(ValueError):
        AlbJwtSigner(keyring, signer_arn=default_signer_arn(),
                     encoding="jose")  # type: ignore[arg-type]


# --- helpers ---------------------------------------------------------------------------

@pytest.mark.parametrize("data", [b"", b"a", b"ab", b"abc", b"\xfb\xff\xfe"])
def test_b64url_round_trip_padded_and_not(data: bytes) -> None:
    enc = b64url_padded(data)
    assert len(enc) % 4 == 0 and "+" not in enc and "/" not in enc
    assert b64url_decode(enc) == b64url_decode(enc.rstrip("=")) == data


@pytest.mark.parametrize("bad", ["a", "ab!c", "ab cd", "a=bc"])
def test_b64url_decode_rejects_garbage(bad: str) -> None:
    with pytest.raises(ValueError):
        b64url_decode(bad)


def test_default_signer_arn_is_stable_and_realistic() -> None:
    arn = default_signer_arn()
    assert arn == default_signer_arn()
    assert re.fullmatch(r"arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/"
                        r"albauth/[0-9a-f]{16}", arn)
    assert default_signer_arn(lb_id="6284be65b827c598").endswith("/albauth/6284be65b827c598")
    assert default_signer_arn(name="other") != arn


@pytest.mark.parametrize("kwargs", [{"region": "mars"}, {"account": "123"},
                                    {"name": "-bad"}, {"lb_id": "XYZ"}])
def test_default_signer_arn_rejects_nonsense(kwargs: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        default_signer_arn(**kwargs)
