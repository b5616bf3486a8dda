#!/usr/bin/env bash
# Compiles every kernels/src/main/cuda/*.cu to PTX (compute_80: the driver JIT-compiles it for Ampere, Hopper and
# later), all warnings as errors, then assembles each PTX for sm_80 and sm_90 with ptxas warnings as errors, so a
# kernel that would not load on either fails here. Writes OUT_DIR/NAME.ptx, touching only files whose text changed.
# Usage: build-ptx.sh OUT_DIR     (NVCC=/path/to/nvcc to pick one; without nvcc it says so and exits 0)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:?usage: build-ptx.sh OUT_DIR}"
nvcc="${NVCC:-$(command -v nvcc || true)}"
if [ -z "$nvcc" ]; then
  echo "build-ptx: nvcc not found: keeping the committed PTX"
  exit 0
fi
mkdir -p "$out"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for cu in "$here"/*.cu; do
  name="$(basename "$cu" .cu)"
  # -fmad=false: no implicit multiply-add contraction, so results follow the source (and the CPU backend) exactly
  "$nvcc" -ptx -arch=compute_80 -std=c++17 -fmad=false -Werror all-warnings -I "$here" -o "$work/$name.ptx" "$cu"
  for sm in sm_80 sm_90; do
    "$nvcc" -cubin -arch="$sm" -Xptxas -Werror -o /dev/null "$work/$name.ptx"
  done
  if ! cmp -s "$work/$name.ptx" "$out/$name.ptx"; then
    cp "$work/$name.ptx" "$out/$name.ptx"
    echo "build-ptx: wrote $out/$name.ptx"
  fi
done
