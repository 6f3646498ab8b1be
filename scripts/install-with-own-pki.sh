#!/usr/bin/env bash
# A first installation with an operator's own PKI, exactly as keys/README.md describes it.
#
#   scripts/install-with-own-pki.sh WORKDIR
#
# Part 1 plays the national PKI with plain openssl: a root CA, an intermediate CA, their
# CRLs (the root's in DER), RSA and EC intake keys, a seal key, an Ed25519 audit key, a
# magistrate and a counterpart authority. Part 2 is the operator's installation (init,
# keys import, authorities, doctor, serve). Part 3 is a magistrate submitting one request
# made with `openssl cms`. Exits non-zero at the first failure.
# Env: ROGATORY (the command, default `rogatory`), PORT (default 18080).
set -euo pipefail

WORK=$(realpath -m "${1:?usage: $0 WORKDIR}")
ROGATORY=${ROGATORY:-rogatory}
PORT=${PORT:-18080}
REPO=$(cd "$(dirname "$0")/.." && pwd)
PKI="$WORK/national-pki"
export ROGATORY_DATA_DIR="$WORK/data"
export ROGATORY_GATEWAY_ID=${ROGATORY_GATEWAY_ID:-justice-gateway-test}  # this deployment's id
mkdir -p "$PKI"
cd "$PKI"

# ---- Part 1: the national PKI (not Rogatory's business; any CA software will do) ----
cat > ca.cnf <<'EOF'
[ca]
default_ca = root
[root]
database = root.index
crlnumber = root.crlnumber
default_md = sha256
default_crl_days = 7
[intermediate]
database = intermediate.index
crlnumber = intermediate.crlnumber
default_md = sha256
default_crl_days = 7
[root_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[intermediate_ext]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[rsa_encryption_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,keyEncipherment
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ec_encryption_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,keyAgreement
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[signing_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,nonRepudiation
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOF
touch root.index intermediate.index
echo 01 > root.crlnumber
echo 01 > intermediate.crlnumber
subject() { echo "/C=EU/O=National Justice PKI/CN=$1"; }

openssl req -x509 -new -newkey rsa:3072 -nodes -keyout root.key -out root.pem -days 3650 \
  -subj "$(subject 'Justice Root CA')" -config ca.cnf -extensions root_ext 2>/dev/null
openssl req -new -newkey rsa:3072 -nodes -keyout intermediate.key -out intermediate.csr \
  -subj "$(subject 'Justice Issuing CA')" 2>/dev/null
openssl x509 -req -in intermediate.csr -CA root.pem -CAkey root.key -CAcreateserial \
  -out intermediate.pem -days 1825 -extfile ca.cnf -extensions intermediate_ext 2>/dev/null

issue() {  # issue NAME KEYSPEC EXTENSION: NAME.key + NAME.pem signed by the intermediate
  local name=$1 keyspec=$2 ext=$3
  openssl genpkey $keyspec -out "$name.key" 2>/dev/null
  openssl req -new -key "$name.key" -out "$name.csr" -subj "$(subject "$name")"
  openssl x509 -req -in "$name.csr" -CA intermediate.pem -CAkey intermediate.key \
    -CAcreateserial -out "$name.pem" -days 365 -extfile ca.cnf -extensions "$ext" 2>/dev/null
}
issue gateway-intake-rsa "-algorithm RSA -pkeyopt rsa_keygen_bits:3072" rsa_encryption_ext
issue gateway-intake-ec "-algorithm EC -pkeyopt ec_paramgen_curve:P-256" ec_encryption_ext
issue gateway-seal "-algorithm EC -pkeyopt ec_paramgen_curve:P-256" signing_ext
issue magistrate "-algorithm EC -pkeyopt ec_paramgen_curve:P-256" signing_ext
issue rotterdam-enc "-algorithm RSA -pkeyopt rsa_keygen_bits:3072" rsa_encryption_ext
issue madrid-enc "-algorithm RSA -pkeyopt rsa_keygen_bits:3072" rsa_encryption_ext
issue madrid-sign "-algorithm EC -pkeyopt ec_paramgen_curve:P-256" signing_ext
openssl genpkey -algorithm ed25519 -out gateway-audit.key

openssl ca -config ca.cnf -name root -gencrl -keyfile root.key -cert root.pem \
  -out root.crl.pem 2>/dev/null
openssl crl -in root.crl.pem -outform DER -out root.crl   # CAs often publish DER
openssl ca -config ca.cnf -name intermediate -gencrl -keyfile intermediate.key \
  -cert intermediate.pem -out intermediate.crl.pem 2>/dev/null
chmod 600 ./*.key

# ---- Part 2: the operator installs Rogatory (keys/README.md, "First installation") ----
"$ROGATORY" init
"$ROGATORY" keys import anchors root.pem
"$ROGATORY" keys import intermediates intermediate.pem
"$ROGATORY" keys import crl root.crl intermediate.crl.pem
"$ROGATORY" keys import intake --key gateway-intake-rsa.key --cert gateway-intake-rsa.pem \
  --key gateway-intake-ec.key --cert gateway-intake-ec.pem
"$ROGATORY" keys import seal --key gateway-seal.key --cert gateway-seal.pem --chain intermediate.pem
"$ROGATORY" keys import audit-key --key gateway-audit.key
"$ROGATORY" init   # now says the keyring is complete
"$ROGATORY" authorities add nl-om-rotterdam --name "Openbaar Ministerie Rotterdam" \
  --country NL --language nl --language en \
  --encryption-cert rotterdam-enc.pem --signing-cert magistrate.pem
"$ROGATORY" authorities add es-fiscalia-madrid --name "Fiscalía Provincial de Madrid" \
  --country ES --language es --encryption-cert madrid-enc.pem --signing-cert madrid-sign.pem
"$ROGATORY" doctor

"$ROGATORY" serve --port "$PORT" > "$WORK/serve.log" 2>&1 &
SERVER=$!
stop() {  # the gateway, then the embedded broker it started
  kill $SERVER 2>/dev/null || true
  wait $SERVER 2>/dev/null || true
  if [ -f "$ROGATORY_DATA_DIR/broker/redis.pid" ]; then
    kill "$(cat "$ROGATORY_DATA_DIR/broker/redis.pid")" 2>/dev/null || true
  fi
}
trap stop EXIT
healthy() {  # GET /health answers 200 (the port alone may be open before the app is)
  exec 3<>"/dev/tcp/127.0.0.1/$PORT" || return 1
  printf 'GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
  head -1 <&3 | grep -q ' 200'
}
for _ in $(seq 1 240); do
  if (healthy) 2>/dev/null; then break; fi
  kill -0 $SERVER 2>/dev/null || { cat "$WORK/serve.log"; exit 1; }
  sleep 0.5
done

# ---- Part 3: a magistrate's request, signed and encrypted with plain openssl ----
printf '{"format":"rogatory.submission/1","gateway":"%s","message_id":"%s",' \
  "$ROGATORY_GATEWAY_ID" "own-pki-$(date -u +%s)-$$" > submission.json
printf '"created":"%s","attachments":[],"request":%s}' \
  "$(date -u +%Y-%m-%dT%H:%M:%S+00:00)" "$(cat "$REPO/tests/fixtures/mla_request.json")" \
  >> submission.json
openssl cms -sign -binary -nodetach -md sha256 -in submission.json -signer magistrate.pem \
  -inkey magistrate.key -outform DER -out signed.der
openssl cms -encrypt -binary -aes-256-gcm -recip gateway-intake-rsa.pem \
  -keyopt rsa_padding_mode:oaep -keyopt rsa_oaep_md:sha256 \
  -in signed.der -outform DER -out envelope.der
"$ROGATORY" client submit envelope.der --url "http://127.0.0.1:$PORT"
echo "own-PKI installation: request accepted"
