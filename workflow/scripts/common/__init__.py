"""Imported first by every wrapper script: makes the ``tdpr`` package importable.

With ``pip install -e .`` (the README's way) this does nothing. Under ``--sdm conda`` each job
runs in the environment of ``envs/tdpr.yaml``, which holds tdpr's dependencies but not tdpr
itself, so the repository's ``src/`` is put on the import path.
"""

import importlib.util
import sys
from pathlib import Path

if importlib.util.find_spec("tdpr") is None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "src"))
