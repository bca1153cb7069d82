#!/usr/bin/env bash
# One script for the first machine with a CUDA GPU: checks in about 8 minutes what only the
# real run takes (CUDA placement, bf16, torch.compile, loader workers, DDP) and appends the
# figures, headed by the GPU's name and the torch and CUDA versions, to bench/RESULTS.md.
#
#   bash bench/make_wheelhouse.sh      # here, with network: bench/wheelhouse/ (a few MB)
#   bash bench/gpu_check.sh            # there, from the repository root: no network needed
#   bash bench/gpu_check.sh --dry-run  # anywhere: the same stages on the CPU, tiny sizes
#
# The GPU machine runs its own Python 3.12 with its own torch (PYTHON, default
# /opt/torch/.venv/bin/python3 when it exists, else python3). The packages it lacks are
# installed from bench/wheelhouse/ (no index, no dependency resolution: the wheelhouse holds
# exactly what is missing); the project itself is used in place (PYTHONPATH=src), so nothing
# else is built or fetched. Stages and their time limits: bench/gpu_check.py. bench/wheelhouse/
# is git-ignored: a tool that copies the working tree to the GPU machine must be told to carry
# it. The figures land in bench/RESULTS.md and bench/gpu_figures.json of the copy there: bring
# them back (and commit them) from there.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -z "${PYTHON:-}" ]]; then
  if [[ -x /opt/torch/.venv/bin/python3 ]]; then PYTHON=/opt/torch/.venv/bin/python3; else PYTHON=python3; fi
fi
missing=$("$PYTHON" - <<'PY'
import importlib.util
mods = ["auraloss", "soundfile", "librosa", "jsonschema", "pyloudnorm", "soxr", "pooch"]
print(" ".join(m for m in mods if importlib.util.find_spec(m) is None))
PY
)
if [[ -n "$missing" ]]; then
  if ! compgen -G "bench/wheelhouse/*.whl" >/dev/null; then
    echo "gpu_check: missing Python packages ($missing) and no bench/wheelhouse/;" \
      "run bash bench/make_wheelhouse.sh where there is network" >&2
    exit 2
  fi
  echo "gpu_check: installing from bench/wheelhouse/ (missing: $missing)" >&2
  "$PYTHON" -m pip install --quiet --no-index --no-deps --find-links bench/wheelhouse bench/wheelhouse/*.whl
fi
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
exec "$PYTHON" bench/gpu_check.py "$@"
