"""The configuration document `albauth dev` runs: the same shapes a YAML file has, through
the same loader, so what runs in dev mode is what a file would run.

With `--cognito` the authenticate action is `authenticate-cognito` written as a
CloudFormation template writes it (UserPoolArn, UserPoolClientId, UserPoolDomain); only
its `albauth:` block points the derived Cognito URLs at the local stand-in, exactly as a
user would to test their own template (config/cognito.yaml).
"""

from __future__ import annotations

from typing import Any

from albauth.config.errors import ConfigError, ConfigIssue
from albauth.devidp import IdpClient, IdpSettings
from albauth.devidp.claims import user_claims
from albauth.devidp.discovery import provider_metadata
from albauth.devidp.uri_patterns import uri_matches_any
from albauth.devmode_options import AS_USER_HEADER, HOST, DevOptions
from albauth.session.sealing import generate_secret

SOURCE = "<albauth dev>"
DEV_CLIENT_ID = "albauth-dev"
SCOPE = "openid email profile"
SIGNED_OUT_PATH = "/signed-out"
TARGET_GROUP = "app"
# The account in the stand-in pool's ARN: AWS's documentation account, never a real one.
DEV_ACCOUNT = "123456789012"
DEV_POOL_DOMAIN = "albauth-dev"  # the UserPoolDomain prefix the dev rule names

# Shown at /signed-out when --upstream replaces the demo app (ALB caps fixed responses at 1 KB).
_SIGNED_OUT_HTML = (
    "<!doctype html><html lang=en><meta charset=utf-8><meta name=viewport content='width=device-width'>"
    "<title>Signed out</title><body style='font:16px system-ui,sans-serif;max-width:36em;margin:12vh auto;"
    "padding:0 20px;color:#0f172a'><h1>You are signed out</h1><p>This page is served by an albauth rule "
    "without an authenticate action, so it does not send you back to the sign-in form.</p>"
    "<p><a href='/' style='color:#4f46e5'>Sign in again</a></p></body></html>"
)


def dev_client(idp: IdpSettings, opts: DevOptions) -> IdpClient:
    """The provider's `albauth-dev` client (or a --users file's first client), which
    must accept albauth's callback URL."""
    client = idp.client(DEV_CLIENT_ID) or idp.clients[0]
    callback = f"http://{HOST}:{opts.port}/oauth2/idpresponse"
    if not uri_matches_any(callback, client.redirect_uris):
        raise ConfigError([ConfigIssue(opts.users or SOURCE, "clients",
                                       f"client {client.client_id!r} does not allow the redirect URI "
                                       f"{callback}; add http://127.0.0.1:*/oauth2/idpresponse to its "
                                       "redirect_uris")])
    return client


def _session_fields(opts: DevOptions) -> dict[str, Any]:
    fields: dict[str, Any] = {"Scope": SCOPE, "SessionTimeout": opts.session_timeout,
                              "OnUnauthenticatedRequest": "authenticate"}
    if opts.session_cookie_name:
        fields["SessionCookieName"] = opts.session_cookie_name
    return fields


def oidc_action(opts: DevOptions, idp: IdpSettings, client: IdpClient) -> dict[str, Any]:
    meta = provider_metadata(idp)
    return {"Type": "authenticate-oidc", "Order": 1, "AuthenticateOidcConfig": {
        "Issuer": meta["issuer"],
        "AuthorizationEndpoint": meta["authorization_endpoint"],
        "TokenEndpoint": meta["token_endpoint"],
        "UserInfoEndpoint": meta["userinfo_endpoint"],
        "ClientId": client.client_id,
        "ClientSecret": client.client_secret,
        **_session_fields(opts)}}


def static_identity(name: str, idp: IdpSettings) -> dict[str, Any]:
    """`albauth dev --as NAME`: the users file's users as static identities, NAME first, with
    the claims the provider's UserInfo would give them (scope `openid email profile`)."""
    users = {u.username: u for u in idp.users}
    if name not in users:
        raise ConfigError([ConfigIssue("command line", "--as", f"no user {name!r} in the users file "
                                                   f"(there are: {', '.join(users)})")])
    ordered = [users[name], *(u for u in idp.users if u.username != name)]
    return {"static_identity": {u.username: user_claims(u, SCOPE) for u in ordered},
            "static_identity_header": AS_USER_HEADER}


def user_pool_arn(idp: IdpSettings) -> str:
    assert idp.cognito is not None
    pool = idp.cognito
    return f"arn:aws:cognito-idp:{pool.region}:{DEV_ACCOUNT}:userpool/{pool.pool_id}"


def cognito_action(opts: DevOptions, idp: IdpSettings, client: IdpClient) -> dict[str, Any]:
    """authenticate-cognito as in a template; the `albauth:` block carries what ALB reads
    from Cognito itself (the client secret) and the stand-in's URLs."""
    domain = idp.hosted_domain
    return {"Type": "authenticate-cognito", "Order": 1,
            "AuthenticateCognitoConfig": {
                "UserPoolArn": user_pool_arn(idp),
                "UserPoolClientId": client.client_id,
                "UserPoolDomain": DEV_POOL_DOMAIN,
                **_session_fields(opts)},
            "albauth": {
                "client_secret": client.client_secret,
                "issuer": idp.issuer,
                "authorization_endpoint": f"{domain}/oauth2/authorize",
                "token_endpoint": f"{domain}/oauth2/token",
                "userinfo_endpoint": f"{domain}/oauth2/userInfo",
                "logout_endpoint": f"{domain}/logout"}}


def _signing(opts: DevOptions) -> dict[str, Any]:
    signing: dict[str, Any] = {}
    key_file = opts.signing_key_file or opts.key_file("signing-key.pem")
    if key_file:
        signing["key_file"] = key_file
    if opts.signer_arn:
        signing["signer_arn"] = opts.signer_arn
    if opts.jwt_encoding:
        signing["encoding"] = opts.jwt_encoding
    return signing


def dev_document(opts: DevOptions, idp: IdpSettings, client: IdpClient) -> dict[str, Any]:
    """albauth's configuration for dev mode, as a YAML file would spell it. The listener
    says 127.0.0.1 even with --listen 0.0.0.0: `local_development` is for loopback, and
    DevStack moves the bind address itself (dev mode only)."""
    authenticate = (cognito_action if idp.cognito is not None else oidc_action)(opts, idp, client)
    if opts.as_user is not None:
        authenticate["albauth"] = {**authenticate.get("albauth", {}), **static_identity(opts.as_user, idp)}
    forward = {"Type": "forward", "Order": 2, "TargetGroupArn": TARGET_GROUP}
    # The post-logout landing page must not be behind an authenticate rule (spec 3.2), or
    # the browser would be sent straight back to the sign-in form.
    if opts.upstream is None:
        signed_out_action: dict[str, Any] = {"Type": "forward", "Order": 1, "TargetGroupArn": TARGET_GROUP}
    else:
        signed_out_action = {"Type": "fixed-response", "Order": 1, "FixedResponseConfig": {
            "StatusCode": "200", "ContentType": "text/html", "MessageBody": _SIGNED_OUT_HTML}}
    return {
        "albauth": {
            "admin_listen": f"{opts.listen}:{opts.admin_port}",
            "target_groups": {TARGET_GROUP: {"targets": [opts.upstream or f"http://{HOST}:{opts.app_port}"]}},
            # Sessions live as long as the process: nothing to set up or clean.
            "session": {"store": "memory", "secrets": [generate_secret()]},
            "signing": _signing(opts),
        },
        "listeners": [{
            "Protocol": "HTTP",
            "Port": opts.port,
            "albauth": {"address": HOST, "local_development": True},
            "Rules": [{
                "Priority": 1,
                "Conditions": [{"Field": "path-pattern", "PathPatternConfig": {"Values": [SIGNED_OUT_PATH]}}],
                "Actions": [signed_out_action],
            }],
            "DefaultActions": [authenticate, forward],
        }],
    }
