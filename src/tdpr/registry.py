"""Every registry of the project, in one light module: models, degradations, metrics, variants.

This module imports neither torch nor a plotting library, so the workflow can read names,
labels and settings while it parses (once per SLURM job) in a fraction of a second. Each entry
names the object that implements it as ``"module:attribute"``, imported only when it is used.

Adding something is one module plus one entry here:

* a **model** (a waveform-to-waveform ``nn.Module``): an entry of :data:`MODELS` with its label,
  colour and kind (``tdcnn`` models are trained, evaluated and tabulated; ``vocoder`` models
  serve phase repair; ``baseline`` systems need no learning, no checkpoint and know the input's
  cutoff: the bar a learned system must clear, see :mod:`tdpr.baselines`);
* a **degradation** (a low-pass of the test sets and of training): an entry of
  :data:`DEGRADATIONS` pointing at an object with ``design(cutoff_hz, order, fs)`` and
  ``apply(x, design, fs)`` (see :mod:`tdpr.dsp.filters`);
* a **metric**: an entry of :data:`METRICS` pointing at ``fn(ctx) -> (...)`` where ``ctx`` is a
  :class:`tdpr.metrics.context.MetricContext`;
* an **LSD convention** (how a paper computes LSD): an entry of :data:`CONVENTIONS`, data
  only; :mod:`tdpr.metrics.conventions` evaluates every entry by one code path;
* a **phase source** (what replaces a TD-CNN's phase): an entry of :data:`PHASE_SOURCES`
  pointing at ``fn(request) -> phase (..., F, N)`` where ``request`` is a
  :class:`tdpr.phase.repair.PhaseRequest`; it yields one system variant per band
  (:data:`BANDS`).

System keys name what was evaluated: ``input`` (the degraded input), ``reference`` (the clean
clip), ``<model>`` (a TD-CNN's output) and ``<model>_<variant>`` (a variant of it, e.g.
``seanet_tdpr``); :func:`split_system` reads them, :func:`system_label` turns them into the
labels of tables and figures (``SEANet+TD-PR``). Labels are never stored in data files.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import importlib.machinery
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

TDCNN, VOCODER, BASELINE = "tdcnn", "vocoder", "baseline"
LOWER, HIGHER = "lower", "higher"
#: model names become path components and the ``{model}`` wildcard
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]*$")
#: The training draw and the test-set defaults (the schema's defaults say the same; a test checks).
CUTOFF_RANGE_HZ = (2500, 4000)
ORDER_RANGE = (6, 10)
MAX_ORDER = 20  # beyond this the SOS designs lose accuracy and no experiment needs more


def resolve(target: str) -> Any:
    """Import ``"package.module:attribute"`` and return the attribute."""
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)


def _unknown(kind: str, name: str, known: Iterable[str]) -> ValueError:
    return ValueError(f"unknown {kind} {name!r}; registered: {', '.join(known)}")


# ---- models -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelEntry:
    """A registered model: display label, colour of its curves and bars, kind, class."""

    label: str
    colour: str
    kind: str
    target: str


MODELS: dict[str, ModelEntry] = {
    "seanet": ModelEntry("SEANet", "#0173b2", TDCNN, "tdpr.models.seanet:SEANet"),
    "audiounet": ModelEntry("AudioUNet", "#de8f05", TDCNN, "tdpr.models.audiounet:AudioUNet"),
    "demucs": ModelEntry("Demucs", "#029e73", TDCNN, "tdpr.models.demucs:Demucs"),
    "tfgan": ModelEntry("TFGAN", "#cc78bc", VOCODER, "tdpr.models.tfgan:TFGANGenerator"),
    "noisefill": ModelEntry(
        "Noise fill", "#949494", BASELINE, "tdpr.baselines.noisefill:NoiseFill"
    ),
    "replicate": ModelEntry(
        "Replication", "#ca9161", BASELINE, "tdpr.baselines.replicate:Replicate"
    ),
}


def model_entry(name: str) -> ModelEntry:
    """The entry of a registered model (ValueError naming the registered ones otherwise)."""
    if name not in MODELS:
        raise _unknown("model", name, MODELS)
    return MODELS[name]


def models_of_kind(kind: str) -> list[str]:
    """Registered model names of one kind, in registry order."""
    return [name for name, entry in MODELS.items() if entry.kind == kind]


def is_baseline(key: str) -> bool:
    """Whether a system key names a no-learning baseline or a variant of one."""
    model = key.partition("_")[0]
    return model in MODELS and MODELS[model].kind == BASELINE


def is_learned(key: str) -> bool:
    """Whether a system is a contender that learned: a TD-CNN or a realisable variant of one
    (not the input, a baseline, an oracle or the ground truth)."""
    model, variant = split_system(key)
    return model in MODELS and MODELS[model].kind == TDCNN and not VARIANTS[variant].oracle


def _source_file(module: str) -> str:
    """The source file of ``a.b.c``, found without importing ``a.b`` (which may need torch)."""
    top, *rest = module.split(".")
    locations = getattr(importlib.import_module(top), "__path__", None)
    spec = None
    for i in range(len(rest)):
        spec = importlib.machinery.PathFinder.find_spec(".".join([top, *rest[: i + 1]]), locations)
        if spec is None:
            break
        locations = spec.submodule_search_locations
    if spec is None or spec.origin is None:
        raise ValueError(f"module {module} not found")
    return spec.origin


@cache
def constructor_arguments(name: str) -> dict[str, bool]:
    """``{argument: has_default}`` of a model's constructor, read from its source.

    The source is parsed, not imported, so the workflow checks ``arch`` keys without loading
    torch. ``**kwargs`` in the signature shows up as the key ``"**"``.
    """
    module, _, cls_name = model_entry(name).target.partition(":")
    origin = _source_file(module)
    tree = ast.parse(Path(origin).read_text(), filename=origin)
    cls = next((n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls_name), None)
    init = cls and next(
        (n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"), None
    )
    if init is None:
        raise ValueError(f"model {name!r}: no {cls_name}.__init__ in {origin}")
    args = init.args
    positional = args.posonlyargs + args.args
    n_required = len(positional) - len(args.defaults)
    out = {a.arg: i >= n_required for i, a in enumerate(positional)}
    out.pop(positional[0].arg, None)  # self
    keyword = zip(args.kwonlyargs, args.kw_defaults, strict=True)
    out.update({a.arg: d is not None for a, d in keyword})
    if args.kwarg is not None:
        out["**"] = True
    return out


def check_arch(name: str, arch: Mapping[str, Any]) -> None:
    """Raise ValueError naming ``arch`` keys that the model's constructor does not take."""
    accepted = constructor_arguments(name)
    bad = sorted(set(arch) - set(accepted))
    if bad and "**" not in accepted:
        raise ValueError(
            f"unknown arch key(s) {bad} for model {name!r} (allowed: {list(accepted)})"
        )


# ---- degradations -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DegradationEntry:
    """A registered low-pass degradation; ``has_order``: it takes an order (the IIR designs)."""

    has_order: bool
    target: str


DEGRADATIONS: dict[str, DegradationEntry] = {
    "butter": DegradationEntry(True, "tdpr.dsp.filters:BUTTER"),
    "cheby1": DegradationEntry(True, "tdpr.dsp.filters:CHEBY1"),
    "cheby2": DegradationEntry(True, "tdpr.dsp.filters:CHEBY2"),
    "ellip": DegradationEntry(True, "tdpr.dsp.filters:ELLIP"),
    "bessel": DegradationEntry(True, "tdpr.dsp.filters:BESSEL"),
    "subsampling": DegradationEntry(False, "tdpr.dsp.filters:SUBSAMPLING"),
    "stft": DegradationEntry(False, "tdpr.dsp.filters:STFT_CUT"),
}


def degradation_entry(name: str) -> DegradationEntry:
    if name not in DEGRADATIONS:
        raise ValueError(f"unknown filter type {name!r}; valid types: {', '.join(DEGRADATIONS)}")
    return DEGRADATIONS[name]


# ---- metrics ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MetricEntry:
    """A registered metric: column title, decimals shown, which direction is better.

    ``band``: needs the degradation's cutoff (computed only when one is known). ``optional``:
    computed only when asked for (slow, or needs an extra package). ``recorded``: read from
    what a stage recorded with the estimate (not computable from two waveforms alone).
    """

    title: str
    decimals: int
    better: str
    target: str
    band: bool = False
    optional: bool = False
    recorded: bool = False


METRICS: dict[str, MetricEntry] = {
    "lsd": MetricEntry("LSD", 2, LOWER, "tdpr.metrics.spectral:lsd_metric"),
    "lsd_hf": MetricEntry("LSD-HF", 2, LOWER, "tdpr.metrics.spectral:lsd_hf_metric", band=True),
    "lsd_lf": MetricEntry("LSD-LF", 2, LOWER, "tdpr.metrics.spectral:lsd_lf_metric", band=True),
    "si_sdr": MetricEntry("SI-SDR (dB)", 1, HIGHER, "tdpr.metrics.spectral:si_sdr_metric"),
    "phase_ip_hf": MetricEntry(
        "IP-HF (rad)", 3, LOWER, "tdpr.metrics.phase:ip_hf_metric", band=True
    ),
    "phase_gd_hf": MetricEntry(
        "GD-HF (rad)", 3, LOWER, "tdpr.metrics.phase:gd_hf_metric", band=True
    ),
    "phase_if_hf": MetricEntry(
        "IF-HF (rad)", 3, LOWER, "tdpr.metrics.phase:if_hf_metric", band=True
    ),
    "visqol": MetricEntry("ViSQOL", 2, HIGHER, "tdpr.metrics.visqol:visqol_metric", optional=True),
    "lsd_apbwe": MetricEntry("LSD 2048/512", 2, LOWER, "tdpr.metrics.apbwe:lsd_metric"),
    "apd_ip": MetricEntry("APD-IP (rad)", 3, LOWER, "tdpr.metrics.apbwe:apd_ip_metric"),
    "apd_iaf": MetricEntry("APD-IAF (rad)", 3, LOWER, "tdpr.metrics.apbwe:apd_iaf_metric"),
    "apd_gd": MetricEntry("APD-GD (rad)", 3, LOWER, "tdpr.metrics.apbwe:apd_gd_metric"),
    "ifd_w1_hf": MetricEntry(
        "IFD-W1-HF (rad)", 3, LOWER, "tdpr.metrics.plausibility:ifd_w1_metric", band=True
    ),
    "consistency": MetricEntry(
        "Consistency (dB)",
        1,
        LOWER,
        "tdpr.metrics.plausibility:consistency_metric",
        recorded=True,
    ),
}
#: The metrics of phase: the phase-metrics figure and the phase-source study show these.
PHASE_METRICS = ("apd_ip", "apd_iaf", "apd_gd", "ifd_w1_hf", "consistency", "phase_if_hf")


def metric_names(with_cutoff: bool = True, optional: Iterable[str] = ()) -> list[str]:
    """Metrics computed by default (band metrics only ``with_cutoff``) plus ``optional`` ones."""
    optional = set(optional)
    return [
        name
        for name, m in METRICS.items()
        if (with_cutoff or not m.band) and (not m.optional or name in optional)
    ]


# ---- LSD conventions --------------------------------------------------------------------------

#: Choices of the fields of :class:`LSDConvention` (the first is the default).
CONVENTION_CHOICES = {
    "window": ("hann", "kbd"),
    "pad_mode": ("constant", "reflect"),
    "quantity": ("power", "magnitude"),
    "floor_mode": ("clamp", "additive", "ratio"),
    "average": ("frames", "bins"),
    "split": (None, "cutoff", "nuwave2"),
    "file_mean": ("mean", "nonzero"),
}
#: Convention names: lower case, digits and ``_`` (``ssr_eval``); a convention's per-file values
#: are stored as metrics ``<metric>@<name>`` (``lsd@apbwe``, ``lsd_hf@apbwe``).
CONVENTION_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
CONVENTION_SEP = "@"
ALL_CONVENTIONS = "all"


@dataclass(frozen=True)
class LSDConvention:
    """How one paper or toolkit computes the log-spectral distance (LSD), as data.

    Every entry is evaluated by the one code path of :mod:`tdpr.metrics.conventions`:

    * STFT of ``n_fft`` points, hop ``hop``; where ``rate`` is set, both are given at that rate
      and a signal at ``sr`` gets ``floor(n·sr/rate)`` (ssr_eval). Window ``"hann"`` (periodic)
      or ``"kbd"`` (Kaiser-Bessel-derived, Kaiser β ``window_beta``), as long as ``n_fft``.
      ``center``: frames centred on ``t·hop`` with ``pad_mode`` padding.
    * Per bin ``factor·log_base(·)`` of ``quantity`` P (``"power"`` |X|², ``"magnitude"`` |X|),
      with ``floor`` applied as ``floor_mode``: ``"clamp"`` max(P, floor) and ``"additive"``
      P + floor on each signal; ``"ratio"`` inside the ratio, ``P_ref / (|E| + floor)^p + floor``
      (p = 2 for power), so a band the estimate lacks is not floored.
    * ``average``: ``"frames"`` the RMS over bins per frame, then the mean over frames;
      ``"bins"`` the RMS over frames per bin, then the mean over bins.
    * ``split`` (LSD-HF, LSD-LF): ``None``; ``"cutoff"`` first high bin int(cutoff·n_fft/sr);
      ``"nuwave2"`` int(n_bins·(2·cutoff/sr)), NU-Wave 2's int(1025·sr_low/sr_high).
    * ``file_mean``: over files, ``"mean"``, or ``"nonzero"`` (files scoring exactly 0 left out).

    ``notes``: quirks of the peer's own code, and which of them the entry follows.
    """

    title: str
    citation: str
    n_fft: int
    hop: int
    rate: int | None = None
    window: str = "hann"
    window_beta: float | None = None
    center: bool = True
    pad_mode: str = "constant"
    quantity: str = "power"
    log_base: float = 10.0
    factor: float = 1.0
    floor: float = 1e-8
    floor_mode: str = "clamp"
    average: str = "frames"
    split: str | None = None
    file_mean: str = "mean"
    notes: str = ""

    def __post_init__(self) -> None:
        for name, allowed in CONVENTION_CHOICES.items():
            if getattr(self, name) not in allowed:
                raise ValueError(
                    f"LSD convention {self.title!r}: {name} {getattr(self, name)!r} is not one "
                    f"of {', '.join(map(str, allowed))}"
                )
        if not (isinstance(self.n_fft, int) and isinstance(self.hop, int)):
            raise ValueError(f"LSD convention {self.title!r}: n_fft and hop must be integers")
        if self.n_fft < 2 or self.hop < 1:
            raise ValueError(
                f"LSD convention {self.title!r}: need n_fft >= 2 and hop >= 1, got "
                f"{self.n_fft} and {self.hop}"
            )
        if (self.window == "kbd") != (self.window_beta is not None):
            raise ValueError(f"LSD convention {self.title!r}: window_beta goes with window kbd")
        if self.window == "kbd" and self.n_fft % 2:
            raise ValueError(f"LSD convention {self.title!r}: a KBD window needs an even n_fft")
        if self.rate is not None and self.rate <= 0:
            raise ValueError(f"LSD convention {self.title!r}: rate must be positive")
        if not (self.floor > 0 and self.factor > 0 and self.log_base > 1):
            raise ValueError(
                f"LSD convention {self.title!r}: need floor > 0, factor > 0 and log_base > 1"
            )

    def sizes(self, sample_rate: int) -> tuple[int, int]:
        """``(n_fft, hop)`` at ``sample_rate`` (ValueError where they do not make an STFT)."""
        if self.rate is None:
            return self.n_fft, self.hop
        # exact integer floor: ssr_eval's int(2048 / (44100 / sr)) and int(sr / 100)
        n_fft, hop = (n * int(sample_rate) // self.rate for n in (self.n_fft, self.hop))
        if n_fft < 2 or hop < 1:
            raise ValueError(
                f"LSD convention {self.title!r} gives n_fft {n_fft} and hop {hop} at "
                f"{sample_rate} Hz: too low a rate"
            )
        return n_fft, hop

    def parameters(self, sample_rate: int | None = None) -> dict[str, Any]:
        """The entry as plain values (JSON, CSV, table captions); sizes at ``sample_rate``."""
        out = dataclasses.asdict(self)
        text = {k: out.pop(k) for k in ("citation", "notes")}
        if sample_rate is not None:
            out["n_fft"], out["hop"] = self.sizes(sample_rate)
            out["sample_rate"] = int(sample_rate)
        return {**out, **text}

    def summary(self, sample_rate: int | None = None) -> str:
        """One line for tables and listings; the STFT sizes at ``sample_rate`` where given."""
        if sample_rate is None and self.rate is not None:
            sizes = f"{self.n_fft}/{self.hop} per {self.rate} Hz"
        else:
            sizes = "{}/{}".format(*self.sizes(sample_rate or 0))
        window = "Hann" if self.window == "hann" else f"KBD β={self.window_beta / math.pi:g}π"
        pad = "zero" if self.pad_mode == "constant" else self.pad_mode
        frames = f"centred, {pad} pad" if self.center else "not centred"
        log = {10.0: "log10", math.e: "ln"}.get(self.log_base, f"log{self.log_base:g}")
        log = log if self.factor == 1 else f"{self.factor:g}·{log}"
        value = f"{self.floor:g}".replace("e-0", "e-")  # 1e-8, not 1e-08
        floor = {
            "clamp": f"clamped at {value}",
            "additive": f"+ {value}",
            "ratio": f"ε {value} inside the ratio",
        }[self.floor_mode]
        order = "bins, mean over frames" if self.average == "frames" else "frames, mean over bins"
        split = {
            None: "",
            "cutoff": "; HF/LF at int(cutoff·n_fft/sr)",
            "nuwave2": "; HF/LF at int(bins·2·cutoff/sr)",
        }[self.split]
        files = "; files at exactly 0 left out of the mean" if self.file_mean == "nonzero" else ""
        return (
            f"STFT {sizes} ({window}, {frames}); {log} of {self.quantity} {floor}; "
            f"RMS over {order}{split}{files}"
        )


_ZERO_BAND = "a band the estimate lacks is not floored, so it scores far higher than a clamp"
CONVENTIONS: dict[str, LSDConvention] = {
    "tdpr": LSDConvention(
        "tdpr",
        "Zhang, Kolkman & Watanabe, Phase repair for time-domain CNNs in music super-resolution,"
        " Eq. 5 (reference spec A3); tdpr.metrics",
        1024,
        256,
        split="cutoff",
        notes="the paper's convention and this project's default lsd, lsd_hf and lsd_lf",
    ),
    "db": LSDConvention(
        "dB",
        "Gray & Markel, Distance measures for speech processing, IEEE TASSP 24(5), 1976: "
        "the RMS log-spectral distance in dB, on the paper's STFT",
        1024,
        256,
        factor=10.0,
        split="cutoff",
        notes="10·log10 of power: exactly 10 times tdpr",
    ),
    "apbwe": LSDConvention(
        "AP-BWE",
        "Lu et al., AP-BWE, IEEE/ACM TASLP 2024 (yxlu-0102/AP-BWE cal_metrics.py cal_lsd); "
        "the same formula: Han & Lee, NU-Wave 2, Interspeech 2022 (maum-ai/nuwave2 for_test.py "
        "cal_lsd, with LSD-HF/LF); Mandel et al., AERO, ICASSP 2023 (slp-rl/aero get_lsd)",
        2048,
        512,
        pad_mode="reflect",
        split="nuwave2",
        notes="torch.stft defaults (centred, reflect). Inputs are (channels, T) as the peers "
        "load them: given a 1-D tensor their code averages over frames first (average 'bins'). "
        "LSD-HF/LF are NU-Wave 2's; AP-BWE and AERO report the whole band only",
    ),
    "aero": LSDConvention(
        "AERO",
        "Mandel, Tal & Adi, AERO: audio super resolution in the spectral domain, ICASSP 2023 "
        "(slp-rl/aero src/metrics.py get_lsd, src/evaluate.py)",
        2048,
        512,
        pad_mode="reflect",
        file_mean="nonzero",
        notes="apbwe's formula; AERO's evaluation leaves files whose LSD is exactly 0 out of "
        "its mean, and so does this entry",
    ),
    "ssr_eval": LSDConvention(
        "ssr_eval",
        "Liu et al., Neural vocoder is all you need for speech super-resolution (NVSR), "
        "Interspeech 2022: ssr_eval 0.0.7 metrics.py AudioMetrics.lsd, also used by AudioSR "
        "(Liu et al., ICASSP 2024)",
        2048,
        441,
        rate=44100,
        quantity="power",
        floor=1e-12,
        floor_mode="ratio",
        notes=f"librosa.stft magnitude, centred with librosa's default zero padding (older "
        f"librosa reflected); epsilon 1e-12 on the estimate's magnitude and inside the ratio: "
        f"{_ZERO_BAND}. 743/160 at 16 kHz",
    ),
    "mdctgan": LSDConvention(
        "mdctGAN",
        "Shuai et al., mdctGAN: taming transformer-based GAN for speech super-resolution with "
        "modified DCT spectra, Interspeech 2023 (neoncloud/mdctGAN util/util.py compute_matrics)",
        1024,
        512,
        window="kbd",
        window_beta=12 * math.pi,
        pad_mode="reflect",
        floor=1e-6,
        floor_mode="additive",
        notes="torchaudio's spectrogram at twice its options' n_fft 512 and hop_length 256, "
        "centred with reflect padding as its shipped scripts ask (--center; the argparse default "
        "is False); additive 1e-6 on power",
    ),
}


def convention_entry(name: str) -> LSDConvention:
    """The entry of a registered LSD convention (ValueError naming the registered ones)."""
    if name not in CONVENTIONS:
        raise _unknown("LSD convention", name, [*CONVENTIONS, ALL_CONVENTIONS])
    return CONVENTIONS[name]


def convention_names(names: Iterable[str] = (ALL_CONVENTIONS,)) -> list[str]:
    """Registered conventions named by ``names`` (``all``: every one), registry order, once."""
    names = list(names)
    for name in names:
        if name != ALL_CONVENTIONS:
            convention_entry(name)
    return [n for n in CONVENTIONS if ALL_CONVENTIONS in names or n in names]


def convention_metric(metric: str, convention: str) -> str:
    """Name of a convention's metric in the tidy tables: ``("lsd", "apbwe")`` -> ``lsd@apbwe``."""
    return f"{metric}{CONVENTION_SEP}{convention}"


# ---- systems and their variants ---------------------------------------------------------------


@dataclass(frozen=True)
class PhaseSource:
    """A registered phase source: label, function, what it needs, how its curves look.

    ``needs``: ``"vocoder"`` (a trained vocoder) and/or ``"reference"`` (the clean clip: an
    oracle, never "best" in a table). ``shade``: lightness factor of the model's colour.
    """

    label: str
    target: str
    needs: tuple[str, ...] = ()
    shade: float = 1.0
    linestyle: str = "-"

    @property
    def oracle(self) -> bool:
        return "reference" in self.needs


PHASE_SOURCES: dict[str, PhaseSource] = {
    "vocoder": PhaseSource("TD-PR", "tdpr.phase.sources:vocoder_phase", ("vocoder",), 0.6, "--"),
    "gt": PhaseSource("GT-phase", "tdpr.phase.sources:reference_phase", ("reference",), 1.45, ":"),
    "griffinlim": PhaseSource("GLA", "tdpr.phase.griffinlim:griffinlim_source", (), 0.8, "-."),
    "pghi": PhaseSource("PGHI", "tdpr.phase.pghi:pghi_source", (), 1.2, "-."),
    "random": PhaseSource("random phase", "tdpr.phase.sources:random_phase", (), 1.0, ":"),
}
#: ``full``: the whole band takes the new phase (the paper); ``hf``: only bins at and above the
#: cutoff do, the band below keeps the TD-CNN output's own (there, nearly the input's) phase.
BANDS = {"full": "", "hf": " (HF)"}


@dataclass(frozen=True)
class Variant:
    """What is done to a TD-CNN's output: nothing, or its phase replaced by ``phase`` in ``band``;
    and, where ``keep_band``, the given band put back (the input below the cutoff, the output
    above it: :func:`tdpr.dsp.crossover.keep_band`) after the variant ``base``.

    ``stage``: the results folder of its outputs; ``oracle``: uses the ground truth (never
    "best" in a table); ``shade``: lightness factor of its colour; ``linestyle``: of its curves.
    """

    suffix: str
    stage: str
    phase: str | None = None
    band: str | None = None
    oracle: bool = False
    shade: float = 1.0
    linestyle: str = "-"
    keep_band: bool = False
    base: str | None = None


PLAIN = "plain"
#: Suffix of the variants that put the given band back (``kb``, ``tdpr_kb``, ``vocoder_hf_kb``).
KEEP_BAND = "kb"


def keep_band_key(base: str) -> str:
    """``"plain"`` -> ``"kb"``, ``"vocoder_hf"`` -> ``"vocoder_hf_kb"``."""
    if base not in VARIANTS or VARIANTS[base].keep_band or VARIANTS[base].oracle:
        raise ValueError(
            f"no keep-band variant of {base!r}: give plain or a phase variant that is not an "
            f"oracle ({', '.join(k for k, v in VARIANTS.items() if not (v.keep_band or v.oracle))})"
        )
    return _kept_key(base)


def _kept_key(base: str) -> str:
    return KEEP_BAND if base == PLAIN else f"{base}_{KEEP_BAND}"


#: The paper's two variants keep their short keys.
_NAMED = {("vocoder", "full"): "tdpr", ("gt", "full"): "gtphase"}


def variant_key(phase: str, band: str) -> str:
    """``("vocoder", "full")`` -> ``tdpr``, ``("gt", "full")`` -> ``gtphase``, else
    ``<phase>_<band>`` (``griffinlim_hf``)."""
    if phase not in PHASE_SOURCES:
        raise _unknown("phase source", phase, PHASE_SOURCES)
    if band not in BANDS:
        raise _unknown("band", band, BANDS)
    return _NAMED.get((phase, band), f"{phase}_{band}")


def _variants() -> dict[str, Variant]:
    out = {PLAIN: Variant("", "enhanced")}
    for band in BANDS:
        for name, source in PHASE_SOURCES.items():
            key = variant_key(name, band)
            shade = source.shade * (1.0 if band == "full" else 0.85)
            suffix = f"+{source.label}{BANDS[band]}"
            out[key] = Variant(
                suffix, f"phase/{key}", name, band, source.oracle, shade, source.linestyle
            )
    for key, variant in list(out.items()):
        if not variant.oracle:
            out[_kept_key(key)] = dataclasses.replace(
                variant,
                suffix=f"{variant.suffix}+band kept",
                stage=f"keepband/{key}",
                shade=variant.shade * 0.8,
                keep_band=True,
                base=key,
            )
    return out


VARIANTS: dict[str, Variant] = _variants()
INPUT, REFERENCE = "input", "reference"
#: labels and colours of the two systems that are not a model's
FIXED_SYSTEMS = {INPUT: ("Input", "#7f7f7f"), REFERENCE: ("Ground truth", "#000000")}


def system_key(model: str, variant: str = PLAIN) -> str:
    """``("seanet", "tdpr")`` -> ``"seanet_tdpr"``; ``("seanet", "plain")`` -> ``"seanet"``."""
    return model if variant == PLAIN else f"{model}_{variant}"


def split_system(key: str) -> tuple[str, str]:
    """``"seanet_tdpr"`` -> ``("seanet", "tdpr")``; ``"input"`` -> ``("input", "plain")``."""
    model, _, variant = key.partition("_")
    variant = variant or PLAIN
    if model not in FIXED_SYSTEMS and model not in MODELS:
        raise _unknown("model", model, MODELS)
    # The reference may take a phase variant: its own magnitude with another phase (the study).
    fixed = model == INPUT or (model == REFERENCE and VARIANTS.get(variant, PLAIN) == PLAIN)
    if variant not in VARIANTS or (fixed and variant != PLAIN):
        raise ValueError(f"unknown system {key!r}: variant {variant!r} not in {list(VARIANTS)}")
    return model, variant


def system_label(key: str) -> str:
    """Display label of a system key: ``seanet_tdpr`` -> ``SEANet+TD-PR``, ``input`` -> Input."""
    model, variant = split_system(key)
    base = FIXED_SYSTEMS[model][0] if model in FIXED_SYSTEMS else MODELS[model].label
    return base + VARIANTS[variant].suffix


def system_from_label(label: str) -> str | None:
    """The system key whose display label is ``label`` (``SEANet+TD-PR`` -> ``seanet_tdpr``)."""
    keys = [*FIXED_SYSTEMS, *(system_key(m, v) for m in MODELS for v in VARIANTS)]
    return next((key for key in keys if system_label(key) == label), None)


def is_oracle(key: str) -> bool:
    """Whether a system uses the ground truth (an upper bound, not a contender)."""
    return VARIANTS[split_system(key)[1]].oracle


def system_sort_key(key: str, models: Iterable[str] = ()) -> tuple[int, int, int]:
    """Order of rows and panels: Input, the baselines, then per model its variants in registry
    order, then Ground truth. ``models`` (e.g. the config's order) comes first, then registry
    order."""
    model, variant = split_system(key)
    if model == INPUT:
        return (0, 0, 0)
    if model == REFERENCE:
        return (3, 0, list(VARIANTS).index(variant))
    order = list(dict.fromkeys([*models, *MODELS]))
    group = 1 if MODELS[model].kind == BASELINE else 2
    return (group, order.index(model), list(VARIANTS).index(variant))


def order_systems(keys: Iterable[str], models: Iterable[str] = ()) -> list[str]:
    """Distinct system keys sorted by :func:`system_sort_key`."""
    models = list(models)
    return sorted(dict.fromkeys(keys), key=lambda k: system_sort_key(k, models))


def phase_variants(sources: Iterable[str], bands: Iterable[str]) -> list[str]:
    """Variant keys of every configured phase source in every configured band."""
    return [variant_key(s, b) for b in bands for s in sources]
