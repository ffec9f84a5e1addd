{{/* Names, labels and the pieces every Sotto workload shares. */}}

{{- define "sotto.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "sotto.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Object name of a component: (dict "root" $ "component" "broker"). */}}
{{- define "sotto.componentName" -}}
{{- printf "%s-%s" (include "sotto.fullname" .root) .component -}}
{{- end -}}

{{- define "sotto.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "sotto.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: sotto
{{- end -}}

{{/* Selector labels of a component: (dict "root" $ "component" "broker"). */}}
{{- define "sotto.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sotto.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "sotto.componentLabels" -}}
{{ include "sotto.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "sotto.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "sotto.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Image reference of a service binary: (dict "root" $ "binary" "sotto-broker"). */}}
{{- define "sotto.image" -}}
{{- $img := .root.Values.image -}}
{{- if $img.digest -}}
{{- printf "%s/%s@%s" $img.repository .binary $img.digest -}}
{{- else -}}
{{- printf "%s/%s:%s" $img.repository .binary (default .root.Chart.AppVersion $img.tag) -}}
{{- end -}}
{{- end -}}

{{/* Name of the TLS Secret a component mounts. */}}
{{- define "sotto.tlsSecret" -}}
{{- if .root.Values.tls.certManager.enabled -}}
{{- printf "%s-tls" (include "sotto.componentName" .) -}}
{{- else -}}
{{- required "tls.existingSecret is required when tls.enabled and not tls.certManager.enabled" .root.Values.tls.existingSecret -}}
{{- end -}}
{{- end -}}

{{/* In-cluster host:port of a component's gRPC Service. */}}
{{- define "sotto.address" -}}
{{- printf "%s:%d" (include "sotto.componentName" .) (int .port) -}}
{{- end -}}

{{/* The flags every service takes: logs, ports, drain, server TLS.
     (dict "root" $ "component" "broker" "port" 7100 "metricsPort" 9100
           "values" .Values.broker "mutual" true) */}}
{{- define "sotto.commonArgs" -}}
- --grpc_address=0.0.0.0:{{ .port }}
- --metrics_address=0.0.0.0:{{ .metricsPort }}
- --log_format={{ .root.Values.logFormat }}
- --log_level={{ .root.Values.logLevel }}
- --drain_grace={{ .values.drainGrace }}
- --drain_deadline={{ .values.drainDeadline }}
{{- if .root.Values.tls.enabled }}
- --tls_cert_file=/etc/sotto/tls/tls.crt
- --tls_key_file=/etc/sotto/tls/tls.key
{{- if .mutual }}
- --tls_client_ca_file=/etc/sotto/tls/ca.crt
{{- end }}
{{- end }}
{{- end -}}

{{/* Client-side TLS flags for services that call others. */}}
{{- define "sotto.clientTlsArgs" -}}
{{- if .Values.tls.enabled }}
- --tls_ca_file=/etc/sotto/tls/ca.crt
- --tls_client_cert_file=/etc/sotto/tls/tls.crt
- --tls_client_key_file=/etc/sotto/tls/tls.key
{{- end }}
{{- end -}}

{{/* Readiness and liveness: grpc.health.v1. Kubernetes' own gRPC probe
     speaks plaintext only, so with TLS the image's sotto-health-probe runs
     inside the container with the pod's client certificate.
     (dict "root" $ "component" "broker" "port" 7100) */}}
{{- define "sotto.probes" -}}
{{- $probe := dict -}}
{{- if .root.Values.tls.enabled -}}
{{- $probe = dict "exec" (dict "command" (list
      "/usr/local/bin/sotto-health-probe"
      (printf "--address=127.0.0.1:%d" (int .port))
      "--tls_ca_file=/etc/sotto/tls/ca.crt"
      "--tls_client_cert_file=/etc/sotto/tls/tls.crt"
      "--tls_client_key_file=/etc/sotto/tls/tls.key"
      (printf "--tls_server_name=%s" (include "sotto.componentName" .))
      "--timeout=3s")) -}}
{{- else -}}
{{- $probe = dict "grpc" (dict "port" (int .port)) -}}
{{- end -}}
startupProbe:
  {{- toYaml $probe | nindent 2 }}
  periodSeconds: 2
  timeoutSeconds: 4
  failureThreshold: 60
readinessProbe:
  {{- toYaml $probe | nindent 2 }}
  periodSeconds: 5
  timeoutSeconds: 4
  failureThreshold: 1
  successThreshold: 1
livenessProbe:
  {{- toYaml $probe | nindent 2 }}
  periodSeconds: 10
  timeoutSeconds: 4
  failureThreshold: 6
{{- end -}}

{{/* Volumes every pod has: TLS material and a writable /tmp. */}}
{{- define "sotto.commonVolumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
{{- if .root.Values.tls.enabled }}
- name: tls
  secret:
    secretName: {{ include "sotto.tlsSecret" . }}
    defaultMode: 288  # 0440: owner and fsGroup read
{{- end }}
{{- end -}}

{{- define "sotto.commonVolumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- if .Values.tls.enabled }}
- name: tls
  mountPath: /etc/sotto/tls
  readOnly: true
{{- end }}
{{- end -}}

{{/* Store flag and environment of a service with a database:
     (dict "root" $ "component" "broker"). */}}
{{- define "sotto.storeArg" -}}
{{- if .root.Values.database.existingSecret -}}
- --store=$(SOTTO_STORE_DSN)
{{- else -}}
- --store=sqlite:/var/lib/sotto/{{ .component }}/{{ .component }}.db
{{- end -}}
{{- end -}}

{{- define "sotto.storeEnv" -}}
{{- $db := .root.Values.database -}}
{{- if $db.existingSecret }}
- name: SOTTO_STORE_DSN
  valueFrom:
    secretKeyRef:
      name: {{ $db.existingSecret }}
      key: {{ index $db.keys .component }}
{{- if $db.passwordKey }}
- name: PGPASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $db.existingSecret }}
      key: {{ $db.passwordKey }}
{{- end }}
{{- end }}
{{- end -}}

{{/* The embedded store's writable directory when no database is given. */}}
{{- define "sotto.storeVolume" -}}
{{- if not .Values.database.existingSecret }}
- name: store
  emptyDir: {}
{{- end }}
{{- end -}}

{{- define "sotto.storeVolumeMount" -}}
{{- if not .root.Values.database.existingSecret }}
- name: store
  mountPath: /var/lib/sotto/{{ .component }}
{{- end }}
{{- end -}}

{{/* Replicas above one need a shared store. */}}
{{- define "sotto.checkScale" -}}
{{- if and (not .root.Values.database.existingSecret) (or (gt (int .values.replicas) 1) .values.autoscaling.enabled) -}}
{{- fail (printf "%s: more than one replica (or autoscaling) needs PostgreSQL: set database.existingSecret, or %s.replicas=1 and %s.autoscaling.enabled=false" .component .component .component) -}}
{{- end -}}
{{- end -}}

{{/* Pod-spec fields common to every workload. */}}
{{- define "sotto.podCommon" -}}
serviceAccountName: {{ include "sotto.serviceAccountName" . }}
automountServiceAccountToken: false
enableServiceLinks: false
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Spread replicas of a component over nodes when possible. */}}
{{- define "sotto.softAntiAffinity" -}}
podAntiAffinity:
  preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      podAffinityTerm:
        topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- include "sotto.selectorLabels" . | nindent 12 }}
{{- end -}}

{{/* A NetworkPolicy peer: the pods of one component. */}}
{{- define "sotto.peer" -}}
- podSelector:
    matchLabels:
      {{- include "sotto.selectorLabels" . | nindent 6 }}
{{- end -}}
