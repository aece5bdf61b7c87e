#!/usr/bin/env bash
# Makes a Docker engine answer for the tests and CI: reuses one that already answers `docker info`,
# otherwise starts dockerd in the background (no systemd needed) and waits for it.
#   FLEET_STANDIN_GPU_HOOK=1  put the stand-in nvidia-container-runtime-hook on dockerd's PATH, so GPU
#                             device requests work without GPUs (tests only; never on a GPU host).
#   DOCKERD_LOG=FILE          where dockerd writes (default /tmp/dockerd.log).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
log_file="${DOCKERD_LOG:-/tmp/dockerd.log}"

if docker info >/dev/null 2>&1; then
  echo "start-dockerd: reusing the Docker engine at ${DOCKER_HOST:-unix:///var/run/docker.sock}"
  exit 0
fi

if ! command -v dockerd >/dev/null 2>&1; then
  echo "start-dockerd: dockerd is not installed; install it with: apt-get install -y docker.io" >&2
  exit 1
fi
if [ "$(id -u)" != 0 ]; then
  echo "start-dockerd: dockerd must be started as root (run this script with sudo, or start Docker yourself)" >&2
  exit 1
fi

dockerd_path="$PATH"
if [ "${FLEET_STANDIN_GPU_HOOK:-}" = 1 ]; then
  # dockerd looks for the hook once, at start-up; the folder holds nothing else.
  dockerd_path="$root/scripts/stand-ins:$PATH"
  echo "start-dockerd: with the stand-in nvidia-container-runtime-hook (GPU device requests accepted without GPUs)"
fi

echo "start-dockerd: starting dockerd (log: $log_file)"
PATH="$dockerd_path" nohup dockerd >"$log_file" 2>&1 &

for _ in $(seq 1 120); do
  if docker info >/dev/null 2>&1; then
    echo "start-dockerd: Docker engine ready"
    exit 0
  fi
  sleep 0.5
done
echo "start-dockerd: dockerd did not answer within 60 s; its last log lines:" >&2
tail -n 20 "$log_file" >&2
exit 1
