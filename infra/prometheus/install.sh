#!/bin/sh
# Installs promtool (and prometheus) from Debian's `prometheus` package when promtool is
# missing. Run by .ci/run before the tests (tools/promtool.int.spec.ts needs promtool) and
# by hand; `npm start` runs Prometheus when it is installed. Needs root (or sudo) and apt-get.
set -eu
if command -v promtool >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "promtool is missing and apt-get is not available: install Prometheus (promtool) by hand" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
  else
    echo "promtool is missing: run 'apt-get install -y prometheus' as root (no passwordless sudo here)" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
# The package's postinst starts a service where an init system runs; policy-rc.d is left
# to the host. --no-install-recommends keeps it to prometheus and its libraries.
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null
command -v promtool >/dev/null 2>&1 || { echo "apt-get installed prometheus but promtool is not on PATH" >&2; exit 1; }
echo "installed $(promtool --version 2>&1 | head -n 1)"
