{{/*
The connection metadata the two Kafka pub/sub components share (templates/dapr/pubsub.yaml and
broadcast.yaml): the Strimzi cluster's plain in-cluster listener, or external brokers (such as
Redpanda Cloud) with SASL/SCRAM over TLS, the user name and password from a Secret.
*/}}
{{- define "todo.kafkaConnectionMetadata" -}}
- name: brokers
  value: {{ include "todo.kafkaBrokers" . | quote }}
{{- if .Values.kafka.strimzi.enabled }}
# The Strimzi listener "plain" (port 9092, in-cluster only, no TLS, no authentication; the
# listener's network policy admits only this release's pods).
- name: authType
  value: "none"
- name: disableTls
  value: "true"
{{- else }}
{{- $ext := .Values.kafka.external }}
{{- if eq $ext.auth.type "password" }}
- name: authType
  value: "password"
- name: saslMechanism
  value: {{ $ext.auth.saslMechanism | quote }}
- name: saslUsername
  secretKeyRef:
    name: {{ $ext.auth.existingSecret | quote }}
    key: {{ $ext.auth.usernameKey | quote }}
- name: saslPassword
  secretKeyRef:
    name: {{ $ext.auth.existingSecret | quote }}
    key: {{ $ext.auth.passwordKey | quote }}
{{- else }}
- name: authType
  value: "none"
{{- end }}
- name: disableTls
  value: {{ (not $ext.tls) | toString | quote }}
{{- end }}
{{- end }}
