"""The provider's HTML: the login form, the error page and the signed-out page.

Self-contained (inline CSS, no external assets) so it works offline and inside test
sandboxes. The login page lists the demo users and their passwords on purpose: this is
a development provider, and the fastest way through the form is to read them off it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from html import escape

from .settings import CognitoPool, IdpUser

# Form fields the login page owns; everything else in the authorize request is carried
# through as hidden fields so the POST is the same authorization request again.
LOGIN_FIELDS = frozenset({"username", "password", "action"})

_CSS = """
*{box-sizing:border-box}
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;
 font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2937;
 background:linear-gradient(135deg,#eef2ff 0%,#f8fafc 50%,#ecfeff 100%)}
main{width:100%;max-width:420px;margin:24px;background:#fff;border-radius:14px;
 box-shadow:0 10px 30px rgba(15,23,42,.08),0 1px 3px rgba(15,23,42,.06);padding:32px}
h1{font-size:22px;margin:0 0 4px}
.sub{color:#6b7280;margin:0 0 20px;font-size:14px}
.badge{display:inline-block;font-size:11px;font-weight:600;letter-spacing:.04em;
 text-transform:uppercase;color:#4338ca;background:#eef2ff;border-radius:999px;
 padding:2px 10px;margin-bottom:12px}
label{display:block;font-weight:600;font-size:13px;margin:14px 0 6px}
input[type=text],input[type=password]{width:100%;padding:10px 12px;border:1px solid #d1d5db;
 border-radius:8px;font:inherit}
input:focus{outline:none;border-color:#6366f1;box-shadow:0 0 0 3px rgba(99,102,241,.2)}
/* "Sign in" comes first in the markup so Enter submits it (the first submit button is
   the form's default); row-reverse still shows Cancel on the left. */
.buttons{display:flex;flex-direction:row-reverse;gap:10px;margin-top:22px}
button{flex:1;padding:10px 14px;border-radius:8px;font:inherit;font-weight:600;cursor:pointer;
 border:1px solid transparent}
button.primary{background:#4f46e5;color:#fff}
button.primary:hover{background:#4338ca}
button.secondary{background:#fff;color:#374151;border-color:#d1d5db}
button.secondary:hover{background:#f9fafb}
.error{background:#fef2f2;color:#991b1b;border:1px solid #fecaca;border-radius:8px;
 padding:10px 12px;margin-bottom:8px;font-size:14px}
.demo{margin-top:26px;border-top:1px solid #e5e7eb;padding-top:16px}
.demo h2{font-size:13px;text-transform:uppercase;letter-spacing:.05em;color:#6b7280;margin:0 0 8px}
table{width:100%;border-collapse:collapse;font-size:13px}
td,th{text-align:left;padding:6px 4px;border-bottom:1px solid #f3f4f6}
th{color:#6b7280;font-weight:600}
code{background:#f3f4f6;border-radius:4px;padding:1px 5px}
.groups{color:#6b7280}
p.note{color:#6b7280;font-size:13px}
a{color:#4f46e5}
"""


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
        f"<title>{escape(title)}</title><style>{_CSS}</style></head>"
        f"<body><main>{body}</main></body></html>\n"
    )


def login_page(*, action: str, params: Mapping[str, str], client_id: str,
               users: Iterable[IdpUser], error: str | None = None, username: str = "",
               stand_in: CognitoPool | None = None) -> str:
    hidden = "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">'
        for k, v in params.items() if k not in LOGIN_FIELDS
    )
    error_html = f'<div class="error" role="alert">{escape(error)}</div>' if error else ""
    rows = "".join(
        f"<tr><td><code>{escape(u.username)}</code></td><td><code>{escape(u.password)}</code></td>"
        f"<td class=\"groups\">{escape(', '.join(u.groups)) or '&mdash;'}</td></tr>"
        for u in users
    )
    badge, note = "albauth dev IdP", ""
    if stand_in is not None:
        badge = "Amazon Cognito stand-in"
        note = (f'<p class="note">albauth dev, standing in for the hosted sign-in page of user pool '
                f"<code>{escape(stand_in.pool_id)}</code> ({escape(stand_in.region)}). "
                "Nothing is sent to AWS.</p>")
    body = f"""
<span class="badge">{badge}</span>
<h1>Sign in</h1>
<p class="sub">to continue to <strong>{escape(client_id)}</strong></p>
{note}{error_html}
<form method="post" action="{escape(action)}">
{hidden}
<label for="username">Username</label>
<input type="text" id="username" name="username" value="{escape(username)}" autocomplete="username" autofocus>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password">
<div class="buttons">
<button type="submit" class="primary" name="action" value="login">Sign in</button>
<button type="submit" class="secondary" name="action" value="cancel" formnovalidate>Cancel</button>
</div>
</form>
<section class="demo">
<h2>Demo users</h2>
<table><tr><th>Username</th><th>Password</th><th>Groups</th></tr>{rows}</table>
</section>"""
    return _page(f"Sign in - {badge}", body)


def error_page(title: str, message: str) -> str:
    body = (
        f'<span class="badge">albauth dev IdP</span><h1>{escape(title)}</h1>'
        f'<div class="error" role="alert">{escape(message)}</div>'
        "<p class=\"note\">The request was not sent back to the application, because its "
        "client or redirect URI could not be trusted (RFC 6749, section 4.1.2.1).</p>"
    )
    return _page(f"{title} - albauth dev IdP", body)


def signed_out_page(note: str | None = None) -> str:
    extra = f'<p class="note">{escape(note)}</p>' if note else ""
    body = (
        '<span class="badge">albauth dev IdP</span><h1>You are signed out</h1>'
        "<p class=\"sub\">Your session at the development identity provider has ended.</p>"
        f"{extra}"
    )
    return _page("Signed out - albauth dev IdP", body)
