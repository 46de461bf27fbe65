"""The peer: Apache httpd + mod_auth_openidc (Debian `apache2` + `libapache2-mod-auth-openidc`),
the module most teams without an ALB deploy, against the same built-in provider and the
same nginx upstream, with client-cookie sessions or sessions in Redis."""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import urlsplit

from common import CLIENT_ID, CLIENT_SECRET, Processes, free_port, wait_port
from http_login import http_request, post_login_form

MODULES = Path("/usr/lib/apache2/modules")
PEER_CALLBACK = "/redirect_uri"

APACHE_CONF = """
ServerRoot "{dir}"
PidFile "{dir}/{name}.pid"
ErrorLog "{dir}/{name}-error.log"
LogLevel warn
Listen 127.0.0.1:{port}
ServerName 127.0.0.1
LoadModule mpm_event_module {mods}/mod_mpm_event.so
LoadModule authz_core_module {mods}/mod_authz_core.so
LoadModule authz_user_module {mods}/mod_authz_user.so
LoadModule authn_core_module {mods}/mod_authn_core.so
LoadModule auth_openidc_module {mods}/mod_auth_openidc.so
LoadModule proxy_module {mods}/mod_proxy.so
LoadModule proxy_http_module {mods}/mod_proxy_http.so
User www-data
Group www-data
ServerLimit 2
ThreadsPerChild 64
MaxRequestWorkers 128
KeepAlive On
MaxKeepAliveRequests 0
OIDCProviderMetadataURL {idp}/.well-known/openid-configuration
OIDCClientID {client_id}
OIDCClientSecret {client_secret}
OIDCRedirectURI http://127.0.0.1:{port}{callback}
OIDCCryptoPassphrase bench-peer-passphrase-0123456789
OIDCScope "openid email profile"
OIDCSessionInactivityTimeout 86400
OIDCSessionMaxDuration 86400
OIDCCookieSameSite Off
OIDCPassClaimsAs headers
{session}
<Location />
  AuthType openid-connect
  Require valid-user
  ProxyPass http://127.0.0.1:{upstream_port}/ keepalive=On
</Location>
"""

SESSIONS = {
    "client-cookie": "OIDCSessionType client-cookie",
    "redis": "OIDCSessionType server-cache\nOIDCCacheType redis\nOIDCRedisCacheServer 127.0.0.1:{redis_port}",
}


def available() -> str | None:
    """Why the peer cannot run here, or None."""
    if not shutil.which("apache2"):
        return "no apache2 (apt-get install -y apache2 libapache2-mod-auth-openidc)"
    if not (MODULES / "mod_auth_openidc.so").exists():
        return "no mod_auth_openidc (apt-get install -y libapache2-mod-auth-openidc)"
    return None


def start_apache(procs: Processes, workdir: Path, name: str, *, idp: str, upstream: str, sessions: str,
                 redis_url: str = "", cpu: str | None = None) -> tuple[str, int]:
    port = free_port()
    redis_port = urlsplit(redis_url).port if redis_url else 0
    conf = workdir / f"{name}.conf"
    conf.write_text(APACHE_CONF.format(
        dir=workdir, name=name, port=port, mods=MODULES, idp=idp, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
        callback=PEER_CALLBACK, upstream_port=urlsplit(upstream).port,
        session=SESSIONS[sessions].format(redis_port=redis_port)))
    proc = procs.start(name, ["apache2", "-f", str(conf), "-DFOREGROUND"], cpu=cpu)
    wait_port(port, proc, name, procs)
    return f"http://127.0.0.1:{port}", proc.pid


def peer_login(base: str, username: str = "alice") -> str:
    """The code flow through mod_auth_openidc; the Cookie header of its session."""
    # Without a browser's Accept, the module answers 401 instead of redirecting.
    first = http_request("GET", base + "/", {"Accept": "text/html"})
    assert first.status == 302, f"expected a login redirect, got {first.status}: {first.body[:200]!r}"
    jar = first.set_cookies()
    authorize = first.header("Location")
    page = http_request("GET", authorize)
    assert page.status == 200, f"provider login page: {page.status}"
    posted = post_login_form(authorize, page, username)
    callback = posted.header("Location")
    assert callback.startswith(base + PEER_CALLBACK), callback
    done = http_request("GET", callback, {"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())})
    assert done.status == 302, f"callback: {done.status}: {done.body[:300]!r}"
    session = {k: v for k, v in done.set_cookies().items() if k.startswith("mod_auth_openidc_session") and v}
    assert session, f"no session cookies in {done.headers}"
    return "; ".join(f"{k}={v}" for k, v in sorted(session.items()))
