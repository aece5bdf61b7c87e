#!/usr/bin/env bash
# Builds the TGI simulator image tgi-sim:local FROM scratch (no base image, no registry needed):
# the simulator bundled with esbuild, this machine's node binary and the shared libraries `ldd`
# lists for it. Idempotent (an unchanged build reuses every layer) and quiet; prints the image id.
# TGI_SIM_IMAGE overrides the tag.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
sim="$root/docker/tgi-sim"
dist="$sim/dist"
rootfs="$dist/context/rootfs"
image="${TGI_SIM_IMAGE:-tgi-sim:local}"

if ! docker info >/dev/null 2>&1; then
  echo "build-sim-image: Docker is not reachable (DOCKER_HOST=${DOCKER_HOST:-unix:///var/run/docker.sock}); start dockerd first" >&2
  exit 1
fi

# Copies a file to the same absolute path inside the image root, only when it changed.
place() {
  local source="$1" target="$rootfs$2"
  mkdir -p "$(dirname "$target")"
  cmp -s "$source" "$target" 2>/dev/null || cp -L "$source" "$target"
}

cd "$root"
mkdir -p "$dist"
# Tests of several areas may build at once: one build at a time in this checkout.
exec 9>"$dist/.build.lock"
flock 9

node_modules/.bin/esbuild docker/tgi-sim/main.ts --bundle --platform=node --format=esm --target=node20 \
  --outfile="$dist/tgi-sim.mjs" --log-level=warning

node_binary="$(readlink -f "$(command -v node)")"
place "$node_binary" /usr/bin/node
# ldd prints "libx.so => /path (addr)" and "/lib64/ld-linux-….so.2 (addr)"; keep every absolute path.
for library in $(ldd "$node_binary" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }'); do
  place "$library" "$library"
done
place "$dist/tgi-sim.mjs" /app/tgi-sim.mjs
mkdir -p "$rootfs/data" "$rootfs/tmp"

# The classic builder needs no buildx; its notices go to stderr, shown only when the build fails.
messages="$(mktemp)"
trap 'rm -f "$messages"' EXIT
if ! DOCKER_BUILDKIT=0 docker build --quiet --file "$sim/Dockerfile" --tag "$image" "$dist/context" 2>"$messages"; then
  cat "$messages" >&2
  exit 1
fi
