"""Config validation: registry names, the phase-repair section, the ranges defined once."""

from __future__ import annotations

from pathlib import Path

import pytest

from tdpr.config import ConfigError, load_config, validate_config

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", ["config/config.yaml", "config/demo.yaml", ".test/config.yaml"])
def test_the_shipped_configs_are_valid(name):
    config = load_config(ROOT / name)
    assert config["testset"]["order"] == {"min": 6, "max": 10}
    assert "vocoder" in config["phase_repair"]["sources"]


@pytest.mark.parametrize(
    ("config", "named"),
    [
        ({"testset": {"filters": ["butter", "chebby"]}}, "unknown filter type(s) ['chebby']"),
        ({"train": {"filters": ["Butter"]}}, "train.filters"),
        ({"models": {"wavenet": {}}}, "models.wavenet: 'wavenet' is not a registered TD-CNN"),
        ({"models": {"tfgan": {}}}, "'tfgan' is not a registered TD-CNN"),
        ({"phase_repair": {"sources": ["vocoder", "magic"]}}, "'magic' is not a registered"),
        ({"phase_repair": {"sources": ["vocoder", "gt"]}}, "oracle is phase_repair.oracle"),
        ({"phase_repair": {"sources": ["pghi"]}}, "must include 'vocoder'"),
        ({"phase_repair": {"bands": ["hf"]}}, "bands 'full'"),
        ({"phase_repair": {"oracle_models": ["wavenet"]}}, "oracle_models: 'wavenet'"),
        ({"testset": {"order": {"min": 4, "max": 30}}}, "testset.order.max"),
        ({"testset": {"cutoffs": [9000]}}, "testset.cutoffs"),
        ({"baselines": {"names": ["seanet"]}}, "baselines.names: 'seanet' is not a registered"),
        ({"baselines": {"phase_repair": "yes"}}, "baselines.phase_repair"),
        ({"models": {"noisefill": {}}}, "'noisefill' is not a registered TD-CNN"),
        ({"metrics": {"conventions": ["nuwave"]}}, "'nuwave' is not a registered LSD convention"),
        ({"metrics": {"conventions": []}}, "metrics.conventions"),
    ],
)
def test_bad_values_are_named(config, named):
    with pytest.raises(ConfigError) as err:
        validate_config(config)
    assert named in str(err.value)


def test_defaults_fill_the_registered_filters_and_the_paper_phase_systems():
    config = validate_config({})
    assert config["testset"]["filters"][:2] == ["butter", "cheby1"]
    assert len(config["train"]["filters"]) == 7
    assert config["phase_repair"]["sources"] == ["vocoder"]
    assert config["phase_repair"]["bands"] == ["full"]
    assert config["report"]["phase_bin"] % 4 != 0  # see the schema: a bin that shows the phase
