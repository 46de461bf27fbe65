"""Running albauth: the admin listener (health, metrics, ALB's public-key endpoint),
metrics named after ALB's, safe and rate-limited logging, and the operator's Redis
commands. Its modules are imported by name; the package itself re-exports nothing."""

__all__: list[str] = []
