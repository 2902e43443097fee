#!/bin/sh
# Builds the agent's native helper (sev-report.c → one executable, libc only, linked against the
# system's glibc like node itself).
#   agent/native/build.sh OUTPUT
# Used by the agent image's build stage and by the tests. CC overrides the compiler (default gcc).
set -eu
[ $# -eq 1 ] || { echo "usage: agent/native/build.sh OUTPUT" >&2; exit 2; }
out=$1
cc=${CC:-gcc}
if ! command -v "$cc" >/dev/null 2>&1; then
  echo "agent/native/build.sh: C compiler '$cc' not found: install gcc (Debian: apt-get install gcc libc6-dev) or set CC" >&2
  exit 127
fi
src=$(dirname "$0")/sev-report.c
mkdir -p "$(dirname "$out")"
# Build under a temporary name so a failed build never leaves a half-written helper at OUTPUT.
tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT
"$cc" -std=c11 -O2 -Wall -Wextra -Werror -D_FORTIFY_SOURCE=2 -fstack-protector-strong -o "$tmp" "$src"
chmod 0755 "$tmp"
mv -f "$tmp" "$out"
