{{/*
Names and labels of the per-namespace resources. These helpers take the root
context ($).
*/}}
{{- define "keybroker.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "keybroker.fullname" -}}
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

{{- define "keybroker.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "keybroker.selectorLabels" -}}
app.kubernetes.io/name: {{ include "keybroker.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "keybroker.labels" -}}
helm.sh/chart: {{ include "keybroker.chart" . }}
{{ include "keybroker.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: keybroker
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* SPIFFE ID of a service account in the release namespace. Args: list root sa */}}
{{- define "keybroker.spiffeId" -}}
{{- $root := index . 0 }}{{- $sa := index . 1 }}
{{- printf "spiffe://%s/ns/%s/sa/%s" $root.Values.trustDomain $root.Release.Namespace $sa }}
{{- end }}

{{/* The issuer of every certificate the chart requests (per-namespace CA, or an existing issuer). Arg: root. */}}
{{- define "keybroker.issuerRef" -}}
{{- $cm := .Values.certManager }}
{{- if $cm.createIssuer }}
{{- dict "name" (printf "%s-ca" (include "keybroker.fullname" .)) "kind" "Issuer" "group" "cert-manager.io" | toYaml }}
{{- else }}
{{- dict "name" (required "certManager.issuerRef.name is required when certManager.createIssuer is false" $cm.issuerRef.name) "kind" $cm.issuerRef.kind "group" $cm.issuerRef.group | toYaml }}
{{- end }}
{{- end }}

{{/* Image reference. Arg: an image values map (repository, tag, digest) and the default tag. */}}
{{- define "keybroker.imageRef" -}}
{{- $img := index . 0 }}{{- $defaultTag := index . 1 }}
{{- if $img.digest }}
{{- printf "%s@%s" $img.repository $img.digest }}
{{- else }}
{{- printf "%s:%s" $img.repository (default $defaultTag $img.tag) }}
{{- end }}
{{- end }}

{{/* Restricted Pod Security container securityContext. Arg: numeric UID. */}}
{{- define "keybroker.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ . }}
runAsGroup: {{ . }}
readOnlyRootFilesystem: true
allowPrivilegeEscalation: false
privileged: false
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/*
=============================================================================
Sidecar API for workload charts.

A workload chart lists this chart as a dependency (with
`keybroker.namespaceResources: false`) and includes, in its pod template:

  metadata:
    labels:
      {{- include "keybroker.podLabels" (dict "root" $ "values" .Values.keybroker) | nindent 8 }}
  spec:
    initContainers:
      {{- include "keybroker.sidecar" (dict "root" $ "values" .Values.keybroker "serviceAccount" "checkout") | nindent 6 }}
    containers:
      - name: app
        volumeMounts:
          {{- include "keybroker.clientVolumeMount" (dict "root" $ "values" .Values.keybroker) | nindent 10 }}
    volumes:
      {{- include "keybroker.sidecarVolumes" (dict "root" $ "values" .Values.keybroker "serviceAccount" "checkout") | nindent 6 }}

Arguments (a dict):
  root            the workload chart's root context ($), required
  values          this chart's values (.Values.keybroker in a parent chart), required
  name            name of the namespace install whose ConfigMaps and Secrets
                  the sidecar uses (default: values.fullnameOverride, else "keybroker")
  serviceAccount  the workload's service account; selects the client
                  certificate Secret "<name>-client-<serviceAccount>", and
                  (in keybroker.sidecar) makes the sidecar warm only the
                  names granted to its SPIFFE ID
  clientSecret    an explicit client certificate Secret (overrides serviceAccount)
  vaultRole       Vault kubernetes-auth role for this workload (overrides
                  values.config.vault.kubernetes.role)
=============================================================================
*/}}

{{/* The keybroker chart's appVersion, also when called from a parent chart. Arg: root. */}}
{{- define "keybroker.appVersion" -}}
{{- if eq .Chart.Name "keybroker" }}{{ .Chart.AppVersion }}
{{- else if and .Subcharts (hasKey .Subcharts "keybroker") }}{{ (index .Subcharts "keybroker").Chart.AppVersion }}
{{- else }}{{ fail "set keybroker image.tag: the keybroker chart is not a dependency of this chart" }}
{{- end }}
{{- end }}

{{- define "keybroker.installName" -}}
{{- if .name }}{{ .name }}{{ else }}{{ default "keybroker" .values.fullnameOverride }}{{ end }}
{{- end }}

{{- define "keybroker.serverSecretName" -}}
{{- default (printf "%s-server-tls" (include "keybroker.installName" .)) .values.tls.serverSecretName }}
{{- end }}

{{- define "keybroker.policyConfigMapName" -}}
{{- default (printf "%s-policy" (include "keybroker.installName" .)) .values.existingPolicyConfigMap }}
{{- end }}

{{- define "keybroker.clientSecretName" -}}
{{- if .clientSecret }}{{ .clientSecret }}{{ else if .serviceAccount }}{{ printf "%s-client-%s" (include "keybroker.installName" .) .serviceAccount }}{{ end }}
{{- end }}

{{/*
Vault credentials that are files in a Secret: mounted as a Spring Boot
config tree at /etc/keybroker/credentials, one file per property (the config
ConfigMap imports that directory), never as environment variables.
Returns a YAML list of {name, key, path}, or nothing.
*/}}
{{- define "keybroker.vaultCredentials" -}}
{{- $vault := .values.config.vault }}
{{- if eq .values.config.backend "vault" }}
{{- if and (eq $vault.authentication "TOKEN") $vault.tokenSecret.name }}
- {name: {{ $vault.tokenSecret.name }}, key: {{ $vault.tokenSecret.key }}, path: spring.cloud.vault.token}
{{- end }}
{{- if and (eq $vault.authentication "APPROLE") $vault.appRole.secretIdSecret.name }}
- {name: {{ $vault.appRole.secretIdSecret.name }}, key: {{ $vault.appRole.secretIdSecret.key }}, path: spring.cloud.vault.app-role.secret-id}
{{- end }}
{{- end }}
{{- end }}

{{- define "keybroker.vaultKubernetesAuth" -}}
{{- if and (eq .values.config.backend "vault") (eq .values.config.vault.authentication "KUBERNETES") }}true{{ end }}
{{- end }}

{{/* Labels a workload pod carries so that the NetworkPolicy selects it. */}}
{{- define "keybroker.podLabels" -}}
keybroker.io/sidecar: "true"
{{- end }}

{{/* Mount of the workload's client certificate (tls.crt, tls.key, ca.crt) in the workload container. */}}
{{- define "keybroker.clientVolumeMount" -}}
- name: keybroker-client-tls
  mountPath: /var/run/keybroker/client
  readOnly: true
{{- end }}

{{/*
keybroker.audit.max-total-size for the sidecar: sidecar.auditMaxTotalSize, or
three quarters of sidecar.auditSizeLimit (Mi or Gi), so the trail and its
pruning stay inside the emptyDir and the kubelet never evicts the pod for it.
Spring's MB is 2^20 bytes, the same unit as Kubernetes' Mi.
*/}}
{{- define "keybroker.auditMaxTotalSize" -}}
{{- if .auditMaxTotalSize -}}
{{ .auditMaxTotalSize }}
{{- else if hasSuffix "Mi" .auditSizeLimit -}}
{{ div (mul (trimSuffix "Mi" .auditSizeLimit | atoi) 3) 4 }}MB
{{- else if hasSuffix "Gi" .auditSizeLimit -}}
{{ div (mul (trimSuffix "Gi" .auditSizeLimit | atoi) 3072) 4 }}MB
{{- else -}}
{{ fail (printf "sidecar.auditSizeLimit %s is not in Mi or Gi: set sidecar.auditMaxTotalSize (e.g. 48MB) below it" .auditSizeLimit) }}
{{- end -}}
{{- end }}

{{/* The native sidecar: one item of the pod's initContainers list. */}}
{{- define "keybroker.sidecar" -}}
{{- $v := .values }}
{{- $root := .root }}
{{- $vaultRole := default $v.config.vault.kubernetes.role .vaultRole -}}
- name: keybroker
  image: {{ include "keybroker.imageRef" (list $v.image (include "keybroker.appVersion" $root)) | quote }}
  imagePullPolicy: {{ $v.image.pullPolicy }}
  # A native sidecar: starts before the workload's containers, runs for the
  # pod's whole life and stops after them.
  restartPolicy: Always
  args:
    - --spring.config.additional-location=optional:file:/etc/keybroker/config/
    - --keybroker.listen.address=127.0.0.1
    - --keybroker.listen.port={{ $v.listen.port }}
    - --keybroker.management.address={{ $v.management.address }}
    - --keybroker.management.port={{ $v.management.port }}
    - --keybroker.tls.certificate=/etc/keybroker/tls/tls.crt
    - --keybroker.tls.private-key=/etc/keybroker/tls/tls.key
    - --keybroker.tls.trust-bundle=/etc/keybroker/tls/ca.crt
    - --keybroker.policy.dir=/etc/keybroker/policy
    {{- if eq $v.sidecar.auditOutput "file" }}
    - --keybroker.audit.file=/var/log/keybroker/audit.jsonl
    - --keybroker.audit.max-total-size={{ include "keybroker.auditMaxTotalSize" $v.sidecar }}
    {{- end }}
    {{- if eq $v.config.backend "file" }}
    - --keybroker.file.path=/etc/keybroker/secrets/secrets.yaml
    {{- end }}
    {{- if include "keybroker.vaultKubernetesAuth" . }}
    - --spring.cloud.vault.kubernetes.service-account-token-file=/var/run/secrets/keybroker/vault/token
    {{- if $vaultRole }}
    - --spring.cloud.vault.kubernetes.role={{ $vaultRole }}
    {{- end }}
    {{- end }}
    {{- if $v.config.vault.caConfigMap }}
    - --spring.cloud.vault.ssl.trust-store=file:/etc/keybroker/vault-ca/ca.crt
    - --spring.cloud.vault.ssl.trust-store-type=PEM
    {{- end }}
    {{- range $v.sidecar.extraArgs }}
    - {{ . | quote }}
    {{- end }}
  {{- $env := list }}
  {{- if $v.sidecar.jvmOptions }}
  {{- $env = append $env (dict "name" "JDK_JAVA_OPTIONS" "value" $v.sidecar.jvmOptions) }}
  {{- end }}
  {{- /* keybroker.cache.warm-identities: warm only the names granted to this
         pod's own SPIFFE ID. Only with a known service account and its
         chart-issued certificate (with clientSecret the ID is not known here);
         the injector adds it to injected pods; sidecar.extraEnv may set it. */}}
  {{- $ownWarm := true }}
  {{- range $v.sidecar.extraEnv }}
  {{- if has .name (list "KEYBROKER_CACHE_WARMIDENTITIES" "KEYBROKER_CACHE_WARM_IDENTITIES") }}
  {{- $ownWarm = false }}
  {{- end }}
  {{- end }}
  {{- if and .serviceAccount (not .clientSecret) $ownWarm }}
  {{- $env = append $env (dict "name" "KEYBROKER_CACHE_WARMIDENTITIES" "value" (printf "spiffe://%s/ns/%s/sa/%s" $v.trustDomain $root.Release.Namespace .serviceAccount)) }}
  {{- end }}
  {{- $env = concat $env $v.sidecar.extraEnv }}
  {{- with $env }}
  env:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  ports:
    - name: kb-management
      containerPort: {{ $v.management.port }}
      protocol: TCP
  # Probes go to the management port: the kubelet connects from the node, so
  # that port listens on management.address (0.0.0.0 by default), while the
  # secret API stays on 127.0.0.1. The startup probe waits for readiness, so
  # the workload's containers start only once the broker can serve.
  startupProbe:
    httpGet:
      path: /actuator/health/readiness
      port: kb-management
    periodSeconds: {{ $v.sidecar.startupProbe.periodSeconds }}
    failureThreshold: {{ $v.sidecar.startupProbe.failureThreshold }}
    timeoutSeconds: 2
  livenessProbe:
    httpGet:
      path: /actuator/health/liveness
      port: kb-management
    periodSeconds: {{ $v.sidecar.livenessProbe.periodSeconds }}
    failureThreshold: {{ $v.sidecar.livenessProbe.failureThreshold }}
    timeoutSeconds: {{ $v.sidecar.livenessProbe.timeoutSeconds }}
  readinessProbe:
    httpGet:
      path: /actuator/health/readiness
      port: kb-management
    periodSeconds: {{ $v.sidecar.readinessProbe.periodSeconds }}
    failureThreshold: {{ $v.sidecar.readinessProbe.failureThreshold }}
    timeoutSeconds: {{ $v.sidecar.readinessProbe.timeoutSeconds }}
  resources:
    {{- toYaml $v.sidecar.resources | nindent 4 }}
  securityContext:
    {{- include "keybroker.containerSecurityContext" $v.sidecar.runAsUser | nindent 4 }}
  volumeMounts:
    - name: keybroker-config
      mountPath: /etc/keybroker/config
      readOnly: true
    - name: keybroker-policy
      mountPath: /etc/keybroker/policy
      readOnly: true
    - name: keybroker-server-tls
      mountPath: /etc/keybroker/tls
      readOnly: true
    - name: keybroker-audit
      mountPath: /var/log/keybroker
    - name: keybroker-tmp
      mountPath: /tmp
    {{- if eq $v.config.backend "file" }}
    - name: keybroker-file-secrets
      mountPath: /etc/keybroker/secrets
      readOnly: true
    {{- end }}
    {{- if include "keybroker.vaultKubernetesAuth" . }}
    - name: keybroker-vault-token
      mountPath: /var/run/secrets/keybroker/vault
      readOnly: true
    {{- end }}
    {{- if $v.config.vault.caConfigMap }}
    - name: keybroker-vault-ca
      mountPath: /etc/keybroker/vault-ca
      readOnly: true
    {{- end }}
    {{- if include "keybroker.vaultCredentials" . }}
    - name: keybroker-credentials
      mountPath: /etc/keybroker/credentials
      readOnly: true
    {{- end }}
{{- end }}

{{/* The sidecar's volumes (and the workload's client certificate): items of the pod's volumes list. */}}
{{- define "keybroker.sidecarVolumes" -}}
{{- $v := .values }}
{{- $name := include "keybroker.installName" . -}}
- name: keybroker-config
  configMap:
    name: {{ $name }}-config
- name: keybroker-policy
  configMap:
    name: {{ include "keybroker.policyConfigMapName" . }}
- name: keybroker-server-tls
  secret:
    secretName: {{ include "keybroker.serverSecretName" . }}
    items:
      - {key: tls.crt, path: tls.crt}
      - {key: tls.key, path: tls.key}
      - {key: ca.crt, path: ca.crt}
- name: keybroker-audit
  emptyDir:
    sizeLimit: {{ $v.sidecar.auditSizeLimit }}
- name: keybroker-tmp
  emptyDir:
    medium: Memory
    sizeLimit: {{ $v.sidecar.tmpSizeLimit }}
{{- if eq $v.config.backend "file" }}
- name: keybroker-file-secrets
  secret:
    secretName: {{ required "config.file.secretName is required when config.backend is file" $v.config.file.secretName }}
{{- end }}
{{- if include "keybroker.vaultKubernetesAuth" . }}
- name: keybroker-vault-token
  projected:
    sources:
      - serviceAccountToken:
          audience: {{ $v.config.vault.kubernetes.tokenAudience }}
          expirationSeconds: {{ $v.config.vault.kubernetes.tokenExpirationSeconds }}
          path: token
{{- end }}
{{- if $v.config.vault.caConfigMap }}
- name: keybroker-vault-ca
  configMap:
    name: {{ $v.config.vault.caConfigMap }}
{{- end }}
{{- with include "keybroker.vaultCredentials" . }}
- name: keybroker-credentials
  projected:
    sources:
      {{- range fromYamlArray . }}
      - secret:
          name: {{ .name }}
          items:
            - key: {{ .key }}
              path: {{ .path }}
      {{- end }}
{{- end }}
{{- with include "keybroker.clientSecretName" . }}
- name: keybroker-client-tls
  secret:
    secretName: {{ . }}
    items:
      - {key: tls.crt, path: tls.crt}
      - {key: tls.key, path: tls.key}
      - {key: ca.crt, path: ca.crt}
{{- end }}
{{- end }}

{{/* A Kubernetes quantity (64Mi, 1Gi, 500M, 1048576) in bytes, as an integer. Arg: the quantity. */}}
{{- define "keybroker.quantityBytes" -}}
{{- $q := toString . }}
{{- $number := regexFind "^[0-9.]+" $q }}
{{- $suffix := trimPrefix $number $q }}
{{- $factors := dict "" 1 "k" 1000 "M" 1000000 "G" 1000000000 "T" 1000000000000 "Ki" 1024 "Mi" 1048576 "Gi" 1073741824 "Ti" 1099511627776 }}
{{- if not (hasKey $factors $suffix) }}
{{- fail (printf "cannot convert the quantity %q to bytes: use a plain number or one of the suffixes k, M, G, T, Ki, Mi, Gi, Ti" $q) }}
{{- end }}
{{- mulf (float64 $number) (index $factors $suffix) | int64 }}
{{- end }}
