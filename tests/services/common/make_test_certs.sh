#!/bin/sh
# Writes a throwaway PKI for TLS tests into DIR: a CA, a server certificate
# for localhost/127.0.0.1, a client certificate, and a client certificate
# from an unrelated CA (to prove the server checks who signed it). Keys are
# generated fresh on every run, so no private key is ever committed.
# Usage: make_test_certs.sh DIR
set -eu
dir=$1
mkdir -p "$dir"
cd "$dir"

newkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

# ca NAME: self-signed CA certificate NAME.pem with key NAME.key.
ca() {
  newkey "$1.key"
  openssl req -x509 -new -key "$1.key" -subj "/CN=$1" -days 3650 \
    -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign,cRLSign -out "$1.pem"
}

# leaf NAME CA EXTENSIONS: certificate NAME.pem (key NAME.key) signed by CA.
leaf() {
  newkey "$1.key"
  openssl req -new -key "$1.key" -subj "/CN=$1" -out "$1.csr"
  printf '%s\n' "$3" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" \
    -CAcreateserial -days 3650 -extfile "$1.ext" -out "$1.pem" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}

ca ca
ca other_ca
leaf server ca "subjectAltName=DNS:localhost,IP:127.0.0.1
extendedKeyUsage=serverAuth"
leaf client ca "extendedKeyUsage=clientAuth"
leaf other_client other_ca "extendedKeyUsage=clientAuth"
rm -f ./*.srl
