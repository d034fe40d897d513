#!/usr/bin/env bash
# Mints an HS256 JWT for local testing, as OpenTera's server (or Twake's) would issue one.
#   scripts/mint-jwt.sh '{"iss":"TeraServer","user_uuid":"6b2f8f0e-5d43-4c0a-9f55-0e3c1f7a9b21"}'
#   scripts/mint-jwt.sh '{"type":"access","sub":"user-1"}'    (Twake's access tokens say their type)
# `exp` defaults to an hour from now. The secret is EDGESHARE_JWT_SECRET, else the demo
# tenant's EDGESHARE_DEMO_JWT_SECRET from .dev.vars (written by `make dev`).
set -euo pipefail
cd "$(dirname "$0")/.."
claims="${1:?usage: scripts/mint-jwt.sh '<claims JSON>'}"
secret="${EDGESHARE_JWT_SECRET:-$(sed -n 's/^# EDGESHARE_DEMO_JWT_SECRET=//p' .dev.vars 2>/dev/null)}"
[ -n "$secret" ] || { echo "no secret: set EDGESHARE_JWT_SECRET or run make dev first" >&2; exit 1; }
case "$claims" in *'"exp"'*) ;; *) claims="${claims%\}},\"exp\":$(( $(date +%s) + 3600 ))}" ;; esac
b64() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
header=$(printf '%s' '{"alg":"HS256","typ":"JWT"}' | b64)
payload=$(printf '%s' "$claims" | b64)
sig=$(printf '%s.%s' "$header" "$payload" | openssl dgst -sha256 -hmac "$secret" -binary | b64)
printf '%s.%s.%s\n' "$header" "$payload" "$sig"
