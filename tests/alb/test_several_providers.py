"""Several authenticate configs on one listener (issue 15 item 5): each rule's login comes
back through the one callback path and lands in its own config (the binding travels in the
sealed state), and the sessions stay apart: one never satisfies another."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from albauth.devidp import DevIdP

from .conftest import StartAlb, Upstream, header, oidc_action


def _rules(idp: DevIdP) -> list[dict[str, object]]:
    def rule(priority: int, prefix: str, cookie: str) -> dict[str, object]:
        return {"Priority": priority,
                "Conditions": [{"Field": "path-pattern", "PathPatternConfig": {"Values": [f"{prefix}/*"]}}],
                "Actions": [oidc_action(idp, SessionCookieName=cookie, Scope="openid email"),
                            {"Type": "forward", "Order": 2, "TargetGroupArn": "app"}]}
    return [rule(10, "/team-a", "TeamASession"), rule(20, "/team-b", "TeamBSession")]


async def test_each_rule_logs_in_to_its_own_session_and_they_stay_apart(
        start_alb: StartAlb, idp: DevIdP, upstream: Upstream) -> None:
    alb = await start_alb(rules=_rules(idp))
    await alb.browser.login("https://app.test/team-a/home")
    assert [n for n in alb.browser.cookies() if n.startswith("TeamA")] == ["TeamASession-0"]
    # The other rule's session is not satisfied by this one: it starts its own login.
    to_b = await alb.browser.get("https://app.test/team-b/home")
    assert to_b.status == 302 and to_b.location.startswith(f"{idp.settings.issuer}/authorize?")
    callback = await alb.browser.sign_in(to_b.location, "bob")
    done = await alb.browser.get(callback)
    assert done.status == 302 and done.location == "https://app.test/team-b/home"
    assert "TeamBSession-0" in alb.browser.cookies()
    alice = header(upstream.seen[0], "x-amzn-oidc-identity")
    a = await alb.browser.get("https://app.test/team-a/x")
    assert a.status == 200 and header(upstream.last, "x-amzn-oidc-identity") == alice
    b = await alb.browser.get("https://app.test/team-b/x")
    assert b.status == 200
    assert header(upstream.last, "x-amzn-oidc-identity") != alice


async def test_a_session_cookie_renamed_to_the_other_rules_name_is_refused(
        start_alb: StartAlb, idp: DevIdP, upstream: Upstream) -> None:
    alb = await start_alb(rules=_rules(idp))
    await alb.browser.login("https://app.test/team-a/home")
    jar = alb.browser.cookies()
    for name in [n for n in jar if n.startswith("TeamASession")]:
        jar[name.replace("TeamA", "TeamB")] = jar.pop(name)
    crossed = await alb.browser.get("https://app.test/team-b/home")
    assert crossed.status == 302  # "log in again", never the other rule's user
    assert "state" in parse_qs(urlsplit(crossed.location).query)
