{{/*
Common helpers. Other templates (including templates/monitoring/**) rely on these names:
  todo.fullname        the release's base name; every Service is "<fullname>-<service>"
  todo.labels          standard app.kubernetes.io/* labels + helm.sh/chart (root context)
  todo.selectorLabels  selector labels; dict "ctx" (root) and "service" ("" = every service)
*/}}

{{/* The chart name, or nameOverride. */}}
{{- define "todo.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The release's base name (truncated so that "<fullname>-notification" and the Strimzi/CloudNativePG
names derived from it stay within Kubernetes' limits). A release named like the chart ("todo")
is just "todo".
*/}}
{{- define "todo.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* "name-version" for the helm.sh/chart label. */}}
{{- define "todo.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Standard labels for every resource of the release (root context). */}}
{{- define "todo.labels" -}}
helm.sh/chart: {{ include "todo.chart" . }}
app.kubernetes.io/name: {{ include "todo.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ (default .Chart.AppVersion .Values.image.tag) | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: todo
{{- end }}

{{/*
Selector labels. dict "ctx" (root context) and "service" (api, recurring, ...); with an empty
service, the labels every pod of the release shares.
*/}}
{{- define "todo.selectorLabels" -}}
app.kubernetes.io/name: {{ include "todo.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
{{- if .service }}
app.kubernetes.io/component: {{ .service }}
{{- end }}
{{- end }}

{{/* Labels of one service's resources: dict "ctx" and "service". */}}
{{- define "todo.serviceLabels" -}}
{{ include "todo.labels" .ctx }}
app.kubernetes.io/component: {{ .service }}
{{- end }}

{{/* The services the chart knows, in a stable order. */}}
{{- define "todo.serviceNames" -}}
api recurring notification audit mcp
{{- end }}

{{/* The Dapr app id of a service (argument: the service name). */}}
{{- define "todo.appId" -}}
todo-{{ . }}
{{- end }}

{{/* The image reference: repository:tag (tag defaults to the chart's appVersion), or @digest. */}}
{{- define "todo.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* The ServiceAccount the pods run as. */}}
{{- define "todo.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "todo.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The name of the Dapr Configuration the sidecars load (dapr.io/config). */}}
{{- define "todo.daprConfigName" -}}
{{- include "todo.fullname" . }}-dapr
{{- end }}

{{/* The CloudNativePG Cluster's name. */}}
{{- define "todo.cnpgClusterName" -}}
{{- default (printf "%s-pg" (include "todo.fullname" .)) .Values.postgresql.cloudnativepg.clusterName }}
{{- end }}

{{/*
The Secret and key holding DATABASE_URL: CloudNativePG's generated "<cluster>-app" Secret (key
"uri") when the in-cluster cluster is on, else the operator-provided Secret from values.
*/}}
{{- define "todo.databaseSecretName" -}}
{{- if .Values.postgresql.cloudnativepg.enabled }}
{{- printf "%s-app" (include "todo.cnpgClusterName" .) }}
{{- else }}
{{- .Values.postgresql.external.existingSecret }}
{{- end }}
{{- end }}

{{- define "todo.databaseSecretKey" -}}
{{- if .Values.postgresql.cloudnativepg.enabled }}uri{{- else }}{{ .Values.postgresql.external.secretKey }}{{- end }}
{{- end }}

{{/* The Strimzi Kafka cluster's name (its bootstrap Service is "<name>-kafka-bootstrap"). */}}
{{- define "todo.kafkaClusterName" -}}
{{- default (include "todo.fullname" .) .Values.kafka.strimzi.clusterName }}
{{- end }}

{{/* The Kafka bootstrap servers the pub/sub components connect to. */}}
{{- define "todo.kafkaBrokers" -}}
{{- if .Values.kafka.strimzi.enabled }}
{{- printf "%s-kafka-bootstrap:9092" (include "todo.kafkaClusterName" .) }}
{{- else }}
{{- required "kafka.external.brokers is required when kafka.strimzi.enabled=false" .Values.kafka.external.brokers }}
{{- end }}
{{- end }}

{{/*
The container securityContext shared by the app and the migrate init container: non-root
(65532, the distroless "nonroot" user), read-only root filesystem, no privilege escalation,
every capability dropped, the runtime's default seccomp profile.
*/}}
{{- define "todo.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
readOnlyRootFilesystem: true
allowPrivilegeEscalation: false
privileged: false
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* secrets.create (dev only): the given value, else the Secret's current one, else random.
   dict: ctx, name (Secret), key, value, length. */}}
{{- define "todo.devSecretValue" -}}
{{- /* dict ctx name key value length: the given value, the existing one, or a random one. */ -}}
{{- if .value }}{{ .value }}{{- else }}
{{- $existing := lookup "v1" "Secret" .ctx.Release.Namespace .name }}
{{- if and $existing (hasKey ($existing.data | default dict) .key) }}{{ index $existing.data .key | b64dec }}
{{- else }}{{ randAlphaNum (int .length) }}{{- end }}
{{- end }}
{{- end }}
