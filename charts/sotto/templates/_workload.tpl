{{/* One control-plane service: Deployment, Service, HPA and PDB.
     Parameters (a dict):
       root         the top context ($)
       component    broker | policy | recorder | reporting
       binary       sotto-broker, ...
       port         gRPC port; metricsPort: /metrics port
       values       the component's values
       mutual       require client certificates (mutual TLS)
       args         extra args, a YAML list as a string
       env          extra env, a YAML list as a string
       volumes      extra volumes; volumeMounts: their mounts (YAML strings)
       strategy     Deployment strategy (a dict), default RollingUpdate
       service      extra Service spec fields (a dict)
       terminationGracePeriodSeconds  (int)
*/}}
{{- define "sotto.workload" -}}
{{- $ctx := dict "root" .root "component" .component -}}
{{- $v := .values -}}
{{- $name := include "sotto.componentName" $ctx -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $name }}
  labels:
    {{- include "sotto.componentLabels" $ctx | nindent 4 }}
spec:
  {{- if not $v.autoscaling.enabled }}
  replicas: {{ $v.replicas }}
  {{- end }}
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      {{- include "sotto.selectorLabels" $ctx | nindent 6 }}
  strategy:
    {{- toYaml (default (dict "type" "RollingUpdate" "rollingUpdate" (dict "maxUnavailable" 0 "maxSurge" 1)) .strategy) | nindent 4 }}
  template:
    metadata:
      labels:
        {{- include "sotto.selectorLabels" $ctx | nindent 8 }}
    spec:
      {{- include "sotto.podCommon" .root | nindent 6 }}
      terminationGracePeriodSeconds: {{ default 30 .terminationGracePeriodSeconds }}
      containers:
        - name: {{ .component }}
          image: {{ include "sotto.image" (dict "root" .root "binary" .binary) }}
          imagePullPolicy: {{ .root.Values.image.pullPolicy }}
          args:
            {{- include "sotto.commonArgs" (dict "root" .root "component" .component "port" .port "metricsPort" .metricsPort "values" $v "mutual" .mutual) | nindent 12 }}
            {{- with .args }}
            {{- . | nindent 12 }}
            {{- end }}
            {{- with $v.extraArgs }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          {{- with .env }}
          env:
            {{- . | nindent 12 }}
          {{- end }}
          ports:
            - name: grpc
              containerPort: {{ .port }}
              protocol: TCP
            - name: metrics
              containerPort: {{ .metricsPort }}
              protocol: TCP
          {{- include "sotto.probes" (dict "root" .root "component" .component "port" .port) | nindent 10 }}
          resources:
            {{- toYaml $v.resources | nindent 12 }}
          securityContext:
            {{- toYaml .root.Values.securityContext | nindent 12 }}
          volumeMounts:
            {{- include "sotto.commonVolumeMounts" .root | nindent 12 }}
            {{- with .volumeMounts }}
            {{- . | nindent 12 }}
            {{- end }}
      volumes:
        {{- include "sotto.commonVolumes" $ctx | nindent 8 }}
        {{- with .volumes }}
        {{- . | nindent 8 }}
        {{- end }}
      affinity:
        {{- if $v.affinity }}
        {{- toYaml $v.affinity | nindent 8 }}
        {{- else }}
        {{- include "sotto.softAntiAffinity" $ctx | nindent 8 }}
        {{- end }}
      {{- with $v.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $name }}
  labels:
    {{- include "sotto.componentLabels" $ctx | nindent 4 }}
    sotto.io/metrics: "true"
  {{- with (default dict .service).annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  {{- with .service }}
  {{- toYaml (omit . "annotations" "port") | nindent 2 }}
  {{- end }}
  selector:
    {{- include "sotto.selectorLabels" $ctx | nindent 4 }}
  ports:
    - name: grpc
      port: {{ default .port (default dict .service).port }}
      targetPort: grpc
      protocol: TCP
      appProtocol: grpc
    - name: metrics
      port: {{ .metricsPort }}
      targetPort: metrics
      protocol: TCP
      appProtocol: http
{{- if $v.autoscaling.enabled }}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ $name }}
  labels:
    {{- include "sotto.componentLabels" $ctx | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ $name }}
  minReplicas: {{ $v.autoscaling.minReplicas }}
  maxReplicas: {{ $v.autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ $v.autoscaling.targetCPUUtilizationPercentage }}
  behavior:
    scaleDown:
      stabilizationWindowSeconds: 300
{{- end }}
{{- if $v.pdb.enabled }}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ $name }}
  labels:
    {{- include "sotto.componentLabels" $ctx | nindent 4 }}
spec:
  maxUnavailable: {{ $v.pdb.maxUnavailable }}
  selector:
    matchLabels:
      {{- include "sotto.selectorLabels" $ctx | nindent 6 }}
{{- end }}
{{- end -}}
