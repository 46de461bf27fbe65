"""albauth's configuration: ALB's listener, rule and action shapes plus albauth's own
settings, read from a YAML file (`albauth.config.load`) or the environment
(`albauth.config.env`) into the frozen model of `albauth.config.model`. Its modules are
imported by name; the package itself re-exports nothing."""

__all__: list[str] = []
