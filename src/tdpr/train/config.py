"""Training settings: the ``train`` and ``vocoder.train`` sections, and the per-model merge.

The workflow config has a ``train`` section (:class:`TrainConfig`, keys 1:1) and a ``models``
section whose keys are registry names (= the ``{model}`` wildcard)::

    models:
      seanet: {arch: {}, train: {}}   # arch: constructor kwargs; train: overrides of `train`
    train: {epochs: 200, batch_size: 12, ...}

:func:`resolve_model_config` merges them for one model. Nothing here imports torch: the
workflow calls it while it parses, and ``arch`` keys are checked against each model's
constructor as read from its source (:func:`tdpr.registry.check_arch`).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import yaml

from tdpr.config import ConfigError, check_keys, load_config, load_schema
from tdpr.registry import (
    CUTOFF_RANGE_HZ,
    DEGRADATIONS,
    MAX_ORDER,
    ORDER_RANGE,
    TDCNN,
    check_arch,
    model_entry,
    models_of_kind,
)

#: The models trained when a config has no ``models`` section: the paper-size TD-CNNs.
DEFAULT_MODELS: dict[str, dict] = {
    name: {"arch": {}, "train": {}} for name in models_of_kind(TDCNN)
}


def _fail(name: str, value: Any, need: str) -> None:
    raise ValueError(f"train.{name} must be {need}, got {value!r}")


@dataclass(frozen=True)
class TrainConfig:
    """Training settings (the ``train`` config section; reference spec A5).

    Attributes:
        epochs: passes over the training clips (``crops_per_clip`` crops of each clip per
            epoch).
        batch_size: crops per optimiser step (the global batch: with N processes each takes
            ``batch_size / N`` of it).
        lr: Adam learning rate.
        crop_seconds: length of the training and validation crops.
        cutoff_range: low-pass cutoff drawn uniformly from this range (Hz).
        filters: filter types drawn uniformly.
        order: IIR order drawn uniformly from ``{"min": .., "max": ..}`` (inclusive).
        seed: seed of model init, data order, crops and degradations.
        valid_items: size of the fixed validation subset.
        wave_weight: weight of the multi-resolution wave loss.
        lsd_weight: weight of the log-spectral loss term (not in the paper; 0: off).
        max_steps_per_epoch: cap on steps per epoch (quick configs); None = every crop once.
        bf16: bfloat16 autocast of the model (CUDA and CPU; the loss stays in float32).
        compile: ``torch.compile`` the model (CUDA, or CPU with a C++ compiler).
        crops_per_clip: crops per clip and epoch. 1: one random crop of each clip (the reading
            of "an epoch" used so far); ``k > 1``: the clip is cut into ``k`` equal spans and
            each span gives one crop at a random offset inside it, so ``clip / crop`` covers
            every part of every clip once.
        pcm16_inputs: round the degraded inputs to 16-bit PCM steps, as the stored test inputs
            are (off: float32 inputs).
    """

    epochs: int = 200
    batch_size: int = 12
    lr: float = 1.0e-4
    crop_seconds: float = 5.0
    cutoff_range: tuple[float, float] = tuple(float(c) for c in CUTOFF_RANGE_HZ)
    filters: tuple[str, ...] = tuple(DEGRADATIONS)
    order: dict[str, int] = field(
        default_factory=lambda: {"min": ORDER_RANGE[0], "max": ORDER_RANGE[1]}
    )
    seed: int = 0
    valid_items: int = 64
    wave_weight: float = 1000.0
    lsd_weight: float = 0.0
    max_steps_per_epoch: int | None = None
    bf16: bool = False
    compile: bool = False
    crops_per_clip: int = 1
    pcm16_inputs: bool = True
    #: settings that may change between a checkpoint and its resumption
    resumable: ClassVar[frozenset[str]] = frozenset({"epochs", "bf16", "compile"})

    def __post_init__(self) -> None:
        positive = ("epochs", "batch_size", "valid_items", "max_steps_per_epoch", "crops_per_clip")
        for name in positive:
            value = getattr(self, name)
            ok = isinstance(value, int) and not isinstance(value, bool) and value >= 1
            if not ok and not (value is None and name == "max_steps_per_epoch"):
                _fail(name, value, "a positive integer")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            _fail("seed", self.seed, "a non-negative integer")
        for name in ("lr", "crop_seconds", "wave_weight"):
            if not isinstance(getattr(self, name), int | float) or getattr(self, name) <= 0:
                _fail(name, getattr(self, name), "a positive number")
        weight = self.lsd_weight
        if not isinstance(weight, int | float) or isinstance(weight, bool) or weight < 0:
            _fail("lsd_weight", weight, "a non-negative number")
        for name in ("bf16", "compile", "pcm16_inputs"):
            if not isinstance(getattr(self, name), bool):
                _fail(name, getattr(self, name), "true or false")
        self._check_draws()

    def _check_draws(self) -> None:
        lo, hi = self.cutoff_range
        if not 0 < lo <= hi:
            _fail("cutoff_range", list(self.cutoff_range), "[low, high] with 0 < low <= high")
        if not self.filters or set(self.filters) - set(DEGRADATIONS):
            _fail("filters", list(self.filters), f"a non-empty list of {', '.join(DEGRADATIONS)}")
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
    model_entry(name)
    check_arch(name, arch)
    base, override = dict(config.get("train") or {}), dict(section.get("train") or {})
    order = {**(base.get("order") or {}), **(override.get("order") or {})}
    merged = {**base, **override, **({"order": order} if order else {})}
    return arch, TrainConfig.from_dict(merged).to_dict()


@dataclass(frozen=True)
class VocoderConfig:
    """Training settings of the vocoder (the ``vocoder.train`` config section).

    Attributes:
        steps: total optimiser steps (paper: 1,000,000).
        batch_size: segments per step (16).
        segment_seconds: length of the random clean segments (1.0).
        lr: Adam learning rate of generator and discriminators (2e-4).
        betas: Adam betas (0.5, 0.9).
        adv_start_step: first step with adversarial terms (200,000).
        seed: seed of initialisation, data order and segments.
        valid_items: fixed validation segments.
    """

    steps: int = 1_000_000
    batch_size: int = 16
    segment_seconds: float = 1.0
    lr: float = 2.0e-4
    betas: tuple[float, float] = (0.5, 0.9)
    adv_start_step: int = 200_000
    seed: int = 0
    valid_items: int = 16
    #: settings that may change between a checkpoint and its resumption
    resumable: ClassVar[frozenset[str]] = frozenset({"steps"})

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> VocoderConfig:
        values = dict(values or {})
        check_keys(values, {f.name for f in dataclasses.fields(cls)}, "vocoder.train")
        if "betas" in values:
            values["betas"] = tuple(float(b) for b in values["betas"])
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["betas"] = list(self.betas)
        return out
