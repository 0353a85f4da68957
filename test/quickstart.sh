#!/usr/bin/env bash
# Kiln's main job on a fresh Debian machine (as root): install what is needed, start kilnd, build a
# real multi-stage Dockerfile with kilnctl, export the result as files and as a tar, stop kilnd.
set -euo pipefail
cd "$(dirname "$0")/.."

debs=(ca-certificates)
missing=()
for pkg in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]})); then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
{ [ -d node_modules ] && [ -f dist/daemon/cmd/kilnd.js ]; } || npm ci --no-audit --no-fund

work=$(mktemp -d /tmp/kiln-quickstart.XXXXXX)
sock="$work/kilnd.sock"
node dist/daemon/cmd/kilnd.js --addr "unix://$sock" --root "$work/root" >"$work/kilnd.log" 2>&1 &
kilnd=$!
trap 'kill $kilnd 2>/dev/null; wait $kilnd 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
export BUILDKIT_HOST="unix://$sock"

ctx=test/fixtures/e2e/multistage
echo "== kilnctl debug workers"
node dist/client/cmd/kilnctl.js debug workers
echo "== building $ctx/Dockerfile"
node dist/client/cmd/kilnctl.js build --frontend dockerfile.v0 \
  --local context="$ctx" --local dockerfile="$ctx" --opt build-arg:GREETING=hi \
  --output "type=local,dest=$work/out" --progress plain
node dist/client/cmd/kilnctl.js build --frontend dockerfile.v0 \
  --local context="$ctx" --local dockerfile="$ctx" --opt build-arg:GREETING=hi \
  --output "type=tar,dest=$work/out.tar" --progress plain
echo "== exported files ($work/out)"
(cd "$work/out" && find . -mindepth 1 -printf '%M %p\n' | sort -k2)
echo "== exported tar ($work/out.tar)"
tar -tvf "$work/out.tar"
echo "== kilnctl du"
node dist/client/cmd/kilnctl.js du
