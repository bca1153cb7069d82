"""Training one configured model end to end: config, datasets, :func:`fit`, final model file.

The workflow config has a ``train`` section (:class:`TrainConfig`, keys 1:1) and a ``models``
section whose keys are registry names (= the ``{model}`` wildcard)::

    models:
      seanet: {arch: {}, train: {}}   # arch: constructor kwargs; train: overrides of `train`
    train: {epochs: 200, batch_size: 12, ...}

:func:`resolve_model_config` merges them for one model; :func:`train_model` (what the
``train_model`` rule and ``tdpr train`` call) trains it and writes the model file.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import soundfile as sf
import torch
import yaml

from tdpr.config import ConfigError, check_keys, load_config, load_schema
from tdpr.dsp.filters import FILTER_TYPES, MAX_ORDER
from tdpr.fsio import atomic_path
from tdpr.models import build_model, count_parameters, model_arguments
from tdpr.train.checkpoint import save_model
from tdpr.train.data import TrainCropDataset, ValidDataset, read_manifest
from tdpr.train.loop import HISTORY, fit
from tdpr.train.losses import TDCNNLoss

logger = logging.getLogger(__name__)

#: The models trained when a config has no ``models`` section: the paper-size TD-CNNs.
DEFAULT_MODELS: dict[str, dict] = {
    name: {"arch": {}, "train": {}} for name in ("seanet", "audiounet", "demucs")
}


def _fail(name: str, value: Any, need: str) -> None:
    raise ValueError(f"train.{name} must be {need}, got {value!r}")


@dataclass(frozen=True)
class TrainConfig:
    """Training settings (the ``train`` config section; reference spec A5).

    Attributes:
        epochs: passes over the training clips (one random crop of each clip per epoch).
        batch_size: crops per optimiser step.
        lr: Adam learning rate.
        crop_seconds: length of the training and validation crops.
        cutoff_range: low-pass cutoff drawn uniformly from this range (Hz).
        filters: filter types drawn uniformly.
        order: IIR order drawn uniformly from ``{"min": .., "max": ..}`` (inclusive).
        seed: seed of model init, data order, crops and degradations.
        valid_items: size of the fixed validation subset.
        wave_weight: weight of the multi-resolution wave loss.
        max_steps_per_epoch: cap on steps per epoch (quick configs); None = every clip once.
        bf16: bfloat16 autocast (CUDA only).
        compile: ``torch.compile`` the model (CUDA only).
    """

    epochs: int = 200
    batch_size: int = 12
    lr: float = 1.0e-4
    crop_seconds: float = 5.0
    cutoff_range: tuple[float, float] = (2500.0, 4000.0)
    filters: tuple[str, ...] = FILTER_TYPES
    order: dict[str, int] = field(default_factory=lambda: {"min": 6, "max": 10})
    seed: int = 0
    valid_items: int = 64
    wave_weight: float = 1000.0
    max_steps_per_epoch: int | None = None
    bf16: bool = False
    compile: bool = False

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "valid_items", "max_steps_per_epoch"):
            value = getattr(self, name)
            ok = isinstance(value, int) and not isinstance(value, bool) and value >= 1
            if not ok and not (value is None and name == "max_steps_per_epoch"):
                _fail(name, value, "a positive integer")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            _fail("seed", self.seed, "a non-negative integer")
        for name in ("lr", "crop_seconds", "wave_weight"):
            if not isinstance(getattr(self, name), int | float) or getattr(self, name) <= 0:
                _fail(name, getattr(self, name), "a positive number")
        for name in ("bf16", "compile"):
            if not isinstance(getattr(self, name), bool):
                _fail(name, getattr(self, name), "true or false")
        self._check_draws()

    def _check_draws(self) -> None:
        lo, hi = self.cutoff_range
        if not 0 < lo <= hi:
            _fail("cutoff_range", list(self.cutoff_range), "[low, high] with 0 < low <= high")
        if not self.filters or set(self.filters) - set(FILTER_TYPES):
            _fail("filters", list(self.filters), f"a non-empty list of {', '.join(FILTER_TYPES)}")
        if set(self.order) != {"min", "max"} or not 1 <= self.order["min"] <= self.order["max"]:
            _fail("order", self.order, "{min, max} with 1 <= min <= max")
        if self.order["max"] > MAX_ORDER:
            _fail("order", self.order, f"at most {MAX_ORDER}")

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> TrainConfig:
        """Build from a config section; missing keys take the defaults, unknown keys fail."""
        values = dict(values or {})
        check_keys(values, {f.name for f in dataclasses.fields(cls)}, "train")
        if "cutoff_range" in values:
            values["cutoff_range"] = tuple(float(v) for v in values["cutoff_range"])
            if len(values["cutoff_range"]) != 2:
                _fail("cutoff_range", values["cutoff_range"], "a pair [low, high]")
        if "filters" in values:
            values["filters"] = tuple(values["filters"])
        order = values.get("order") or {}
        if not isinstance(order, dict):
            _fail("order", order, "a mapping {min, max}")
        values["order"] = {**cls().order, **order}
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (lists, no tuples): the config section, as stored in checkpoints."""
        out = dataclasses.asdict(self)
        out["cutoff_range"], out["filters"] = list(self.cutoff_range), list(self.filters)
        return out

    @property
    def order_range(self) -> tuple[int, int]:
        return self.order["min"], self.order["max"]


def load_workflow_config(path: str | os.PathLike) -> dict[str, Any]:
    """Read a workflow config: validated by :func:`tdpr.config.load_config` once the schema
    has a ``models`` section, otherwise plain YAML (checked by :func:`resolve_model_config`)."""
    if "models" in load_schema().get("properties", {}):
        return load_config(path)
    try:
        return yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError) as err:
        raise ConfigError(f"cannot read config {path}: {err}") from err


def configured_models(config: dict[str, Any]) -> dict[str, dict]:
    """The ``models`` section of a config, or :data:`DEFAULT_MODELS` when it has none."""
    models = config.get("models")
    return DEFAULT_MODELS if models is None else models


def resolve_model_config(config: dict[str, Any], name: str) -> tuple[dict, dict]:
    """Constructor kwargs and merged training settings of model ``name``.

    ``train`` is overlaid with ``models.<name>.train`` (``order`` merged key by key) and checked
    by :class:`TrainConfig`; ``arch`` keys are checked against the model's constructor.

    Returns:
        ``(arch, train_cfg)``: plain dicts; ``train_cfg`` holds every :class:`TrainConfig` key.

    Raises:
        ValueError: the model is not configured or not registered, or a key is unknown.
    """
    models = configured_models(config)
    if name not in models:
        raise ValueError(f"model {name!r} is not configured (models: {', '.join(models)})")
    section = models[name] or {}
    unknown = sorted(set(section) - {"arch", "train"})
    if unknown:
        raise ValueError(f"unknown key(s) {unknown} in models.{name} (allowed: arch, train)")
    arch = dict(section.get("arch") or {})
    accepted = model_arguments(name)
    bad = sorted(set(arch) - set(accepted))
    if bad:
        raise ValueError(
            f"unknown arch key(s) {bad} for model {name!r} (allowed: {list(accepted)})"
        )
    base, override = dict(config.get("train") or {}), dict(section.get("train") or {})
    order = {**(base.get("order") or {}), **(override.get("order") or {})}
    merged = {**base, **override, **({"order": order} if order else {})}
    return arch, TrainConfig.from_dict(merged).to_dict()


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``device``, or CUDA when available and the CPU otherwise (logged)."""
    if device is not None:
        device = torch.device(device)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device {device} requested but no CUDA device is available")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    logger.info("no CUDA device: training on CPU")
    return torch.device("cpu")


def build_datasets(
    cfg: TrainConfig, train_manifest: str | os.PathLike, valid_manifest: str | os.PathLike
) -> tuple[TrainCropDataset, ValidDataset]:
    """The training and validation datasets of ``cfg`` from two clip manifests."""
    train_clips, valid_clips = read_manifest(train_manifest), read_manifest(valid_manifest)
    rate = sf.info(str(train_clips[0])).samplerate
    crop = int(round(cfg.crop_seconds * rate))
    draw = {
        "cutoff_range": cfg.cutoff_range,
        "filters": cfg.filters,
        "order_range": cfg.order_range,
    }
    train_set = TrainCropDataset(train_clips, crop, cfg.seed, **draw)
    valid_set = ValidDataset(valid_clips, crop, cfg.seed, cfg.valid_items, **draw)
    if valid_set.sample_rate != train_set.sample_rate:
        raise ValueError(
            f"training clips are at {train_set.sample_rate} Hz, "
            f"validation clips at {valid_set.sample_rate} Hz"
        )
    return train_set, valid_set


def train_model(
    name: str,
    arch: dict[str, Any],
    train_cfg: dict[str, Any],
    train_manifest: str | os.PathLike,
    valid_manifest: str | os.PathLike,
    model_out: str | os.PathLike,
    history_out: str | os.PathLike,
    work_dir: str | os.PathLike,
    device: str | torch.device | None = None,
    num_workers: int = 0,
) -> Path:
    """Train model ``name`` and write its model file and history CSV.

    Args:
        name: registry name (``seanet``, ``audiounet``, ``demucs``).
        arch: constructor kwargs (empty: paper size).
        train_cfg: training settings (:class:`TrainConfig` keys; missing ones take defaults).
        train_manifest, valid_manifest: clip manifests (CSV with ``clip_id, path``).
        model_out: the final model file (:func:`tdpr.train.checkpoint.save_model` format).
        history_out: where to copy ``history.csv`` (one row per epoch).
        work_dir: resumable state (checkpoint, history, TensorBoard events); kept apart from
            the outputs so that a failed job's outputs can be deleted without losing it.
        device: ``cuda``, ``cpu``, ...; None picks CUDA when available.
        num_workers: DataLoader worker processes.

    Returns:
        ``model_out`` as a Path.
    """
    cfg = TrainConfig.from_dict(train_cfg)
    device = resolve_device(device)
    train_set, valid_set = build_datasets(cfg, train_manifest, valid_manifest)
    torch.manual_seed(cfg.seed)
    model = build_model(name, **arch)
    logger.info(
        "train | %s: %s parameters, %d training clips, %d validation items, device %s",
        name,
        f"{count_parameters(model):,}",
        len(train_set),
        len(valid_set),
        device,
    )
    fit(model, TDCNNLoss(cfg.wave_weight), train_set, valid_set, cfg, work_dir, device, num_workers)
    save_model(model_out, name, arch, model, cfg.to_dict())
    with atomic_path(history_out) as tmp:
        shutil.copyfile(Path(work_dir) / HISTORY, tmp)
    logger.info("train | wrote %s and %s", model_out, history_out)
    return Path(model_out)
