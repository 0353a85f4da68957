#!/usr/bin/env bash
# Installs what Kiln's tests need on a fresh Debian machine (as root) and runs the whole suite:
# type check, lint, unit and conformance tests, and end-to-end tests through a real kilnd socket.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the suite uses; installed only when missing.
debs=(ca-certificates openssl git bzip2 xz-utils zstd runc busybox-static util-linux docker-registry skopeo umoci docker.io)
# BuildKit's own Go client library (0.8, vendored in docker's -dev package) and Go to build
# test/interop/bkclient: the real BuildKit client the interop tests drive kilnd with.
debs+=(golang-go golang-github-docker-docker-dev golang-github-gofrs-flock-dev golang-github-google-shlex-dev
  golang-github-grpc-ecosystem-grpc-opentracing-dev golang-github-tonistiigi-fsutil-dev)
missing=()
for pkg in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]})); then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ ! -d ../shared/corpus ]; then
  echo "run-all: ../shared/corpus is missing: the conformance tests read it from the shared path" >&2
  exit 1
fi

npm ci --no-audit --no-fund
npm test
