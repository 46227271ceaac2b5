#!/usr/bin/env bash
# Installs what the docker step's tests and the sandbox need on a fresh Debian machine: Podman (its
# Docker-compatible API service), runc (crun fails here with hybrid cgroups) and a static busybox
# (the only binary in the test images). Skips apt entirely when everything is already there.
set -euo pipefail

packages=(podman runc busybox-static)
missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$pkg")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-podman: ${packages[*]} already installed"
  exit 0
fi

echo "install-podman: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null
# The service needs these at run time (conmon comes as a dependency of podman).
for cmd in podman runc conmon; do
  command -v "$cmd" >/dev/null || { echo "install-podman: $cmd missing after install" >&2; exit 1; }
done
test -x /bin/busybox || { echo "install-podman: /bin/busybox missing after install" >&2; exit 1; }
echo "install-podman: done"
