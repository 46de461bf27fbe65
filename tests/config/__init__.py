"""Configuration tests, one file per module of albauth/config (spec 1, 6.1, 7; checklist 1-8)."""
