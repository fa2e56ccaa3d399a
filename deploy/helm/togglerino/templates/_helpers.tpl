{{/* Names, labels and shared pieces of Togglerino's chart. */}}

{{- define "togglerino.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The prefix of every resource: release name and chart name, once. */}}
{{- define "togglerino.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "togglerino.controlPlane.fullname" -}}
{{- printf "%s-control-plane" (include "togglerino.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "togglerino.edge.fullname" -}}
{{- printf "%s-edge" (include "togglerino.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "togglerino.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "togglerino.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Selector labels of one component: pass (dict "root" $ "component" "edge"). */}}
{{- define "togglerino.selectorLabels" -}}
app.kubernetes.io/name: {{ include "togglerino.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "togglerino.componentLabels" -}}
{{ include "togglerino.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* The Secret holding database-url, edge-token and the optional tokens. */}}
{{- define "togglerino.secretName" -}}
{{- default (include "togglerino.fullname" .) .Values.existingSecret }}
{{- end }}

{{- define "togglerino.controlPlane.image" -}}
{{- printf "%s:%s" .Values.image.controlPlane.repository (default .Chart.AppVersion .Values.image.controlPlane.tag) }}
{{- end }}

{{- define "togglerino.edge.image" -}}
{{- printf "%s:%s" .Values.image.edge.repository (default .Chart.AppVersion .Values.image.edge.tag) }}
{{- end }}

{{/* An optional key of the Secret as an environment variable. */}}
{{- define "togglerino.optionalSecretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ include "togglerino.secretName" .root }}
      key: {{ .key }}
      optional: true
{{- end }}

{{/* The control plane's environment, shared by its pods and the migration Job. */}}
{{- define "togglerino.databaseEnv" -}}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "togglerino.secretName" . }}
      key: database-url
{{- end }}

{{/* Spread constraints with this component's selector filled in. */}}
{{- define "togglerino.topologySpread" -}}
{{- $selector := include "togglerino.selectorLabels" (dict "root" .root "component" .component) | fromYaml }}
{{- range .constraints }}
- {{ toYaml (merge (dict "labelSelector" (dict "matchLabels" $selector)) .) | nindent 2 | trim }}
{{- end }}
{{- end }}

{{/* An Ingress for one component: (dict "root" $ "component" "edge" "name" NAME "ingress" VALUES "port" PORT). */}}
{{- define "togglerino.ingress" -}}
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {{ .name }}
  labels:
    {{- include "togglerino.componentLabels" (dict "root" .root "component" .component) | nindent 4 }}
  {{- with .ingress.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  {{- with .ingress.className }}
  ingressClassName: {{ . }}
  {{- end }}
  {{- with .ingress.tls }}
  tls:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  rules:
    {{- $name := .name }}
    {{- $port := .port }}
    {{- range .ingress.hosts }}
    - host: {{ .host | quote }}
      http:
        paths:
          {{- range .paths }}
          - path: {{ .path }}
            pathType: {{ .pathType }}
            backend:
              service:
                name: {{ $name }}
                port:
                  number: {{ $port }}
          {{- end }}
    {{- end }}
{{- end }}

{{/* A ServiceMonitor for one component's /metrics. */}}
{{- define "togglerino.serviceMonitor" -}}
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: {{ .name }}
  labels:
    {{- include "togglerino.componentLabels" (dict "root" .root "component" .component) | nindent 4 }}
    {{- with .root.Values.metrics.serviceMonitor.labels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  selector:
    matchLabels:
      {{- include "togglerino.selectorLabels" (dict "root" .root "component" .component) | nindent 6 }}
  endpoints:
    - port: http
      path: /metrics
      interval: {{ .root.Values.metrics.serviceMonitor.interval }}
      {{- if or .root.Values.metricsToken .root.Values.metrics.serviceMonitor.useMetricsToken }}
      authorization:
        type: Bearer
        credentials:
          name: {{ include "togglerino.secretName" .root }}
          key: metrics-token
      {{- end }}
{{- end }}
