#!/bin/sh
# The gate's nginx.conf from its environment, then nginx in the foreground:
#   GATE_TOKEN           the bearer token the query API and UI accept (required; RFC 6750 characters)
#   GATE_QUERY_UPSTREAM  Jaeger's query API, HOST:PORT (default jaeger:16686)
#   GATE_OTLP_UPSTREAM   Jaeger's OTLP/HTTP receiver, HOST:PORT (default jaeger:4318)
#   GATE_TLS             on: also https on 443, with a certificate from a CA made at start (optional);
#                        GATE_TLS_NAMES (comma-separated) are DNS names it holds besides the hostname and addresses
set -eu

fail() {
  echo "gate: $*" >&2
  exit 2
}

token=${GATE_TOKEN:-}
[ -n "$token" ] || fail "GATE_TOKEN is required: the bearer token the query API accepts"
case "$token" in
  *[!A-Za-z0-9._~+/=-]*) fail "GATE_TOKEN may hold only A-Z a-z 0-9 . _ ~ + / = - (RFC 6750 token68)" ;;
esac
query=${GATE_QUERY_UPSTREAM:-jaeger:16686}
otlp=${GATE_OTLP_UPSTREAM:-jaeger:4318}
for upstream in "$query" "$otlp"; do
  case "$upstream" in
    *[!A-Za-z0-9.:_-]* | *: | "") fail "upstream '$upstream' is not HOST:PORT" ;;
  esac
done

# Docker's embedded DNS on a user network; the host's resolver elsewhere.
resolver=$(awk '$1 == "nameserver" { print $2; exit }' /etc/resolv.conf)
case "${resolver:=127.0.0.11}" in *:*) resolver="[$resolver]" ;; esac

# TLS from a private CA made here and now, as the course's Jaeger has one (Vault PKI): clients need its
# certificate, /etc/nginx/tls/ca.pem. Its key is dropped once it signed the gate's certificate.
tls=""
dir=/etc/nginx/tls
# A restarted gate keeps its CA and certificate.
if [ "${GATE_TLS:-}" = on ] && [ ! -s "$dir/cert.pem" ]; then
  install -d -m 0755 "$dir"
  names="DNS:$(hostname)"
  for ip in $(hostname -I); do names="$names,IP:$ip"; done
  for name in $(printf '%s' "${GATE_TLS_NAMES:-}" | tr ',' ' '); do names="$names,DNS:$name"; done
  (
    umask 077
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj "/CN=lab10 test bed CA" \
      -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
      -keyout "$dir/ca.key" -out "$dir/ca.pem"
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$(hostname)" \
      -keyout "$dir/key.pem" -out "$dir/cert.csr"
    printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$names" >"$dir/cert.ext"
    openssl x509 -req -in "$dir/cert.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial -days 30 \
      -extfile "$dir/cert.ext" -out "$dir/cert.pem"
    rm -f "$dir/ca.key" "$dir/ca.srl" "$dir/cert.csr" "$dir/cert.ext"
  )
  chmod 0644 "$dir/ca.pem" "$dir/cert.pem"
fi
if [ "${GATE_TLS:-}" = on ]; then
  tls="listen 443 ssl; ssl_certificate $dir/cert.pem; ssl_certificate_key $dir/key.pem;"
fi

# The token is a secret: the rendered file is root's alone.
(umask 077 && sed -e "s|@GATE_TOKEN@|$token|g" -e "s|@QUERY_UPSTREAM@|$query|g" -e "s|@OTLP_UPSTREAM@|$otlp|g" \
  -e "s|@RESOLVER@|$resolver|g" -e "s|@TLS@|$tls|g" /etc/nginx/gate.conf.template >/etc/nginx/nginx.conf)
nginx -t -q
exec nginx -g 'daemon off;'
