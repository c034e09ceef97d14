#!/usr/bin/env bash
# Test certificates, made with openssl in DIR:
#   ca.pem/ca.key            the test CA          other-ca.pem   a CA nobody trusts
#   server.pem/.key          for 127.0.0.1 and localhost, signed by the CA
#   expired.pem/.key         the same names, valid only in 2020
#   wrong-name.pem/.key      for other.example only
#   client.pem/.key          a client certificate signed by the CA
# Usage: tests/support/certs.sh DIR
set -euo pipefail
dir=$1
mkdir -p "$dir"
cd "$dir"
quiet() { "$@" > /dev/null 2>&1 || { "$@"; exit 1; }; }

quiet openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=copper test CA" \
  -keyout ca.key -out ca.pem
quiet openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=untrusted CA" \
  -keyout other-ca.key -out other-ca.pem

# sign NAME SAN [DAYS | START END]
sign() {
  local name=$1 san=$2
  quiet openssl req -newkey rsa:2048 -nodes -subj "/CN=$name" -keyout "$name.key" -out "$name.csr"
  printf 'subjectAltName=%s\n' "$san" > "$name.ext"
  if [ $# -eq 4 ]; then
    # openssl ca sets arbitrary validity dates; x509 -req only counts days from now.
    mkdir -p ca-db && : > ca-db/index && echo 01 > ca-db/serial
    cat > ca-db/conf <<CONF
[ca]
default_ca = test
[test]
database = ca-db/index
serial = ca-db/serial
new_certs_dir = ca-db
certificate = ca.pem
private_key = ca.key
default_md = sha256
policy = any
copy_extensions = copy
[any]
commonName = supplied
CONF
    quiet openssl ca -batch -config ca-db/conf -in "$name.csr" -out "$name.pem" \
      -startdate "$3" -enddate "$4" -extfile "$name.ext" -notext
  else
    quiet openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial \
      -days "$3" -extfile "$name.ext" -out "$name.pem"
  fi
}

sign server "IP:127.0.0.1,DNS:localhost" 30
sign wrong-name "DNS:other.example" 30
sign client "DNS:client" 30
sign expired "IP:127.0.0.1,DNS:localhost" 20200101000000Z 20200102000000Z
