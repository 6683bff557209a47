#!/usr/bin/env bash
# Installs the Debian packages CloudGeo needs. Quiet and fast when they are all present.
# Run as root, or with sudo: the Makefile tells a non-root user the exact command.
set -euo pipefail

PACKAGES=(
    python3-venv python3-qgis qgis-providers   # QGIS 3.22 and its Python bindings
    python3-seccomp                            # syscall filter of the QGIS process's sandbox
    otb-bin otb-qgis grass-core                # Orfeo ToolBox and GRASS algorithm providers
    redis-server                               # job store, queue and local registry
    prometheus                                 # only for the tests that scrape for real
    docker.io debootstrap                      # only for the tests that build the images
    containerd runc containernetworking-plugins catatonit busybox-static iproute2  # real-node test
    chromium                                   # only for the browser test of the HTML pages
)

missing=()
for pkg in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "CloudGeo needs these Debian packages: ${missing[*]}" >&2
    echo "Run:  sudo $0" >&2
    exit 1
fi
echo "Installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
# apt starts nothing here, and where it does we run our own instances on our own ports:
# stop the services of the packages just installed (never a Docker that was already there).
services=()
for pkg in "${missing[@]}"; do
    case "$pkg" in
        redis-server) services+=(redis-server) ;;
        prometheus) services+=(prometheus) ;;
        docker.io) services+=(docker.socket docker containerd) ;;
        containerd) services+=(containerd) ;;
        containernetworking-plugins) services+=(cni-dhcp.socket cni-dhcp) ;;
    esac
done
[ ${#services[@]} -eq 0 ] || systemctl disable --now "${services[@]}" >/dev/null 2>&1 || true
