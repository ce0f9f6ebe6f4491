#!/usr/bin/env bash
# Writes a throw-away broker fixture into DIR, for the AOT training run of
# build.sh and for test-image.sh:
#   DIR/tls/{ca.crt,tls.crt,tls.key}      CA and server certificate (127.0.0.1, localhost)
#   DIR/client/{ca.crt,tls.crt,tls.key}   client certificate, URI SAN
#                                         spiffe://cluster.local/ns/payments/sa/checkout
#   DIR/policy/payments.yaml              policy granting that identity stripe/secret-key
#   DIR/secrets/secrets.yaml              file-backend secrets for environment "prod"
# Every file is world-readable so that a container user (UID 65532) can read
# the bind mounts. Nothing here is a real secret.
set -euo pipefail
DIR="${1:?usage: make-fixture.sh DIR}"
mkdir -p "$DIR"/{tls,client,policy,secrets}
cd "$DIR"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj "/CN=Keybroker test CA" -keyout ca.key -out tls/ca.crt \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
cp tls/ca.crt client/ca.crt
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
  -keyout tls/tls.key -out server.csr 2>/dev/null
openssl x509 -req -in server.csr -CA tls/ca.crt -CAkey ca.key -CAserial ca.srl -CAcreateserial -days 2 -out tls/tls.crt \
  -extfile <(printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n') 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/O=keybroker-test" \
  -keyout client/tls.key -out client.csr 2>/dev/null
openssl x509 -req -in client.csr -CA tls/ca.crt -CAkey ca.key -CAserial ca.srl -CAcreateserial -days 2 -out client/tls.crt \
  -extfile <(printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\nsubjectAltName=URI:spiffe://cluster.local/ns/payments/sa/checkout\n') 2>/dev/null
rm -f ca.key ca.srl server.csr client.csr
cat > policy/payments.yaml <<'YAML'
apiVersion: keybroker/v1
kind: Policy
metadata:
  name: payments
spec:
  workloads:
    - identity: spiffe://cluster.local/ns/payments/sa/checkout
      application: checkout
      rateLimit: 100/s
      allow:
        - secrets: [stripe/secret-key]
          stages: [current, previous]
        - secrets: [stripe/webhook-secret]
          stages: [current]
YAML
# Dates relative to now: the previous version is served only inside the 7-day grace window counted from the
# current version's creation, so fixed dates would stop the test from seeing "previous" a week later.
old_at="$(date -u -d '-90 days' +%Y-%m-%dT%H:%M:%SZ)"
current_at="$(date -u -d '-1 day' +%Y-%m-%dT%H:%M:%SZ)"
cat > secrets/secrets.yaml <<YAML
secrets:
  prod/stripe/secret-key:
    - version: "1"
      value: sk_test_keybroker_old
      createdAt: $old_at
    - version: "2"
      value: sk_test_keybroker_current
      createdAt: $current_at
  prod/stripe/webhook-secret:
    - version: "1"
      value: whsec_test_keybroker
      createdAt: $current_at
YAML
chmod -R a+rX "$DIR"
chmod a+r tls/tls.key client/tls.key
