{{/* A float as YAML keeps it: 5 -> 5.0 (the app's config wants floats for the timeouts). */}}
{{- define "httpserver.float" -}}
{{- $s := . | float64 | toString -}}
{{- if contains "." $s }}{{ $s }}{{ else }}{{ $s }}.0{{ end -}}
{{- end -}}

{{- define "httpserver.selector" -}}
app.kubernetes.io/name: {{ .Values.name }}
app.kubernetes.io/instance: {{ .Values.name }}-{{ .Values.env }}
{{- end -}}

{{- define "httpserver.labels" -}}
{{ include "httpserver.selector" . }}
app.kubernetes.io/part-of: cloudnative
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/environment: {{ .Values.env }}
{{- end -}}

{{- define "httpserver.configYaml" -}}
env: {{ .Values.env }}
port: {{ .Values.config.port | int }}
max_n: {{ .Values.config.max_n | int }}
cache: {{ .Values.config.cache }}
cache_size: {{ .Values.config.cache_size | int }}
log_level: {{ .Values.config.log_level }}
version: {{ .Values.config.version | toString | quote }}
drain_seconds: {{ include "httpserver.float" .Values.config.drain_seconds }}
shutdown_timeout_seconds: {{ include "httpserver.float" .Values.config.shutdown_timeout_seconds }}
processes: {{ .Values.config.processes | int }}
{{- end -}}

{{/* Named after a hash of its data, like the config role: a config change is a new pod template. */}}
{{- define "httpserver.configMapName" -}}
{{ .Values.name }}-config-{{ include "httpserver.configYaml" . | sha256sum | trunc 10 }}
{{- end -}}
