#!/usr/bin/env bash
# Build bench/wheelhouse/: the Python 3.12 wheels (manylinux x86-64) that the lent GPU machine
# lacks for bench/gpu_check.sh. That machine reaches no package index; its own Python 3.12
# already holds torch, numpy, scipy, pandas, numba, scikit-learn, joblib, msgpack, lazy-loader,
# attrs, requests, packaging, pyyaml, tqdm, tensorboard, matplotlib, seaborn and pytest (the
# device's KINDS.md), so only the rest is fetched here, without dependencies, at the versions
# of this environment where they exist. The folder is git-ignored; it travels with the working
# tree (a few MB; the limit is 64 MiB).
#
# Usage: bash bench/make_wheelhouse.sh [PIP]      (PIP: a pip of any Python; default pip)
set -euo pipefail
cd "$(dirname "$0")/.."
PIP=${1:-pip}
OUT=bench/wheelhouse
# What tdpr imports at run time beyond the machine's packages, and their own missing deps.
PACKAGES=(
  auraloss soundfile cffi pycparser                      # the loss; audio I/O
  librosa audioread decorator pooch platformdirs soxr    # mel filterbank of the vocoder
  jsonschema jsonschema-specifications referencing rpds-py  # config validation (tdpr plan)
  pyloudnorm                                             # listening-kit loudness (imported by report)
)
pinned=()
for name in "${PACKAGES[@]}"; do
  version=$("$PIP" show "$name" 2>/dev/null | sed -n 's/^Version: //p' || true)
  pinned+=("${name}${version:+==$version}")
done
mkdir -p "$OUT"
"$PIP" download --no-deps --only-binary=:all: --dest "$OUT" \
  --python-version 3.12 --implementation cp --abi cp312 --abi abi3 --abi none \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 --platform any \
  "${pinned[@]}"
du -sh "$OUT"
ls "$OUT"
