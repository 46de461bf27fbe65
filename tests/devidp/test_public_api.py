"""Other parts of albauth code against these names; keep `__all__` honest."""

from __future__ import annotations

import inspect

import albauth.devidp as devidp
from albauth.devidp.serve import serve_idp


def test_all_lists_the_public_api() -> None:
    assert sorted(devidp.__all__) == sorted([
        "IDP_KEY", "CognitoPool", "DevIdP", "IdpClient", "IdpEvent", "IdpSettings", "IdpUser",
        "create_idp_app", "load_idp_settings"])
    for name in devidp.__all__:
        assert getattr(devidp, name) is not None


def test_create_idp_app_exposes_the_provider() -> None:
    settings = devidp.load_idp_settings(None, "http://127.0.0.1:9000")
    app = devidp.create_idp_app(settings)
    idp = app[devidp.IDP_KEY]
    assert isinstance(idp, devidp.DevIdP) and idp.app is app and idp.settings is settings


def test_serve_idp_signature() -> None:
    assert list(inspect.signature(serve_idp).parameters)[:3] == ["host", "port", "users_file"]
    assert inspect.iscoroutinefunction(serve_idp)
