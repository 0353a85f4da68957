#!/usr/bin/env bash
# Builds test/interop/bkclient (a buildctl-like driver made of BuildKit's own Go client
# library) from Debian's packages: golang-go and the BuildKit 0.8 client, session and progressui
# packages that golang-github-docker-docker-dev ships under /usr/share/gocode. No network beyond
# Debian's mirror. Prints the binary's path.
#
#   bash test/interop/build-bkclient.sh [OUT_DIR]     (default /tmp/kiln-bkclient)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:-/tmp/kiln-bkclient}"
packages=(golang-go golang-github-docker-docker-dev golang-github-gofrs-flock-dev
  golang-github-google-shlex-dev golang-github-grpc-ecosystem-grpc-opentracing-dev
  golang-github-tonistiigi-fsutil-dev)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "build-bkclient: installing ${missing[*]}" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
fi

gopath="$out/gopath"
rm -rf "$gopath"
mkdir -p "$gopath/src/github.com/tonistiigi" "$gopath/src/kiln.test/bkclient"
# Debian's fsutil (2020-03) predates the gogo marshaller BuildKit 0.8's gateway.pb.go calls
# (MarshalToSizedBuffer); a copy of it with that one method added shadows it in GOPATH order.
cp -r /usr/share/gocode/src/github.com/tonistiigi/fsutil "$gopath/src/github.com/tonistiigi/"
cat >"$gopath/src/github.com/tonistiigi/fsutil/types/sized.go" <<'EOF'
package types

// MarshalToSizedBuffer writes m at the end of dAtA, as newer gogo code expects.
func (m *Stat) MarshalToSizedBuffer(dAtA []byte) (int, error) {
	b, err := m.Marshal()
	if err != nil {
		return 0, err
	}
	copy(dAtA[len(dAtA)-len(b):], b)
	return len(b), nil
}
EOF
cp "$here/bkclient/main.go" "$gopath/src/kiln.test/bkclient/"
(
  cd "$gopath/src/kiln.test/bkclient"
  GO111MODULE=off GOPATH="$gopath:/usr/share/gocode" GOCACHE="$out/gocache" GOFLAGS= \
    go build -o "$out/bkclient" .
)
echo "$out/bkclient"
