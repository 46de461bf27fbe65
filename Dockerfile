# albauth's container image: `albauth serve` (env-only configuration through ALBAUTH_*
# variables, or `serve --config FILE`), or `albauth dev` for a try-out.
#
#   docker build -t albauth .                       # official base: python:3.12-slim
#   podman build --format docker --build-arg BASE=<any Debian/Ubuntu image with python3 and python3-venv> -t albauth .
#
# Build-time pip may need a CA bundle (a TLS-inspecting proxy) or another index: give them
# as build secrets, never as build arguments, so they stay out of the image's layers and history:
#   --secret id=ca,src=/etc/ssl/certs/ca-certificates.crt --secret id=pipconf,src=pip.conf
ARG BASE=python:3.12-slim

FROM ${BASE} AS build
# The wheels are built here, and installed into a venv that the final stage copies whole:
# the final stage then needs neither pip nor a compiler. The venv's python is the base
# image's own (same BASE in both stages), so the copied venv runs unchanged.
WORKDIR /src
COPY pyproject.toml README.md ./
COPY albauth ./albauth
RUN --mount=type=secret,id=ca,required=false \
    --mount=type=secret,id=pipconf,required=false \
    set -eu; \
    if [ -s /run/secrets/ca ]; then export PIP_CERT=/run/secrets/ca; fi; \
    if [ -s /run/secrets/pipconf ]; then export PIP_CONFIG_FILE=/run/secrets/pipconf; fi; \
    python3 -m venv /opt/albauth; \
    /opt/albauth/bin/pip install --no-cache-dir --disable-pip-version-check --upgrade pip; \
    /opt/albauth/bin/pip wheel --no-cache-dir --disable-pip-version-check --wheel-dir /wheels '.[speed]'; \
    /opt/albauth/bin/pip install --no-cache-dir --disable-pip-version-check --no-index --find-links /wheels 'albauth[speed]'; \
    /opt/albauth/bin/python -c 'import albauth, uvloop'; \
    /opt/albauth/bin/pip uninstall --yes --disable-pip-version-check pip; \
    rm -f /opt/albauth/bin/pip*

FROM ${BASE}
# The final stage: the venv, no pip (the base's own is removed too), no compiler, no root.
# A fixed uid/gid, so that runAsNonRoot/fsGroup in Kubernetes and file permissions on
# mounted secrets can name it.
ARG UID=10001
ARG GID=10001
RUN set -eu; \
    rm -rf /usr/local/bin/pip* /usr/local/lib/python3*/site-packages/pip* \
           /usr/local/lib/python3*/ensurepip /usr/lib/python3*/ensurepip /usr/share/python-wheels; \
    groupadd --system --gid "${GID}" albauth; \
    useradd --uid "${UID}" --gid "${GID}" --home-dir /nonexistent --no-create-home \
            --shell /usr/sbin/nologin albauth
COPY --from=build /opt/albauth /opt/albauth
# Fail the build, not the first request, when the base lacks a library a compiled wheel needs
# (google-re2 needs libstdc++, which python:*-slim has and a bare Debian base may not).
RUN ["/opt/albauth/bin/python", "-c", "import re2, uvloop, httptools, cryptography.hazmat.bindings._rust"]
ENV PATH=/opt/albauth/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ALBAUTH_LISTEN=0.0.0.0:8080 \
    ALBAUTH_ADMIN_LISTEN=0.0.0.0:9901
# The signing key and the session secret come from mounted secrets, e.g.
#   ALBAUTH_SIGNING_KEY_FILE=/run/secrets/albauth/signing.pem
# and ALBAUTH_SESSION_SECRET from a Secret (Kubernetes: secretKeyRef). A read-only root
# filesystem works: albauth writes nothing but a missing signing key file.
USER ${UID}:${GID}
EXPOSE 8080 9901
# Slim images have no curl. The admin listener's port follows ALBAUTH_ADMIN_LISTEN (env-only
# mode); with --config, keep the admin listener on 9901 or override the healthcheck.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; port = os.environ.get('ALBAUTH_ADMIN_LISTEN', '127.0.0.1:9901').rpartition(':')[2]; urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4)"]
ENTRYPOINT ["albauth"]
CMD ["serve"]
