#!/usr/bin/env bash
# Builds the reference image for `fedconn run --target container` without
# pulling anything: a root filesystem holding this host's node binary, the
# shared libraries it links, and the project with its production node_modules,
# turned into an image by `docker import`. The image runs `fedconn serve` on
# the host's network (containers run with --network host) and writes the target
# config to /fedconn/target.json, the path the container target reads.
#
#   scripts/build-image.sh [IMAGE]      (default fedconn-ref:latest; also `npm run image`)
set -euo pipefail
cd "$(dirname "$0")/.."
image="${1:-fedconn-ref:latest}"
servers="${FEDCONN_IMAGE_SERVERS:-3}"

command -v docker >/dev/null || { echo "build-image: the docker client is missing" >&2; exit 2; }
docker info >/dev/null 2>&1 || { echo "build-image: no Docker engine answers (docker info failed)" >&2; exit 3; }
[ -d node_modules ] || { echo "build-image: run npm ci first (node_modules is missing)" >&2; exit 2; }

root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT

# Node and the shared libraries it links, at the paths ldd names.
node_bin="$(readlink -f "$(command -v node)")"
mkdir -p "$root/usr/local/bin" "$root/app" "$root/fedconn"
mkdir -m 1777 "$root/tmp"
cp "$node_bin" "$root/usr/local/bin/node"
for lib in $(ldd "$node_bin" | grep -o '/[^ ]*'); do cp --parents -L "$lib" "$root"; done

# The project: tracked and untracked-but-not-ignored files (no reports/out, no
# .git), then the production dependencies as npm resolved them (no dev tools).
git ls-files -z --cached --others --exclude-standard |
  grep -zv -e '^node_modules/' -e '^\.ci/' |
  tar --null -T - -cf - | tar -C "$root/app" -xf -
npm ls --omit=dev --all --parseable 2>/dev/null |
  sed "s|^$PWD/||" |
  grep -E '^node_modules/(@[^/]+/)?[^/]+$' |
  tar -T - -cf - | tar -C "$root/app" -xf -

# The image this name held before; replaced below, so it would be left dangling.
previous="$(docker image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)"
tar -C "$root" -cf - . |
  docker import \
    --change 'WORKDIR /app' \
    --change "CMD [\"/usr/local/bin/node\", \"cli/bin.js\", \"serve\", \"--servers\", \"$servers\", \"--config\", \"/fedconn/target.json\", \"--host\", \"127.0.0.1\", \"--port\", \"0\"]" \
    --message "fedconn $(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
    - "$image" >/dev/null
if [ -n "$previous" ] && [ "$previous" != "$(docker image inspect --format '{{.Id}}' "$image")" ]; then
  docker image rm "$previous" >/dev/null 2>&1 || true # still used by a container: keep it
fi
echo "built $image ($(docker image inspect --format '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1/1e6}'))"
