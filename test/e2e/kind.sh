#!/usr/bin/env bash
# The e2e specs on kind, for people with Docker (CI runs the same specs on the local cluster instead):
# creates a kind cluster, builds the three images from images/Dockerfile, loads them into the cluster,
# runs test/e2e/chart.test.ts (which installs the chart with the simulators), collects logs on failure.
#
#   test/e2e/kind.sh [--keep] [--name NAME] [--node-image kindest/node:vX]
#
# Needs: docker, kind (https://kind.sigs.k8s.io), helm 3, and `npm ci` done. --keep leaves the cluster up
# (kubectl --context kind-NAME); otherwise a cluster this script created is deleted at the end (one that
# existed before is left alone), and logs of a failed run are in ./kind-logs/.
set -euo pipefail
cd "$(dirname "$0")/../.."

name=securekey-e2e
keep=false
node_image=()
while [ $# -gt 0 ]; do
  case "$1" in
    --keep) keep=true; shift ;;
    --name) name="$2"; shift 2 ;;
    --node-image) node_image=(--image "$2"); shift 2 ;;
    -h | --help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

for tool in docker kind helm; do
  command -v "$tool" >/dev/null || { echo "$tool is required (see the header of $0)" >&2; exit 1; }
done
[ -x node_modules/.bin/node ] || { echo "run npm ci first" >&2; exit 1; }

step() { printf '\n=== %s\n' "$*"; }
version=$(node_modules/.bin/node -p "require('./package.json').version")
repo=localhost/securekey
kubeconfig=$(mktemp -t "kind-$name-XXXX.kubeconfig")

created=false
cleanup() {
  status=$?
  if [ "$status" -ne 0 ]; then
    step "failed: collecting logs into ./kind-logs"
    kind export logs ./kind-logs --name "$name" >/dev/null 2>&1 || true
  fi
  if [ "$keep" = true ] || [ "$created" = false ]; then
    echo "cluster left running: kubectl --context kind-$name …   (kind delete cluster --name $name)"
  else
    kind delete cluster --name "$name" >/dev/null 2>&1 || true
  fi
  rm -f "$kubeconfig"
  exit "$status"
}
trap cleanup EXIT

step "kind cluster $name"
if ! kind get clusters 2>/dev/null | grep -qx "$name"; then
  # (${arr[@]+…}: bash 3.2 on macOS treats an empty array as unset under set -u)
  kind create cluster --name "$name" ${node_image[@]+"${node_image[@]}"} --wait 120s
  created=true
fi
kind get kubeconfig --name "$name" > "$kubeconfig"

step "images (images/Dockerfile) → kind"
for image in operator agent simulators; do
  # No provenance attestation: with Docker 29's containerd image store, `kind load` cannot import it.
  docker build -q --provenance=false -f images/Dockerfile --target "$image" -t "$repo/$image:$version" .
  kind load docker-image --name "$name" "$repo/$image:$version"
done

step "specs (test/e2e/chart.test.ts: installs the chart with the simulators)"
# On the project's Node 24 (node_modules/.bin first), whatever node the machine has.
PATH="$PWD/node_modules/.bin:$PATH" KUBECONFIG="$kubeconfig" SECUREKEY_E2E=1 SECUREKEY_E2E_CLUSTER=existing \
  SECUREKEY_E2E_IMAGE_REPO="$repo" SECUREKEY_E2E_IMAGE_TAG="$version" HELM="$(command -v helm)" \
  vitest run --project e2e test/e2e/chart.test.ts
