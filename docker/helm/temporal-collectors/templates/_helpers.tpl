{{/* Names, labels and the small decisions shared by the templates. */}}

{{- define "tc.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "tc.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "tc.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tc.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: worker
{{- end -}}

{{- define "tc.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "tc.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: temporal-collectors
{{- end -}}

{{- define "tc.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "tc.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "tc.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}
{{- end -}}

{{- define "tc.configMapName" -}}
{{- .Values.configMap.existingConfigMap | default (printf "%s-config" (include "tc.fullname" .)) -}}
{{- end -}}

{{/* The Secret mounted at /mnt/secrets: an existing one, the chart's own, or none. */}}
{{- define "tc.secretName" -}}
{{- if .Values.secrets.existingSecret -}}
{{- .Values.secrets.existingSecret -}}
{{- else if .Values.secrets.data -}}
{{- printf "%s-secrets" (include "tc.fullname" .) -}}
{{- end -}}
{{- end -}}

{{- define "tc.apiKeySecretName" -}}
{{- if .Values.temporal.apiKey.existingSecret -}}
{{- .Values.temporal.apiKey.existingSecret -}}
{{- else if .Values.temporal.apiKey.value -}}
{{- printf "%s-temporal-api-key" (include "tc.fullname" .) -}}
{{- end -}}
{{- end -}}

{{- define "tc.apiKeySecretKey" -}}
{{- if .Values.temporal.apiKey.existingSecret -}}
{{- .Values.temporal.apiKey.existingSecretKey -}}
{{- else -}}
api-key
{{- end -}}
{{- end -}}

{{/* requests/limits: explicit `resources` win; otherwise the named preset (values.yaml documents them). */}}
{{- define "tc.resources" -}}
{{- $presets := dict
  "small" (dict "requests" (dict "cpu" "100m" "memory" "256Mi") "limits" (dict "cpu" "500m" "memory" "512Mi"))
  "medium" (dict "requests" (dict "cpu" "250m" "memory" "512Mi") "limits" (dict "cpu" "1" "memory" "1Gi"))
  "large" (dict "requests" (dict "cpu" "500m" "memory" "1Gi") "limits" (dict "cpu" "2" "memory" "2Gi"))
-}}
{{- if .Values.resources -}}
{{- toYaml .Values.resources -}}
{{- else if hasKey $presets .Values.resourcesPreset -}}
{{- toYaml (get $presets .Values.resourcesPreset) -}}
{{- end -}}
{{- end -}}

{{/* `collector worker` arguments. */}}
{{- define "tc.workerArgs" -}}
{{- $args := list "worker" -}}
{{- if .Values.worker.executors -}}
{{- $args = concat $args (list "--executor") .Values.worker.executors -}}
{{- end -}}
{{- if eq .Values.worker.mode "workflows" -}}
{{- $args = append $args "--workflows-only" -}}
{{- else if eq .Values.worker.mode "activities" -}}
{{- $args = append $args "--activities-only" -}}
{{- end -}}
{{- $args = concat $args .Values.worker.extraArgs -}}
{{- toYaml $args -}}
{{- end -}}
