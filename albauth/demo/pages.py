"""The demo's three pages: who you are (what the app received from the load balancer),
what to do when the headers are missing, and the signed-out landing page."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from albauth.signing import InvalidAlbToken, decode_unverified

from .html import json_html, layout, token_html
from .verify import Verification

Headers = Sequence[tuple[str, str]]

TAGLINE = "what an application behind ALB's authenticate-oidc or authenticate-cognito receives"

# Spec 5.1: what each identity header carries.
_OIDC_NOTES = {
    "x-amzn-oidc-accesstoken": "The access token from the provider's token endpoint, passed on as is.",
    "x-amzn-oidc-identity": "The subject (<code>sub</code>) from the provider's UserInfo response.",
    "x-amzn-oidc-data": "The user's claims, signed by the load balancer with ES256 (decoded below).",
}
# Spec 5.3: what the load balancer adds to every forwarded request.
_FORWARDED = ("x-forwarded-for", "x-forwarded-proto", "x-forwarded-port", "host", "x-amzn-trace-id")

_COUNTDOWN_JS = (
    "<script>(function(){var e=document.querySelector('[data-countdown]');if(!e)return;"
    "var n=+e.getAttribute('data-countdown');var t=setInterval(function(){n-=1;"
    "if(n<=0){clearInterval(t);e.textContent='0 (expired: reload for a fresh one)';}"
    "else{e.textContent=n;}},1000);})();</script>"
)


@dataclass(frozen=True)
class IdentityView:
    verification: Verification
    oidc_headers: Headers  # every x-amzn-oidc-* header, as received
    other_headers: Headers
    key_endpoint: str
    expected_signer: str | None
    logout_href: str


def identity_page(view: IdentityView) -> str:
    v = view.verification
    access = _access_claims(view.oidc_headers)
    body = (f'<main class="wrap">{_hero(v.claims, access, view.logout_href)}{_status(view)}'
            f"{_oidc_headers(view.oidc_headers)}{_decoded(v)}{_how_to_verify(view)}"
            f"{_other_headers(view.other_headers)}</main>{_COUNTDOWN_JS}")
    name = _display_name(v.claims)
    return layout(f"{name} - albauth demo app", body, TAGLINE)


def _display_name(claims: dict[str, object]) -> str:
    for key in ("name", "preferred_username", "username", "email", "sub"):
        value = claims.get(key)
        if isinstance(value, str) and value:
            return value
    return "someone"


def _initials(name: str) -> str:
    words = [w for w in name.replace("@", " ").replace(".", " ").split() if w[:1].isalnum()]
    return "".join(w[0] for w in words[:2]).upper() or "?"


def _access_claims(headers: Headers) -> dict[str, object]:
    token = next((v for k, v in headers if k.lower() == "x-amzn-oidc-accesstoken"), "")
    try:
        return dict(decode_unverified(token).claims) if token else {}
    except InvalidAlbToken:
        return {}  # an opaque access token


def _hero_facts(claims: dict[str, object], access: dict[str, object]) -> list[tuple[str, object]]:
    """Groups and attributes worth a glance. Cognito's UserInfo has no groups: they are in
    the access token's `cognito:groups`; its custom attributes are `custom:<name>`."""
    facts: list[tuple[str, object]] = []
    groups = claims.get("groups") or claims.get("cognito:groups") or access.get("cognito:groups")
    if groups:
        facts.append(("groups", groups))
    if (username := claims.get("username")) and claims.get("name"):
        facts.append(("username", username))
    for key, value in claims.items():
        if key == "department" or key.startswith("custom:"):
            facts.append((key, value))
    return facts


def _hero(claims: dict[str, object], access: dict[str, object], logout_href: str) -> str:
    name = _display_name(claims)
    email = claims.get("email")
    email_html = f'<p class="email">{escape(str(email))}</p>' if email else ""
    extras = []
    for label, value in _hero_facts(claims, access):
        if isinstance(value, list) and value:
            extras.append(f"{label}: {escape(', '.join(str(x) for x in value))}")
        elif isinstance(value, str) and value:
            extras.append(f"{label}: {escape(value)}")
    meta = f'<p class="meta">{" · ".join(extras)}</p>' if extras else ""
    return (f'<section class="card hero"><div class="avatar" aria-hidden="true">{escape(_initials(name))}</div>'
            f'<div class="who"><p class="eyebrow">Signed in as</p><h1 id="user-name">{escape(name)}</h1>'
            f'{email_html}{meta}</div>'
            f'<a class="button" id="logout" href="{escape(logout_href)}">Log out</a></section>')


def _status(view: IdentityView) -> str:
    v = view.verification
    facts = []
    kid = v.header.get("kid")
    if isinstance(kid, str):
        facts.append(f"Key id <code>{escape(kid)}</code>")
    if v.key_url:
        facts.append(f'Public key (PEM) from <a href="{escape(v.key_url)}">{escape(v.key_url)}</a>, '
                     "cached by kid as AWS's samples do")
    signer = v.header.get("signer")
    if isinstance(signer, str):
        same = view.expected_signer is not None and signer == view.expected_signer
        facts.append(f"Signer <code>{escape(signer)}</code>" + (" (this load balancer)" if same else ""))
    if v.seconds_left is not None:
        if v.seconds_left > 0:
            exp = datetime.datetime.fromtimestamp(v.claims.get("exp", 0), datetime.UTC)
            facts.append(f'Expires in <strong data-countdown="{v.seconds_left}" id="expires-in">'
                         f"{v.seconds_left}</strong> s (at {exp:%H:%M:%S} UTC). Like ALB, albauth signs "
                         "a short-lived token for the requests it forwards: check <code>exp</code> "
                         "on every request.")
        else:
            facts.append(f"Expired {-v.seconds_left} s ago.")
    items = "".join(f"<li>{f}</li>" for f in facts)
    if v.verified:
        return (f'<section class="status ok" id="signature" data-verified="true"><div class="mark">✓</div>'
                f"<div><h2>Signature verified</h2><p><code>x-amzn-oidc-data</code> is signed with ES256 "
                f"by the load balancer's key, so the claims on this page can be trusted.</p>"
                f"<ul>{items}</ul></div></section>")
    return (f'<section class="status bad" id="signature" data-verified="false"><div class="mark">✗</div>'
            f"<div><h2>Signature not verified</h2><p><strong>{escape(v.reason)}</strong>. "
            f"Do not trust the claims below: an app must reject this request.</p>"
            f"<ul>{items}</ul></div></section>")


def _oidc_headers(headers: Headers) -> str:
    rows = []
    for name, value in headers:
        note = _OIDC_NOTES.get(name.lower(), "")
        extra = _access_token_claims(value) if name.lower() == "x-amzn-oidc-accesstoken" else ""
        rows.append(f"<dt>{escape(name.lower())}</dt><dd>{token_html(value, extra)}"
                    f'{f"<span class=note>{note}</span>" if note else ""}</dd>')
    return ('<section class="card"><h2>Identity headers</h2>'
            '<p class="lede">Added by the load balancer after sign-in, on every request it forwards. '
            "Only <code>x-amzn-oidc-data</code> is signed: the other two can be trusted only "
            "if nothing but the load balancer can reach the app.</p>"
            f'<dl class="kv">{"".join(rows)}</dl></section>')


def _access_token_claims(token: str) -> str:
    # Some providers (this one included) issue JWT access tokens; many issue opaque ones.
    try:
        claims = decode_unverified(token).claims
    except InvalidAlbToken:
        return ""
    return ('<h3 style="margin-top:14px">Access token claims (a JWT here; not verified by the app, '
            f'the provider\'s API checks it)</h3><pre class="json">{json_html(claims)}</pre>')


def _decoded(v: Verification) -> str:
    if not v.header and not v.claims:
        return ""
    return ('<section class="card"><h2>x-amzn-oidc-data, decoded</h2>'
            '<p class="lede">Three base64url segments, <code>=</code> padding kept as ALB sends them. '
            "The payload is the UserInfo response in the provider's order, then <code>exp</code> and "
            "<code>iss</code> added by the load balancer.</p>"
            f'<div class="cols"><div><h3>Header</h3><pre class="json" id="jwt-header">{json_html(v.header)}</pre></div>'
            f'<div><h3>Payload (claims)</h3><pre class="json" id="jwt-claims">{json_html(v.claims)}</pre></div></div>'
            "</section>")


def _how_to_verify(view: IdentityView) -> str:
    signer = view.expected_signer or view.verification.header.get("signer") or "arn:aws:elasticloadbalancing:..."
    endpoint = view.key_endpoint.rstrip("/")
    code = (
        '<span class="c"># AWS\'s Python sample, pointed at albauth (PyJWT &lt;= 2.13 accepts ALB\'s padding)</span>\n'
        '<span class="k">import</span> jwt, requests\n\n'
        'token = request.headers[<span class="s">"x-amzn-oidc-data"</span>]\n'
        "header = jwt.get_unverified_header(token)\n"
        f'<span class="k">assert</span> header[<span class="s">"signer"</span>] == '
        f'<span class="s">"{escape(str(signer))}"</span>\n'
        f'pem = requests.get(<span class="s">f"{escape(endpoint)}/{{header[\'kid\']}}"</span>).text'
        '  <span class="c"># cache by kid</span>\n'
        'claims = jwt.decode(token, pem, algorithms=[<span class="s">"ES256"</span>])'
        '  <span class="c"># checks exp too</span>'
    )
    return ('<details class="card"><summary>Verify it in your own app</summary><div class="body">'
            '<p class="lede">On AWS the key URL is <code>https://public-keys.auth.elb.&lt;region&gt;'
            ".amazonaws.com/&lt;kid&gt;</code>; behind albauth it is the admin listener.</p>"
            f'<pre class="py">{code}</pre></div></details>')


def _other_headers(headers: Headers) -> str:
    forwarded = [(k, v) for k, v in headers if k.lower() in _FORWARDED]
    forwarded.sort(key=lambda kv: _FORWARDED.index(kv[0].lower()))
    rest = [(k, v) for k, v in headers if k.lower() not in _FORWARDED]
    rows = "".join(f"<dt>{escape(k)}</dt><dd>{_header_value(k, v)}</dd>" for k, v in forwarded + rest)
    return ('<details class="card" id="other-headers"><summary>Other request headers</summary>'
            '<div class="body"><p class="lede">What the load balancer forwards besides the identity: '
            "<code>X-Forwarded-*</code> and <code>X-Amzn-Trace-Id</code> first, then the browser's own "
            "headers (the session cookie shards come along unchanged).</p>"
            f'<dl class="kv">{rows}</dl></div></details>')


def _header_value(name: str, value: str) -> str:
    if name.lower() != "cookie":
        return f'<span class="token">{escape(value)}</span>'
    # Cookie values are sealed session data: names and sizes say more than the bytes.
    parts = []
    for pair in value.split(";"):
        cname, _, cvalue = pair.strip().partition("=")
        if cname:
            size = f'<span class="note-inline">({len(cvalue)} chars)</span>'
            parts.append(f'<span class="token">{escape(cname)} {size}</span>')
    return "<br>".join(parts)


def not_behind_albauth_page(front_url: str | None, headers: Headers) -> str:
    go = (f'<div class="actions"><a class="button" href="{escape(front_url)}">Open it through albauth</a></div>'
          if front_url else "")
    host = next((v for k, v in headers if k.lower() == "host"), "")
    body = (
        '<main class="wrap center"><section class="card" id="no-identity">'
        '<p class="eyebrow">No identity headers</p><h1>This request did not come through albauth</h1>'
        f"<p>The demo app was reached directly{f' at <code>{escape(host)}</code>' if host else ''}, "
        "so there is no <code>x-amzn-oidc-data</code> header to show. The load balancer adds the "
        "<code>x-amzn-oidc-*</code> headers only after a user has signed in through a rule with an "
        "<code>authenticate-oidc</code> action.</p>"
        "<p>In production, let only the load balancer reach your app, and verify "
        "<code>x-amzn-oidc-data</code>'s signature on every request, as this page does.</p>"
        f"{go}</section></main>"
    )
    return layout("Not behind albauth - albauth demo app", body, TAGLINE)


def signed_out_page(sign_in_href: str, cookie_name: str) -> str:
    body = (
        '<main class="wrap center"><section class="card" id="signed-out">'
        '<p class="eyebrow">Logout, the ALB way</p><h1>You are signed out</h1>'
        "<p>ALB has no logout endpoint, so the app did what AWS's documentation asks of it:</p>"
        '<ol class="steps">'
        f"<li>it answered <code>/logout</code> with <code>Set-Cookie</code> lines expiring every session "
        f"shard, <code>{escape(cookie_name)}-0</code> to <code>-3</code>;</li>"
        "<li>it sent the browser to the provider's end-session endpoint, which ended the provider's "
        "session and redirected here;</li>"
        "<li>this page sits behind a rule <em>without</em> an authenticate action, so it does not send "
        "you straight back to the sign-in form.</li></ol>"
        f'<div class="actions"><a class="button" id="sign-in-again" href="{escape(sign_in_href)}">'
        "Sign in again</a></div></section></main>"
    )
    return layout("Signed out - albauth demo app", body, TAGLINE)


__all__ = ["IdentityView", "identity_page", "not_behind_albauth_page", "signed_out_page"]
