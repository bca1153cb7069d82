"""Workflow configuration: loading, defaults and validation against the JSON schema.

The schema (``tdpr/schemas/config.schema.yaml``, linked from ``workflow/schemas/``) forbids
unknown keys at every level. Validation fills in defaults and fails with one short message that
names the offending key and its place (``data.shards.tran``), instead of a dump of the schema.
"""

from __future__ import annotations

import copy
import os
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from tdpr.registry import (
    ALL_CONVENTIONS,
    BASELINE,
    CONVENTIONS,
    DEGRADATIONS,
    MODELS,
    PHASE_SOURCES,
    TDCNN,
    models_of_kind,
)

SCHEMA_RESOURCE = "schemas/config.schema.yaml"


class ConfigError(ValueError):
    """The configuration does not satisfy the schema."""


def load_schema(path: str | os.PathLike | None = None) -> dict:
    """The config schema: from ``path``, or the copy shipped with the package."""
    if path is not None:
        return yaml.safe_load(Path(path).read_text())
    return yaml.safe_load(resources.files("tdpr").joinpath(SCHEMA_RESOURCE).read_text())


def _with_defaults(validator_class: type) -> type:
    """A validator class that writes each property's ``default`` into the instance first."""
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):  # noqa: ANN001
        if isinstance(instance, dict):
            for name, subschema in properties.items():
                if "default" in subschema and name not in instance:
                    instance[name] = copy.deepcopy(subschema["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


def _describe(error: jsonschema.ValidationError) -> str:
    where = ".".join(str(p) for p in error.absolute_path) or "<top level>"
    if error.validator == "additionalProperties":
        unknown = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        known = ", ".join(sorted(error.schema.get("properties", {})))
        return f"unknown config key(s) {unknown} in {where} (allowed: {known})"
    return f"config key {where}: {error.message}"


def validate_config(config: dict[str, Any], schema: dict | None = None) -> dict[str, Any]:
    """Fill defaults into ``config`` in place and check it; return it.

    Raises:
        ConfigError: naming the first offending key, e.g. ``unknown config key(s) ['bogus_key']``.
    """
    schema = load_schema() if schema is None else schema
    cls = _with_defaults(jsonschema.validators.validator_for(schema))
    errors = sorted(cls(schema).iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        raise ConfigError("; ".join(_describe(e) for e in errors[:3]))
    _check_consistency(config)
    return config


def _check_registered(config: dict[str, Any]) -> None:
    """Registry names in the config must be registered (the schema checks only their form)."""
    for section in ("testset", "train"):
        part = config.get(section)
        if isinstance(part, dict):
            part.setdefault("filters", list(DEGRADATIONS))  # default: every registered one
            unknown = [f for f in part["filters"] if f not in DEGRADATIONS]
            if unknown:
                raise ConfigError(
                    f"config key {section}.filters: unknown filter type(s) {unknown} "
                    f"(registered: {', '.join(DEGRADATIONS)})"
                )
    for name in config.get("metrics", {}).get("conventions", []):
        if name != ALL_CONVENTIONS and name not in CONVENTIONS:
            raise ConfigError(
                f"config key metrics.conventions: {name!r} is not a registered LSD convention "
                f"(registered: {', '.join(CONVENTIONS)}, or {ALL_CONVENTIONS})"
            )
    tdcnns = [name for name, entry in MODELS.items() if entry.kind == TDCNN]
    for name in config.get("models", {}):
        if name not in tdcnns:
            raise ConfigError(
                f"config key models.{name}: {name!r} is not a registered TD-CNN "
                f"(registered: {', '.join(tdcnns)})"
            )
    baselines = models_of_kind(BASELINE)
    for name in config.get("baselines", {}).get("names", []):
        if name not in baselines:
            raise ConfigError(
                f"config key baselines.names: {name!r} is not a registered baseline "
                f"(registered: {', '.join(baselines)})"
            )
    configured = list(config.get("models", {}))
    phase = config.get("phase_repair", {})
    for name in phase.get("oracle_models", []):
        if name not in tdcnns:
            raise ConfigError(
                f"config key phase_repair.oracle_models: {name!r} is not a registered TD-CNN "
                f"(registered: {', '.join(tdcnns)}; configured: {', '.join(configured)})"
            )
    if phase and (
        "vocoder" not in phase.get("sources", []) or "full" not in phase.get("bands", [])
    ):
        raise ConfigError(
            "config key phase_repair: sources must include 'vocoder' and bands 'full' (Table 1, "
            "Figs. 4-5 and the listening tests show TD-PR, the vocoder's phase in the full band)"
        )
    for key in ("sources", "study_sources"):
        for name in phase.get(key) or []:
            if name not in PHASE_SOURCES or PHASE_SOURCES[name].oracle:
                usable = [s for s, e in PHASE_SOURCES.items() if not e.oracle]
                raise ConfigError(
                    f"config key phase_repair.{key}: {name!r} is not a registered phase source "
                    f"that works without the ground truth ({', '.join(usable)}; the oracle is "
                    "phase_repair.oracle_models)"
                )


def _check_consistency(config: dict[str, Any]) -> None:
    """Rules the schema cannot express."""
    _check_registered(config)
    for section in ("testset", "train"):
        order = config.get(section, {}).get("order", {})
        if order and order["min"] > order["max"]:
            raise ConfigError(
                f"config key {section}.order: min {order['min']} > max {order['max']}"
            )
    cutoffs = config.get("testset", {}).get("cutoffs", [])
    report = config.get("report", {})
    for key, value in (
        ("report.figure_cutoff", report.get("figure_cutoff")),
        ("report.listening.cutoff", report.get("listening", {}).get("cutoff")),
    ):
        if value is not None and value not in cutoffs:
            raise ConfigError(f"config key {key}: {value} is not one of testset.cutoffs {cutoffs}")
    models = list(config.get("models", {}))
    ab_model = report.get("listening", {}).get("ab_model")
    if ab_model is not None and ab_model not in models:
        raise ConfigError(
            f"config key report.listening.ab_model: {ab_model!r} is not a configured model {models}"
        )


def check_keys(values: dict[str, Any], allowed: Any, section: str) -> None:
    """Raise :class:`ConfigError` naming every key of ``values`` that is not in ``allowed``."""
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        raise ConfigError(
            f"unknown {section} key(s) {unknown} (allowed: {', '.join(sorted(allowed))})"
        )


def load_config(path: str | os.PathLike, overrides: dict | None = None) -> dict[str, Any]:
    """Read a YAML config file, apply ``overrides`` (top-level merge) and validate it."""
    path = Path(path)
    try:
        config = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as err:
        raise ConfigError(f"cannot read config {path}: {err}") from err
    config.update(overrides or {})
    return validate_config(config)
