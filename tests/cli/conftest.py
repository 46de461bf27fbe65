"""The command-line tools run as real processes against real servers: albauth with the
built-in provider (tests.alb's fixtures) and small key endpoints."""

from __future__ import annotations

from tests.alb.conftest import alb, clock, idp, start_alb, tls_files, upstream

__all__ = ["alb", "clock", "idp", "start_alb", "tls_files", "upstream"]
