from .conftest import Alb, Upstream, header, required_header


async def test_login_through_albauth_reaches_upstream_with_identity_headers(alb: Alb, upstream: Upstream) -> None:
    page = await alb.browser.login("https://app.test/x?a=1")
    assert page.status == 200, page.body
    record = upstream.last
    assert record["path"] == "/x?a=1"
    assert header(record, "x-amzn-oidc-identity")
    assert required_header(record, "x-amzn-oidc-data").count(".") == 2
