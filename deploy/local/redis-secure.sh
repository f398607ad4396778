#!/usr/bin/env bash
# Prepare a local redis-server that runs as ElastiCache does in the ECS template: TLS only and
# the ACL users of deploy/redis/acl.yaml (rendered by deploy/redis/render_acl.py, default user off).
#
#   deploy/local/redis-secure.sh DIR [--harness-user NAME]
#
# Creates (once; an existing DIR is reused so a restarted Redis keeps its passwords):
#   DIR/tls/ca.pem ca.key server.pem server.key   throwaway CA + server cert for 127.0.0.1/localhost
#   DIR/pw/<user>                                  one random password per ACL user (mode 600)
#   DIR/users.acl                                  redis-server --aclfile (SHA-256 of each password)
# --harness-user NAME adds a full-access user for test harnesses and operators on the local stack
# only (the e2e checks read and corrupt state as an operator would); ECS has no such user.
# Prints the redis-server TLS/ACL arguments, one per line, for the caller to append.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dir="${1:?usage: redis-secure.sh DIR [--harness-user NAME]}"
harness=""
if [ "${2:-}" = "--harness-user" ]; then harness="${3:?--harness-user needs a name}"; fi
py="$root/.local/venv/bin/python"
[ -x "$py" ] || py="$(command -v python3)"
umask 077
mkdir -p "$dir/tls" "$dir/pw"
tls="$dir/tls"
if [ ! -s "$tls/server.pem" ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=pipeline local CA" \
    -keyout "$tls/ca.key" -out "$tls/ca.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
    -keyout "$tls/server.key" -out "$tls/server.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$tls/san.ext"
  openssl x509 -req -days 30 -in "$tls/server.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" \
    -CAcreateserial -extfile "$tls/san.ext" -out "$tls/server.pem" 2>/dev/null
  chmod 644 "$tls/ca.pem"
fi
users="$("$py" "$root/deploy/redis/render_acl.py" users)"
for u in $users $harness; do
  [ -s "$dir/pw/$u" ] || openssl rand -hex 24 >"$dir/pw/$u"
done
"$py" "$root/deploy/redis/render_acl.py" aclfile "$dir/users.acl" --password-dir "$dir/pw"
if [ -n "$harness" ]; then
  sha="$(tr -d '\n' <"$dir/pw/$harness" | sha256sum | cut -d' ' -f1)"
  echo "user $harness on #$sha ~* &* +@all" >>"$dir/users.acl"
fi
printf '%s\n' --tls-cert-file "$tls/server.pem" --tls-key-file "$tls/server.key" \
  --tls-ca-cert-file "$tls/ca.pem" --tls-auth-clients no --aclfile "$dir/users.acl"
