{{- define "securekey.name" -}}securekey{{- end -}}

{{- define "securekey.labels" -}}
app.kubernetes.io/name: securekey
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "securekey.selector" -}}
app.kubernetes.io/name: securekey
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end -}}

{{- define "securekey.operatorImage" -}}
{{ .Values.operator.image.repository }}:{{ .Values.operator.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "securekey.agentImage" -}}
{{ .Values.agent.image.repository }}:{{ .Values.agent.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "securekey.simulatorsImage" -}}
{{ .Values.simulators.image.repository }}:{{ .Values.simulators.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* The exact sentence that must be set to install the simulators. */}}
{{- define "securekey.simulatorsAck" -}}I understand these are simulators and protect nothing{{- end -}}

{{- define "securekey.checkSimulators" -}}
{{- if .Values.simulators.enabled -}}
{{- if ne .Values.simulators.acknowledge (include "securekey.simulatorsAck" .) -}}
{{- fail (printf "simulators.enabled installs SIMULATED Azure and SEV-SNP services that protect nothing; set simulators.acknowledge to exactly %q to proceed" (include "securekey.simulatorsAck" .)) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "securekey.webhookService" -}}securekey-webhook{{- end -}}
{{- define "securekey.webhookConfiguration" -}}{{ .Release.Name }}-securekey{{- end -}}
{{- define "securekey.leaseName" -}}securekey-operator{{- end -}}
{{- define "securekey.tlsSecret" -}}securekey-webhook-tls{{- end -}}
