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

{{/* Simulators: names the Key Vault SDK accepts (host = "<x>." + challenge resource host), from cluster DNS. */}}
{{- define "securekey.simDomain" -}}{{ .Release.Namespace }}.svc.{{ .Values.simulators.clusterDomain }}{{- end -}}
{{- define "securekey.simVaultUrl" -}}https://sandbox.managedhsm.{{ include "securekey.simDomain" . }}:8443{{- end -}}
{{- define "securekey.simVaultResource" -}}https://managedhsm.{{ include "securekey.simDomain" . }}{{- end -}}
{{- define "securekey.simHost" -}}securekey-simulators.{{ include "securekey.simDomain" . }}{{- end -}}
{{- define "securekey.simCaSecret" -}}securekey-simulators-ca{{- end -}}
{{/* The simulated Entra's tenant and applications (sim/sandbox/identities.ts). */}}
{{- define "securekey.simTenant" -}}5a4db0c2-5ec4-4e6f-9d3c-5ec0e0000001{{- end -}}
{{- define "securekey.simOperatorClient" -}}5a4db0c2-0000-4000-8000-0000000000a1{{- end -}}
{{- define "securekey.simAgentClient" -}}5a4db0c2-0000-4000-8000-0000000000a2{{- end -}}

{{/*
The simulators' CA Secret data, as JSON: the existing Secret's (kept across upgrades), else made once per
render and remembered there, so the Secret and every checksum of it in this render agree.
*/}}
{{- define "securekey.simCaData" -}}
{{- if not (hasKey .Values "_simCaData") -}}
{{- $secret := lookup "v1" "Secret" .Release.Namespace (include "securekey.simCaSecret" .) -}}
{{- $data := dict -}}
{{- if and $secret $secret.data -}}
{{- $data = $secret.data -}}
{{- else -}}
{{- $key := genPrivateKey "ecdsa" -}}
{{- $ca := genCAWithKey "SecureKey simulators CA (not for production)" 3650 $key -}}
{{- $data = dict "ca.crt" ($ca.Cert | b64enc) "ca.key" ($ca.Key | b64enc) "admin-token" (randAlphaNum 32 | b64enc) -}}
{{- end -}}
{{- $_ := set .Values "_simCaData" $data -}}
{{- end -}}
{{- get .Values "_simCaData" | toJson -}}
{{- end -}}

{{/* A pod-template annotation that changes exactly when the simulators' CA does (pods that trust it restart). */}}
{{- define "securekey.simCaChecksum" -}}
{{- get (include "securekey.simCaData" . | fromJson) "ca.crt" | sha256sum -}}
{{- end -}}

{{/* Node mode (ADR 37, ADR 39): the node agent's names. */}}
{{- define "securekey.nodeAgentName" -}}securekey-node-agent{{- end -}}
{{- define "securekey.nodeAgentTlsSecret" -}}securekey-node-agent-tls{{- end -}}
{{- define "securekey.nodeAgentCaConfigMap" -}}securekey-node-agent-ca{{- end -}}
{{- define "securekey.nodeAgentUrl" -}}https://{{ include "securekey.nodeAgentName" . }}.{{ .Release.Namespace }}.svc:8443{{- end -}}
{{- define "securekey.nodeAgentSelector" -}}
app.kubernetes.io/name: securekey
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: node-agent
{{- end -}}
{{/* The simulated THIM (IMDS is plain HTTP on Azure too). */}}
{{- define "securekey.simThimUrl" -}}http://{{ include "securekey.simHost" . }}:8447{{- end -}}

{{/*
The node agent's TLS Secret data, as JSON: the existing Secret's (kept across upgrades), else a new CA and
a serving certificate for the Service's names, made once per render and remembered there so the Secret,
the CA ConfigMaps and the checksum agree. The CA's key is not kept: nothing signs with it again.
*/}}
{{- define "securekey.nodeAgentTlsData" -}}
{{- if not (hasKey .Values "_nodeAgentTlsData") -}}
{{- $secret := lookup "v1" "Secret" .Release.Namespace (include "securekey.nodeAgentTlsSecret" .) -}}
{{- $data := dict -}}
{{- if and $secret $secret.data -}}
{{- $data = $secret.data -}}
{{- else -}}
{{- $service := include "securekey.nodeAgentName" . -}}
{{- $names := list (printf "%s.%s.svc" $service .Release.Namespace) (printf "%s.%s.svc.%s" $service .Release.Namespace .Values.nodeAgent.clusterDomain) -}}
{{- $ca := genCA "SecureKey node agent CA" 3650 -}}
{{- $cert := genSignedCert (first $names) nil $names 3650 $ca -}}
{{- $data = dict "ca.crt" ($ca.Cert | b64enc) "tls.crt" ($cert.Cert | b64enc) "tls.key" ($cert.Key | b64enc) -}}
{{- end -}}
{{- $_ := set .Values "_nodeAgentTlsData" $data -}}
{{- end -}}
{{- get .Values "_nodeAgentTlsData" | toJson -}}
{{- end -}}
