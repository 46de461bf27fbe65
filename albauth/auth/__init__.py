"""ALB's authenticate-oidc and authenticate-cognito actions: the login flow, the relying
party's OIDC client, session refresh, logout and back-channel logout. Its modules are
imported by name (the composition root builds the action through `albauth.auth.setup`);
the package itself re-exports nothing."""

__all__: list[str] = []
