{{- define "albauth.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "albauth.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "albauth.labels" -}}
{{ include "albauth.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "albauth.secretName" -}}
{{- .Values.secrets.existingSecret | default (printf "%s-secrets" (include "albauth.fullname" .)) -}}
{{- end -}}

{{/* The app albauth forwards to, in environment-only mode. */}}
{{- define "albauth.upstream" -}}
{{- if eq .Values.mode "sidecar" -}}
{{- printf "http://127.0.0.1:%v" .Values.app.port -}}
{{- else if .Values.forwardAuth.enabled -}}
{{- printf "http://%s:%v" .Values.forwardAuth.app.service .Values.forwardAuth.app.port -}}
{{- else -}}
{{- required "upstream is required in mode: standalone (the URL of your app's Service)" .Values.upstream -}}
{{- end -}}
{{- end -}}
