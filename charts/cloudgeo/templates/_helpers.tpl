{{- define "cloudgeo.operatorName" -}}
{{- printf "%s-operator" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "cloudgeo.selectorLabels" -}}
app.kubernetes.io/name: cloudgeo-operator
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "cloudgeo.labels" -}}
{{ include "cloudgeo.selectorLabels" . }}
app.kubernetes.io/component: operator
app.kubernetes.io/part-of: cloudgeo
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "cloudgeo.image" -}}
{{- printf "%s:%s" .image.repository (default .chart.AppVersion .image.tag) -}}
{{- end -}}
