"""Fixtures of the ALB-API tests: a server certificate for HTTPS listeners."""

from __future__ import annotations

import pytest

from tests.support import self_signed_certificate


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """(certificate, key) PEM files: a self-signed ECDSA certificate for app.test."""
    return self_signed_certificate(tmp_path_factory.mktemp("albapi-tls"), "app.test")
