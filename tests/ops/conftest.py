"""The ops tests run albauth with the authenticate-oidc fixtures of tests/alb."""
# ruff: noqa: F401  (fixtures are found by pytest under the names imported here)

from tests.alb.conftest import alb, clock, idp, start_alb, tls_files, token_recorder, upstream
