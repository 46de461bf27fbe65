from .conftest import header


async def test_login_through_albauth_reaches_upstream_with_identity_headers(alb, upstream):
    page = await alb.browser.login("https://app.test/x?a=1")
    assert page.status == 200, page.body
    record = upstream.last
    assert record["path"] == "/x?a=1"
    assert header(record, "x-amzn-oidc-identity")
    assert header(record, "x-amzn-oidc-data").count(".") == 2
