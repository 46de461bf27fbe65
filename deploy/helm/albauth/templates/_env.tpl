{{/* The container's environment: secrets always (a config file names them as ${VAR}); the
ALBAUTH_* settings of environment-only mode when no `config` is given. */}}
{{- define "albauth.env" -}}
- name: OIDC_CLIENT_SECRET
  valueFrom: {secretKeyRef: {name: {{ include "albauth.secretName" . }}, key: oidc-client-secret}}
- name: ALBAUTH_SESSION_SECRET
  valueFrom: {secretKeyRef: {name: {{ include "albauth.secretName" . }}, key: session-secret}}
{{- if .Values.redis.url }}
- {name: ALBAUTH_REDIS_URL, value: {{ .Values.redis.url | quote }}}
{{- end }}
{{- if .Values.signingKey.existingSecret }}
- {name: ALBAUTH_SIGNING_KEY_FILE, value: /run/secrets/albauth/signing.pem}
{{- end }}
{{- if not .Values.config }}
- {name: ALBAUTH_LISTEN, value: "0.0.0.0:8080"}
- {name: ALBAUTH_ADMIN_LISTEN, value: "0.0.0.0:9901"}
- {name: ALBAUTH_UPSTREAM, value: {{ include "albauth.upstream" . | quote }}}
- {name: ALBAUTH_TRUST_FORWARDED_PROTO, value: "true"}
- {name: ALBAUTH_LOG_LEVEL, value: {{ .Values.logLevel | quote }}}
- {name: ALBAUTH_OIDC_ISSUER, value: {{ required "oidc.issuer is required" .Values.oidc.issuer | quote }}}
- {name: ALBAUTH_OIDC_CLIENT_ID, value: {{ required "oidc.clientId is required" .Values.oidc.clientId | quote }}}
- name: ALBAUTH_OIDC_CLIENT_SECRET
  valueFrom: {secretKeyRef: {name: {{ include "albauth.secretName" . }}, key: oidc-client-secret}}
- {name: ALBAUTH_OIDC_SCOPE, value: {{ .Values.oidc.scope | quote }}}
{{- with .Values.oidc.authorizationEndpoint }}
- {name: ALBAUTH_OIDC_AUTHORIZATION_ENDPOINT, value: {{ . | quote }}}
{{- end }}
{{- with .Values.oidc.tokenEndpoint }}
- {name: ALBAUTH_OIDC_TOKEN_ENDPOINT, value: {{ . | quote }}}
{{- end }}
{{- with .Values.oidc.userInfoEndpoint }}
- {name: ALBAUTH_OIDC_USER_INFO_ENDPOINT, value: {{ . | quote }}}
{{- end }}
{{- if .Values.redis.url }}
- {name: ALBAUTH_SESSION_STORE, value: {{ .Values.redis.url | quote }}}
{{- end }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}
