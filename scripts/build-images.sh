#!/usr/bin/env bash
# Builds the SecureKey images with buildah, without a registry (CI and the local cluster): a root
# filesystem of the Node 24 binary (from node_modules/node, the project's pinned Node) and the shared
# libraries it links, plus the app files and production node_modules — the same entrypoints, user,
# environment and /app layout as images/Dockerfile, both taken from images/images.json.
#
#   scripts/build-images.sh [operator agent simulators] [--out DIR] [--extra-ca FILE]
#                                                         → DIR/<name>.tar (docker-archive)
# --extra-ca: a CA (PEM) npm trusts too, behind a TLS-intercepting proxy (as the Dockerfile's extra-ca secret).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-${TMPDIR:-/tmp}/securekey-images}"
names=()
while [ $# -gt 0 ]; do case "$1" in
  --out) out="$2"; shift 2;;
  --extra-ca) [ -f "$2" ] || { echo "--extra-ca $2: no such file" >&2; exit 2; }
    export NODE_EXTRA_CA_CERTS; NODE_EXTRA_CA_CERTS=$(realpath "$2"); shift 2;;
  *) names+=("$1"); shift;;
esac; done
[ ${#names[@]} -gt 0 ] || names=(operator agent simulators)
mkdir -p "$out"
B="buildah --storage-driver vfs"
NODE_BIN="node_modules/node/bin/node"
[ -x "$NODE_BIN" ] || { echo "run npm ci first (node_modules/node provides Node 24)" >&2; exit 1; }
field() { node_modules/.bin/node -e "const m=require('./images/images.json');const v=$1;process.stdout.write(typeof v==='string'?v:JSON.stringify(v))"; }
version=$(node_modules/.bin/node -p "require('./package.json').version")

# Production dependencies only, rebuilt when the lock file changes.
deps="$out/deps"
lock=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -d "$deps/node_modules" ] || [ "$(cat "$deps/.lock" 2>/dev/null)" != "$lock" ]; then
  rm -rf "$deps"; mkdir -p "$deps"
  cp package.json package-lock.json "$deps/"
  (cd "$deps" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund >&2)
  echo "$lock" > "$deps/.lock"
fi

# The agent's ioctl helper (agent/native, ADR 16), linked against this host's glibc, which the loop copies with node.
if printf '%s\n' "${names[@]}" | grep -qx agent; then agent/native/build.sh "$out/native/sev-report" >&2; fi

for name in "${names[@]}"; do
  echo "[build-images] $name" >&2
  c=$($B from scratch)
  mnt=$($B mount "$c")
  install -D -m 0755 "$NODE_BIN" "$mnt/usr/local/bin/node"
  # The libraries node links, at the paths the loader expects.
  for lib in $(ldd "$NODE_BIN" | grep -o '/[^ ]*'); do install -D -m 0755 "$lib" "$mnt$lib"; done
  mkdir -p "$mnt/etc" "$mnt/tmp" "$mnt/app"; chmod 1777 "$mnt/tmp"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > "$mnt/etc/passwd"
  printf 'root:x:0:\nnonroot:x:65532:\n' > "$mnt/etc/group"
  bundle=$(field "m.images['$name'].bundle ?? ''")
  if [ -n "$bundle" ]; then
    # A bundled image (ADR 19): the bundle instead of sources and node_modules, as the Dockerfile does.
    node_modules/.bin/node scripts/bundle-agent.ts --out "$mnt$bundle" >&2
  else
    cp -r "$deps/node_modules" "$mnt/app/node_modules"
    # Only what this image's packages need (images.json `packages`), as the Dockerfile does.
    node_modules/.bin/node scripts/prune-node-modules.ts "$mnt/app/node_modules" $(field "m.images['$name'].packages.join(' ')") >&2
  fi
  if [ "$name" = agent ]; then install -D -m 0755 "$out/native/sev-report" "$mnt/usr/local/lib/securekey/sev-report"; fi
  for src in $(field "m.images['$name'].sources.join(' ')"); do cp -r "$src" "$mnt/app/$src"; done
  # Warm V8's compile cache as the runtime user (Node keys the cache directory by uid), as the Dockerfile
  # does, with the image's own warm-up command (images.json `warm`); read-only at run time.
  mapfile -t warm < <(field "m.images['$name'].warm.join('\\n')")
  mapfile -t image_env < <(node_modules/.bin/node -e \
    "for (const [k,v] of Object.entries(require('./images/images.json').env)) console.log(k+'='+v)")
  mkdir -p "$mnt/app/.cache/node-compile"; chown -R 65532:65532 "$mnt/app/.cache"
  env -i "${image_env[@]}" "$(command -v chroot)" --userspec=65532:65532 "$mnt" "${warm[@]}" >&2 \
    || { echo "[build-images] $name: warm-up failed" >&2; exit 1; }
  $B umount "$c" >/dev/null
  env_args=()
  for kv in "${image_env[@]}"; do env_args+=(--env "$kv"); done
  $B config --entrypoint "$(field "m.images['$name'].entrypoint")" --cmd '' --user "$(field 'm.user')" \
    --workingdir "$(field 'm.workdir')" "${env_args[@]}" \
    --label "io.securekey.component=$name" --label "org.opencontainers.image.version=$version" \
    $([ "$name" = simulators ] && echo --label io.securekey.simulator=true) "$c"
  ref="localhost/securekey/$name:$version"
  $B commit --rm "$c" "$ref" >/dev/null
  rm -f "$out/$name.tar" # docker-archive refuses to add to an existing file
  $B push "$ref" "docker-archive:$out/$name.tar:$ref" >/dev/null
  $B rmi "$ref" >/dev/null # only the archive is kept: vfs copies would fill the disk run after run
  echo "$out/$name.tar $ref $(du -h "$out/$name.tar" | cut -f1)"
done
