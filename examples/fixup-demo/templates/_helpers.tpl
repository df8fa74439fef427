{{/* Common labels for every object of the release. */}}
{{- define "fixup-demo.labels" -}}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: fixup-demo
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}
