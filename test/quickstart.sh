#!/usr/bin/env bash
# Kiln's main job on a fresh Debian machine (as root): install what is needed, start a local
# registry and kilnd, build a base image and then a multi-stage Dockerfile with RUN steps using
# kilnctl, push the image, and check it with skopeo, umoci and runc.
set -euo pipefail
cd "$(dirname "$0")/.."

debs=(ca-certificates runc busybox-static docker-registry skopeo umoci)
missing=()
for pkg in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]})); then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
{ [ -d node_modules ] && [ -f dist/daemon/cmd/kilnd.js ]; } || npm ci --no-audit --no-fund
kilnctl() { node dist/kilnctl.mjs "$@"; }

work=$(mktemp -d /tmp/kiln-quickstart.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

# A registry on 127.0.0.1 (Debian's docker-registry).
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
cat >"$work/registry.yml" <<YML
version: 0.1
storage:
  filesystem:
    rootdirectory: $work/registry
http:
  addr: 127.0.0.1:$port
YML
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
pids+=($!)
reg="127.0.0.1:$port"

# kilnd on its own socket and state directory.
sock="$work/kilnd.sock"
node dist/daemon/cmd/kilnd.js --addr "unix://$sock" --root "$work/root" >"$work/kilnd.log" 2>&1 &
pids+=($!)
up() { node -e 'fetch(process.argv[1]).then((r)=>process.exit(r.ok?0:1),()=>process.exit(1))' "http://$reg/v2/"; }
for _ in $(seq 100); do [ -S "$sock" ] && up && break; sleep 0.1; done
export BUILDKIT_HOST="unix://$sock"
echo "== kilnctl debug workers"
kilnctl debug workers

# The base image: Debian's static busybox, assembled by Kiln itself from a FROM-scratch Dockerfile.
base="$work/base"
mkdir -p "$base/rootfs/bin" "$base/rootfs/etc" "$base/rootfs/tmp"
cp /bin/busybox "$base/rootfs/bin/busybox"
for applet in $(/bin/busybox --list); do [ "$applet" = busybox ] || ln -s busybox "$base/rootfs/bin/$applet"; done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$base/rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$base/rootfs/etc/group"
printf 'FROM scratch\nCOPY rootfs/ /\nENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nCMD ["sh"]\n' >"$base/Dockerfile"
echo "== building the base image $reg/busybox:latest"
kilnctl build --frontend dockerfile.v0 --local context="$base" --local dockerfile="$base" \
  --output "type=image,name=$reg/busybox:latest,push=true" --progress plain

# The application: a multi-stage Dockerfile with RUN steps, pushed as an image.
app=test/fixtures/quickstart
echo "== building $app/Dockerfile into $reg/kiln/quickstart:latest"
kilnctl build --frontend dockerfile.v0 --local context="$app" --local dockerfile="$app" \
  --opt "build-arg:BASE=$reg/busybox:latest" \
  --output "type=image,name=$reg/kiln/quickstart:latest,push=true" \
  --metadata-file "$work/metadata.json" --progress plain
echo "== exporter response"
cat "$work/metadata.json"; echo
echo "== skopeo inspect"
skopeo inspect --tls-verify=false "docker://$reg/kiln/quickstart:latest"
echo "== umoci unpack, then the image's CMD under runc"
skopeo copy -q --src-tls-verify=false "docker://$reg/kiln/quickstart:latest" "oci:$work/oci:latest"
umoci unpack --image "$work/oci:latest" "$work/bundle" >/dev/null
sed -i 's/"terminal": true/"terminal": false/' "$work/bundle/config.json"
runc run --bundle "$work/bundle" "kiln-quickstart-$$"
runc delete --force "kiln-quickstart-$$" 2>/dev/null || true
echo "== also as an OCI tarball: $work/quickstart.tar"
kilnctl build --frontend dockerfile.v0 --local context="$app" --local dockerfile="$app" \
  --opt "build-arg:BASE=$reg/busybox:latest" --output "type=oci,dest=$work/quickstart.tar,name=kiln/quickstart:latest"
skopeo inspect "oci-archive:$work/quickstart.tar" | head -5
echo "== kilnctl du"
kilnctl du | tail -3
