"""The registries: every entry resolves, names and labels round-trip, and nothing heavy loads."""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest

from tdpr import registry
from tdpr.config import load_schema
from tdpr.models import model_arguments


@pytest.mark.parametrize(
    "name", [n for n, e in registry.MODELS.items() if e.kind != registry.BASELINE]
)
def test_arch_check_reads_the_constructor_signature_without_importing(name):
    parsed = registry.constructor_arguments(name)
    inspected = model_arguments(name)
    assert set(parsed) - {"**"} == set(inspected)
    for arg, has_default in parsed.items():
        if arg != "**":
            assert has_default == (inspected[arg] is not inspect.Parameter.empty), arg


def test_every_entry_resolves_to_what_it_promises():
    for entry in registry.MODELS.values():
        assert isinstance(registry.resolve(entry.target), type)
    for entry in registry.DEGRADATIONS.values():
        impl = registry.resolve(entry.target)
        assert all(callable(getattr(impl, f)) for f in ("design", "min_length", "apply"))
    for entry in registry.METRICS.values():
        assert callable(registry.resolve(entry.target))
        assert entry.better in (registry.LOWER, registry.HIGHER) and entry.decimals >= 0


def test_system_keys_labels_and_order():
    assert registry.split_system("seanet_tdpr") == ("seanet", "tdpr")
    assert registry.split_system("input") == ("input", "plain")
    assert registry.system_label("seanet_gtphase") == "SEANet+GT-phase"
    assert registry.system_label("reference") == "Ground truth"
    assert registry.system_from_label("Demucs+TD-PR") == "demucs_tdpr"
    assert registry.is_oracle("seanet_gtphase") and not registry.is_oracle("seanet_tdpr")
    keys = ["reference", "seanet_gtphase", "demucs", "seanet", "input", "seanet_tdpr"]
    assert registry.order_systems(keys, ["seanet", "demucs"]) == [
        "input", "seanet", "seanet_tdpr", "seanet_gtphase", "demucs", "reference",
    ]  # fmt: skip
    for bad, named in (("wavenet", "unknown model 'wavenet'"), ("seanet_x", "variant 'x'")):
        with pytest.raises(ValueError, match=named):
            registry.split_system(bad)
    with pytest.raises(ValueError, match="variant"):
        registry.split_system("input_tdpr")


def test_schema_defaults_are_the_registry_ranges():
    defs = load_schema()["$defs"]
    order = defs["order"]["properties"]
    assert (order["min"]["default"], order["max"]["default"]) == registry.ORDER_RANGE
    train = load_schema()["properties"]["train"]["properties"]
    assert tuple(train["cutoff_range"]["default"]) == registry.CUTOFF_RANGE_HZ
    assert defs["order_value"]["maximum"] == registry.MAX_ORDER
    assert registry.NAME_PATTERN.pattern == defs["name"]["pattern"]


def test_the_registry_module_imports_neither_torch_nor_plotting():
    code = (
        "import sys, tdpr.registry, tdpr.config, tdpr.train.config\n"
        "tdpr.registry.check_arch('seanet', {'base_channels': 4})\n"
        "heavy = {'torch', 'matplotlib', 'seaborn', 'librosa', 'pandas'} & set(sys.modules)\n"
        "print(sorted(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_keep_band_variants_twin_every_variant_but_the_oracles():
    """Each non-oracle variant has a keep-band twin with its own stage and label; oracles and
    twins have none (a twin of a twin would be the twin)."""
    from tdpr.registry import KEEP_BAND, VARIANTS, keep_band_key, split_system, system_label

    bases = [k for k, v in VARIANTS.items() if not (v.keep_band or v.oracle)]
    twins = [k for k, v in VARIANTS.items() if v.keep_band]
    assert len(twins) == len(bases) and "plain" in bases and "gtphase" not in bases
    for base in bases:
        twin = VARIANTS[keep_band_key(base)]
        assert twin.keep_band and twin.base == base and not twin.oracle
        assert twin.stage == f"keepband/{base}" and twin.phase == VARIANTS[base].phase
    assert keep_band_key("plain") == KEEP_BAND and keep_band_key("tdpr") == "tdpr_kb"
    assert split_system("seanet_vocoder_hf_kb") == ("seanet", "vocoder_hf_kb")
    assert system_label("seanet_kb") == "SEANet+band kept"
    assert system_label("seanet_vocoder_hf_kb") == "SEANet+TD-PR (HF)+band kept"
    for wrong in ("gtphase", "tdpr_kb", "nonsense"):
        with pytest.raises(ValueError, match="no keep-band variant"):
            keep_band_key(wrong)
