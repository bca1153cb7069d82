"""Checkpoints: the resumable training state and the final model file.

Both are ``torch.save`` dictionaries of plain data only (dict, list, tuple, str, int, float, bool,
None and tensors), written atomically (temporary file + rename) and read with
``torch.load(weights_only=True)``: no pickled classes, so loading never runs code.

Training state (``kind = "tdpr-training-state"``), the same for every task of
:func:`tdpr.train.loop.fit`::

    {"kind", "modules": {name: state_dict}, "optimizers": {name: optimizer state_dict},
     "epoch": epochs done, "step": optimiser steps done, "torch_rng": CPU generator state
     (uint8 tensor), "cuda_rng": [per-device states] (empty without CUDA), "history": [row dicts],
     "config": training config dict, "versions": {"tdpr", "torch"}}

Final model file (``kind = "tdpr-model"``)::

    {"kind", "model": registry name, "kwargs": constructor arguments, "state": state_dict (CPU),
     "train_cfg": training config dict, "versions": {"tdpr", "torch"}}
"""

from __future__ import annotations

import logging
import os
import pickle
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from tdpr import __version__
from tdpr.fsio import atomic_path
from tdpr.models import build_model

logger = logging.getLogger(__name__)

MODEL_KIND = "tdpr-model"
STATE_KIND = "tdpr-training-state"
_SCALARS = (str, int, float, bool, type(None))  # exact types: subclasses need allow-listing
_MAPPINGS = (dict, OrderedDict)


def versions() -> dict[str, str]:
    """Versions recorded in every checkpoint."""
    return {"tdpr": str(__version__), "torch": str(torch.__version__)}  # not TorchVersion


def check_plain(obj: Any, where: str = "checkpoint") -> None:
    """Raise TypeError unless ``obj`` is nested dicts/lists/tuples of plain values and tensors."""
    if type(obj) in _MAPPINGS:
        for key, value in obj.items():
            check_plain(key, where)
            check_plain(value, f"{where}.{key}")
    elif type(obj) in (list, tuple):
        for i, value in enumerate(obj):
            check_plain(value, f"{where}[{i}]")
    elif type(obj) not in _SCALARS and not isinstance(obj, torch.Tensor):
        raise TypeError(f"{where} holds a {type(obj).__name__}, which weights_only cannot load")


def save_checkpoint(obj: dict[str, Any], path: str | os.PathLike) -> Path:
    """Check ``obj`` is plain data and write it to ``path`` atomically."""
    check_plain(obj)
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)
    return path


def load_checkpoint(
    path: str | os.PathLike, kind: str, map_location: str | torch.device | None = "cpu"
) -> dict[str, Any]:
    """Read a checkpoint with ``weights_only=True`` and check its ``kind``.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a tdpr checkpoint of this kind (another kind, or not a torch file).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        obj = torch.load(path, map_location=map_location, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, KeyError, ValueError) as err:
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(f"cannot read {path} as a tdpr checkpoint: {first_line}") from err
    found = obj.get("kind") if isinstance(obj, dict) else None
    if found != kind:
        hint = " (a training state, not a final model)" if found == STATE_KIND else ""
        raise ValueError(f"{path} is not a {kind!r} file: its kind is {found!r}{hint}")
    return obj


def cpu_state(module: nn.Module) -> dict[str, torch.Tensor]:
    """A module's state_dict with every tensor detached and on the CPU."""
    return {k: v.detach().cpu() for k, v in module.state_dict().items()}


def save_model(
    path: str | os.PathLike,
    name: str,
    kwargs: Mapping[str, Any],
    model: nn.Module,
    train_cfg: Mapping[str, Any],
) -> Path:
    """Write the final model file (format in the module docstring) atomically.

    Args:
        path: where to write.
        name: registry name of the model (a key of :data:`tdpr.models.MODELS`).
        kwargs: its constructor arguments (``build_model(name, **kwargs)`` rebuilds it).
        model: the trained model (not a ``torch.compile`` wrapper).
        train_cfg: the training configuration, as a plain dict.
    """
    obj = {
        "kind": MODEL_KIND,
        "model": name,
        "kwargs": dict(kwargs),
        "state": cpu_state(model),
        "train_cfg": dict(train_cfg),
        "versions": versions(),
    }
    return save_checkpoint(obj, path)


def load_model(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> nn.Module:
    """Rebuild a model from a final model file, in eval mode on ``map_location``.

    Raises:
        ValueError: the file is not a ``tdpr-model`` file, or its weights do not fit the model.
    """
    obj = load_checkpoint(path, MODEL_KIND, map_location="cpu")
    model = build_model(obj["model"], **obj["kwargs"])
    try:
        model.load_state_dict(obj["state"])
    except RuntimeError as err:
        raise ValueError(f"weights in {path} do not fit model {obj['model']!r}: {err}") from err
    return model.to(map_location).eval()


def rng_state() -> dict[str, Any]:
    """The global torch generator states (CPU and every CUDA device)."""
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []
    return {"torch_rng": torch.get_rng_state(), "cuda_rng": cuda}


def restore_rng_state(state: Mapping[str, Any]) -> None:
    """Restore what :func:`rng_state` saved (CUDA states only where CUDA is available)."""
    torch.set_rng_state(state["torch_rng"].cpu())
    cuda = state.get("cuda_rng") or []
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all([s.cpu() for s in cuda])


def training_state(
    modules: Mapping[str, nn.Module],
    optimizers: Mapping[str, torch.optim.Optimizer],
    epoch: int,
    step: int,
    history: list[dict],
) -> dict[str, Any]:
    """The training state after ``epoch`` epochs and ``step`` steps (format: module docstring),
    without its ``config`` (the caller adds it)."""
    return {
        "kind": STATE_KIND,
        "modules": {name: cpu_state(m) for name, m in modules.items()},
        "optimizers": {name: o.state_dict() for name, o in optimizers.items()},
        "epoch": int(epoch),
        "step": int(step),
        **rng_state(),
        "history": [dict(row) for row in history],
        "versions": versions(),
    }


def check_resumable(
    saved: Mapping[str, Any], current: Mapping[str, Any], path: Path, resumable: frozenset[str]
) -> None:
    """Refuse to resume a checkpoint whose config differs in a key outside ``resumable``."""
    keys = sorted(set(saved) | set(current))
    changed = [k for k in keys if k not in resumable and saved.get(k) != current.get(k)]
    if changed:
        diff = "; ".join(f"{k}: {saved.get(k)!r} -> {current.get(k)!r}" for k in changed)
        raise ValueError(
            f"checkpoint {path} was made with another training config ({diff}); "
            f"delete it to start over"
        )
