"""Listening-test kit (Secs. 4.2-4.3 of the paper): pieces, loudness-matched excerpts, webMUSHRA.

:func:`choose_pieces` draws the test pieces, one recording per composer as far as possible; the
first is the practice trial. :func:`export_listening_test` cuts the same excerpt (``offset_s``,
``duration_s``) of every system, matches loudness and writes the ``configs/`` folder of a
webMUSHRA root::

    out_dir/configs/tdpr_ab.yaml                  # AB: TD-CNN vs TD-CNN with ground-truth phase
    out_dir/configs/tdpr_mos_<model>.yaml         # MOS per TD-CNN: input, baselines, TD-CNN,
                                                  # TD-PR, reference
    out_dir/configs/resources/audio/tdpr/<piece>/<code>.wav
    out_dir/pieces.csv, out_dir/excerpts.csv      # what was chosen, which file is which system

``tdpr listen out_dir --webmushra DIR`` serves them (see :mod:`tdpr.report.webmushra`).

Page types. webMUSHRA has no preference page. Its ``paired_comparison`` pages play an open
reference and score whether the listener finds the hidden copy of it among A and B
(``correct``/``incorrect``): a discrimination test, and the open reference would give the answer
away. So each AB trial is a ``likert_single_stimulus`` page whose one stimulus is the pair played
in sequence (A, one second of silence, B; replayable), and whose forced choice has two answers
whose *values are the condition keys* in that page's order (``A (first)`` -> ``gtphase`` when
the GT-phase version plays first). webMUSHRA's ``lss.csv`` thus records the preferred system
itself, and the stimulus key (``gtphase_tdcnn``) records the order; which system plays first is
counterbalanced over the pieces (seeded). The MOS test (Sec. 4.3) uses
``likert_multi_stimulus`` pages (1-5, labels of ITU-T P.800; webMUSHRA shuffles the
versions on each page) with the reference playable from the page text, as the paper asks
listeners to rate similarity to the reference; the reference is also rated as a hidden
condition, and so is each no-learning baseline asked for (condition key: its registry name,
``noisefill``), a low anchor that tells whether listeners hear more in a TD-CNN than a noise
floor. Condition keys are those :mod:`tdpr.report.ratings` reads back.

Each test starts with instructions and a level-and-channel check (one excerpt, "do you hear it
in both ears?"). That check is also the session's first trial, which webMUSHRA's
``service/write.php`` needs on PHP 8: it calls ``count()`` on the first trial's rating, which
fails unless that trial is a ``likert_single_stimulus`` one (the CSVs of the pages before that
line are written, but the listener is told the upload failed). There is no volume page: its
gain applies to webMUSHRA's player but not to the reference's ``<audio>`` element, which would
then differ in level from the rated versions; listeners set the level on their own device. The
practice trial comes first; the other trials follow in random order (a webMUSHRA ``random``
block).

Audio. Files are 16-bit PCM WAV, 48 kHz (the rate of webMUSHRA's own examples and of most
devices; resampled here with a polyphase filter instead of by the browser) and stereo:
webMUSHRA sets its output to discrete channel interpretation, so a mono file plays in the left
ear only. Loudness: every excerpt is scaled to ``target_lufs`` (ITU-R BS.1770-4 integrated
loudness of the stereo file, pyloudnorm). If that would put any excerpt of a piece above
``peak_limit_dbfs`` (sample peak), the whole piece is attenuated by the excess, so the conditions
compared in one trial stay equally loud; ``excerpts.csv`` records the attenuation and it is
logged. Nothing is limited or clipped. File names are opaque codes so that the file name alone
does not tell the condition.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyloudnorm as pyln

from tdpr.audio import quantize_pcm16, resample, write_pcm16
from tdpr.fsio import write_text_atomic
from tdpr.registry import BASELINE, REFERENCE, VARIANTS, models_of_kind, system_label
from tdpr.registry import INPUT as INPUT_KEY
from tdpr.report.figures import load_figure_signals
from tdpr.report.webmushra import dump_yaml

logger = logging.getLogger(__name__)

# The kit names its systems by their display labels (they reach listeners' result files).
INPUT, GROUND_TRUTH = system_label(INPUT_KEY), system_label(REFERENCE)
TDPR, GT_PHASE = VARIANTS["tdpr"].suffix, VARIANTS["gtphase"].suffix

PIECE_COLUMNS = ("clip_id", "composer", "title", "source_file")
AUDIO_DIR = "configs/resources/audio/tdpr"
#: condition keys of the webMUSHRA configs (see :func:`condition_system`)
AB_CONDITIONS = ("tdcnn", "gtphase")
MOS_CONDITIONS = ("input", "tdcnn", "tdpr", "reference")
#: further MOS conditions: the no-learning baselines, keyed by their registry names
ANCHOR_CONDITIONS = tuple(models_of_kind(BASELINE))
MOS_SCALE = {1: "Bad", 2: "Poor", 3: "Fair", 4: "Good", 5: "Excellent"}
#: stimulus keys of the AB pages: the conditions in the order they play
AB_PAIRS = ("_".join(AB_CONDITIONS), "_".join(AB_CONDITIONS[::-1]))
#: id of the level-and-channel check page that opens every test
CHECK_ID = "check_channels"
PLAYBACK_RATE = 48_000
CHANNELS = 2
AB_GAP_S = 1.0
NUMBERS = {4: "four", 5: "five", 6: "six", 7: "seven"}


def choose_pieces(
    clips_manifest: str | os.PathLike | pd.DataFrame, n: int = 11, seed: int = 0
) -> pd.DataFrame:
    """Draw ``n`` recordings, one per composer as far as possible, and one clip of each.

    Composers are visited in a seeded random order, round after round, each round taking one
    not yet chosen recording of each composer, until ``n`` are chosen. The result depends only on
    the manifest's content and ``seed`` (not on its row order).

    Args:
        clips_manifest: CSV (or its DataFrame) with ``clip_id, composer, title, source_file``.
        n: number of pieces; the first is the practice trial.
        seed: seed of the draw.

    Returns:
        DataFrame with ``piece_id`` (``p01``...), ``practice`` and :data:`PIECE_COLUMNS`.

    Raises:
        ValueError: missing columns, or fewer than ``n`` recordings.
    """
    clips = clips_manifest
    if not isinstance(clips, pd.DataFrame):
        clips = pd.read_csv(clips_manifest, dtype=str, keep_default_na=False)
    missing = [c for c in PIECE_COLUMNS if c not in clips.columns]
    if missing:
        raise ValueError(f"the clips manifest lacks column(s) {', '.join(missing)}")
    clips = clips.sort_values(["composer", "source_file", "clip_id"]).reset_index(drop=True)
    if clips["source_file"].nunique() < n:
        raise ValueError(f"{n} pieces asked, the manifest has {clips['source_file'].nunique()}")
    rng = np.random.default_rng(seed)
    queues = {
        composer: rng.permutation(sorted(group["source_file"].unique())).tolist()
        for composer, group in clips.groupby("composer", sort=True)
    }
    order = rng.permutation(sorted(queues)).tolist()
    chosen: list[str] = []
    while len(chosen) < n:
        for composer in order:
            if queues[composer] and len(chosen) < n:
                chosen.append(queues[composer].pop(0))
    composers = clips.drop_duplicates("source_file").set_index("source_file")["composer"]
    if composers[chosen].nunique() < n:
        logger.warning(
            "%d pieces from %d composers: some composers appear twice",
            n, composers[chosen].nunique(),
        )  # fmt: skip
    rows = []
    for i, source in enumerate(chosen):
        candidates = clips[clips["source_file"] == source]
        row = candidates.iloc[int(rng.integers(len(candidates)))]
        rows.append({"piece_id": f"p{i + 1:02d}", "practice": i == 0, **row[list(PIECE_COLUMNS)]})
    return pd.DataFrame(rows)


def match_loudness(
    excerpts: Mapping[str, np.ndarray], rate: int, target_lufs: float, peak_limit_dbfs: float
) -> tuple[dict[str, np.ndarray], pd.DataFrame]:
    """Scale the excerpts of one piece to ``target_lufs``, lowered for all if a peak would exceed.

    Args:
        excerpts: system -> ``(T,)`` or ``(T, C)`` audio at ``rate``; loudness is that of all
            channels together (BS.1770), as the file will be played.

    Returns:
        ``(scaled excerpts, table)``; the table has ``system, loudness_in_lufs, gain_db,
        attenuation_db`` per excerpt.
    """
    meter = pyln.Meter(rate)
    loudness = {k: meter.integrated_loudness(x.astype(np.float64)) for k, x in excerpts.items()}
    silent = [k for k, value in loudness.items() if not np.isfinite(value)]
    if silent:
        raise ValueError(f"excerpts without measurable loudness (silence?): {', '.join(silent)}")
    gains = {k: target_lufs - value for k, value in loudness.items()}
    peaks = {k: 20 * np.log10(np.max(np.abs(x)) + 1e-12) + gains[k] for k, x in excerpts.items()}
    attenuation = max(0.0, max(peaks.values()) - peak_limit_dbfs)
    if attenuation > 0:
        logger.warning(
            "a peak would reach %.2f dBFS at %.1f LUFS: attenuating the piece by %.2f dB",
            max(peaks.values()), target_lufs, attenuation,
        )  # fmt: skip
    scaled = {k: x * 10 ** ((gains[k] - attenuation) / 20) for k, x in excerpts.items()}
    table = pd.DataFrame(
        {"system": list(excerpts), "loudness_in_lufs": list(loudness.values())}
        | {"gain_db": list(gains.values()), "attenuation_db": attenuation}
    )
    return scaled, table


def condition_system(key: str, model: str) -> str:
    """System label behind a condition key of the test of ``model`` (``tdpr`` -> SEANet+TD-PR)."""
    if key in ANCHOR_CONDITIONS:
        return system_label(key)
    systems = {"input": INPUT, "reference": GROUND_TRUTH, "tdcnn": model}
    return systems.get(key) or {"tdpr": model + TDPR, "gtphase": model + GT_PHASE}[key]


def mos_order(conditions: Sequence[str]) -> list[str]:
    """MOS condition keys in display order: input, the baselines, TD-CNN, TD-PR, reference."""
    order = [MOS_CONDITIONS[0], *ANCHOR_CONDITIONS, *MOS_CONDITIONS[1:]]
    return [c for c in order if c in set(conditions)]


def _code(seed: int, piece: str, system: str) -> str:
    return hashlib.sha1(f"{seed}:{piece}:{system}".encode()).hexdigest()[:10]


def _needed_systems(models: Sequence[str], ab_model: str, baselines: Sequence[str]) -> list[str]:
    systems = [INPUT, GROUND_TRUTH, *(system_label(b) for b in baselines)]
    for model in models:
        systems += [model, model + TDPR]
    return [*systems, ab_model + GT_PHASE]


def export_listening_test(
    pieces: pd.DataFrame,
    manifests: Mapping[str, str | os.PathLike],
    out_dir: str | os.PathLike,
    models: Sequence[str],
    *,
    ab_model: str | None = None,
    offset_s: float = 10.0,
    duration_s: float = 5.0,
    target_lufs: float = -23.0,
    peak_limit_dbfs: float = -1.0,
    seed: int = 0,
    baselines: Sequence[str] = (),
) -> pd.DataFrame:
    """Write the excerpts and the webMUSHRA configurations of the AB and MOS tests.

    Args:
        pieces: from :func:`choose_pieces`.
        manifests: system label -> manifest CSV (``clip_id, path``). Needs Input, Ground truth,
            every model and model+TD-PR, and ``ab_model``+GT-phase (all at the test's cutoff).
        out_dir: the kit's root (mirrors a webMUSHRA root, see the module docstring).
        models: model labels (``SEANet``...), one MOS test each.
        ab_model: model of the AB test (default: the first).
        offset_s, duration_s: the excerpt, the same for every system.
        target_lufs: integrated loudness of every excerpt.
        peak_limit_dbfs: highest sample peak allowed after scaling.
        seed: seed of the A/B order and the file codes.
        baselines: registry names of no-learning baselines (``noisefill``...) rated as further
            conditions of every MOS test (their manifests keyed by label, like the others).

    Returns:
        The excerpt table (also written to ``excerpts.csv``).
    """
    ab_model = models[0] if ab_model is None else ab_model
    unknown = [b for b in baselines if b not in ANCHOR_CONDITIONS]
    if unknown:
        raise ValueError(f"not a registered baseline: {', '.join(unknown)}")
    systems = _needed_systems(models, ab_model, baselines)
    missing = [s for s in systems if s not in manifests]
    if missing:
        raise ValueError(f"no manifest for system(s) {', '.join(missing)}")
    out_dir = Path(out_dir)
    rng = np.random.default_rng(seed)
    # counterbalanced A/B order: as many pieces with each version first as the count allows
    firsts = rng.permutation([AB_PAIRS[i % 2] for i in range(len(pieces))]).tolist()
    settings = {"offset_s": offset_s, "duration_s": duration_s, "target_lufs": target_lufs}
    used = {s: manifests[s] for s in systems}
    tables = [
        _export_piece(piece, used, out_dir, seed, ab_model, pair, peak_limit_dbfs=peak_limit_dbfs,
                      **settings)
        for piece, pair in zip(pieces.itertuples(index=False), firsts, strict=True)
    ]  # fmt: skip
    excerpts = pd.concat(tables, ignore_index=True)
    paths = excerpts.set_index(["piece_id", "system"])["path"]
    ab = ab_config(pieces, paths, ab_model, firsts)
    write_webmushra(out_dir / "configs/tdpr_ab.yaml", ab, out_dir)
    for model in models:
        config = mos_config(pieces, paths, model, baselines)
        write_webmushra(out_dir / f"configs/tdpr_mos_{model.lower()}.yaml", config, out_dir)
    write_text_atomic(out_dir / "pieces.csv", pieces.to_csv(index=False, lineterminator="\n"))
    write_text_atomic(out_dir / "excerpts.csv", excerpts.to_csv(index=False, lineterminator="\n"))
    logger.info("listening-test kit with %d excerpts in %s", len(excerpts), out_dir)
    return excerpts


def to_playback(audio: np.ndarray, rate: int) -> np.ndarray:
    """Mono ``(T,)`` at ``rate`` -> stereo ``(T', 2)`` at :data:`PLAYBACK_RATE`, channels equal."""
    return np.repeat(resample(audio, rate, PLAYBACK_RATE)[:, None], CHANNELS, axis=1)


def pair_system(pair: str) -> str:
    """Excerpt-table name of the AB pair file of stimulus key ``pair`` (``AB:gtphase_tdcnn``)."""
    return f"AB:{pair}"


def _export_piece(piece, manifests, out_dir: Path, seed, ab_model, pair, **settings):
    signals, rate = load_figure_signals(
        manifests, piece.clip_id, offset_s=settings["offset_s"], duration_s=settings["duration_s"]
    )
    want = int(round(settings["duration_s"] * rate))
    short = [k for k, x in signals.items() if len(x) < want]
    if short:
        raise ValueError(f"clip {piece.clip_id} is too short for the excerpt in {short}")
    playable = {k: to_playback(x[:want], rate) for k, x in signals.items()}
    scaled, table = match_loudness(
        playable, PLAYBACK_RATE, settings["target_lufs"], settings["peak_limit_dbfs"]
    )
    gap = np.zeros((int(AB_GAP_S * PLAYBACK_RATE), CHANNELS))
    a, b = (scaled[condition_system(k, ab_model)] for k in pair.split("_"))
    scaled[pair_system(pair)] = np.concatenate([a, gap, b])
    meter, paths, out_lufs, peaks = pyln.Meter(PLAYBACK_RATE), [], [], []
    for system, audio in scaled.items():
        rel = f"{AUDIO_DIR}/{piece.piece_id}/{_code(seed, piece.piece_id, system)}.wav"
        write_pcm16(out_dir / rel, audio, PLAYBACK_RATE)
        stored = quantize_pcm16(audio).astype(np.float64)
        paths.append(rel)
        out_lufs.append(meter.integrated_loudness(stored))
        peaks.append(20 * np.log10(np.max(np.abs(stored)) + 1e-12))
    attenuation = table["attenuation_db"].iloc[0]
    table = pd.concat(
        [table, pd.DataFrame({"system": [pair_system(pair)], "attenuation_db": attenuation})],
        ignore_index=True,
    )
    table.insert(0, "piece_id", piece.piece_id)
    table.insert(1, "clip_id", piece.clip_id)
    table["offset_s"], table["duration_s"] = settings["offset_s"], settings["duration_s"]
    return table.assign(path=paths, loudness_out_lufs=out_lufs, peak_dbfs=peaks)


# ---- webMUSHRA configurations --------------------------------------------------------------


def referenced_files(config: dict) -> list[str]:
    """Audio paths a webMUSHRA config refers to (stimuli, volume stimulus, reference)."""
    pages, files = list(config["pages"]), []
    while pages:
        page = pages.pop(0)
        if isinstance(page, list):
            pages[:0] = [p for p in page if p != "random"]
            continue
        files += list(page.get("stimuli", {}).values())
        files += [page["reference"]] if "reference" in page else []
    return files


def _check_page(stimulus: str) -> dict:
    """Level and channel check: one excerpt, "do you hear it in both ears?" (see module doc)."""
    return {
        "type": "likert_single_stimulus", "id": CHECK_ID, "name": "Level and channel check",
        "content": "<p>Play the excerpt and set your device's volume to a comfortable level; "
        "keep it for the whole test.</p><p><b>Do you hear the excerpt in both ears?</b></p>",
        "mustRate": True, "mustPlayback": "ended", "stimuli": {"check": stimulus},
        "response": [{"value": "both", "label": "Both ears"},
                     {"value": "one", "label": "One ear only"}],
    }  # fmt: skip


def _frame(test_id: str, name: str, intro: str, check_stimulus: str, trials: list[dict]) -> dict:
    """A whole test: instructions, the check, the practice trial, the others in random order."""
    practice, *rest = trials
    pages = [
        {"type": "generic", "id": "instructions", "name": "Instructions", "content": intro},
        _check_page(check_stimulus),
        practice,
    ]
    if rest:
        pages.append(["random", *rest])
    finish = {
        "type": "finish", "name": "Thank you", "content": "Thank you for listening.",
        "showResults": False, "writeResults": True,
        "questionnaire": [{"type": "text", "label": "Listener ID", "name": "listener"}],
    }  # fmt: skip
    return {
        "testname": name,
        "testId": test_id,
        "bufferSize": 2048,
        "stopOnErrors": True,
        "showButtonPreviousPage": False,
        "remoteService": "service/write.php",
        "pages": [*pages, finish],
    }


def _trial_name(piece) -> tuple[str, str]:
    """Page id and title; the title carries no number, as webMUSHRA shuffles the trials."""
    if piece.practice:
        return f"practice_{piece.piece_id}", "Practice (not counted)"
    return piece.piece_id, "Trial"


def ab_config(pieces: pd.DataFrame, paths: pd.Series, model: str, pairs: Sequence[str]) -> dict:
    """AB preference test: per piece, ``model`` and ``model``+GT-phase in the order ``pairs[i]``.

    Each page plays the pair in sequence; the answer's value is the preferred condition key.
    """
    trials = []
    for piece, pair in zip(pieces.itertuples(index=False), pairs, strict=True):
        first, second = pair.split("_")
        page_id, name = _trial_name(piece)
        trials.append({
            "type": "likert_single_stimulus", "id": page_id, "name": name,
            "content": "<p>You hear A, a second of silence, then B; play it as often as you "
            "like.</p><p><b>Which of A and B contains fewer artifacts?</b></p>",
            "mustRate": True, "mustPlayback": "ended",
            "stimuli": {pair: paths[(piece.piece_id, pair_system(pair))]},
            "response": [{"value": first, "label": "A (first)"},
                         {"value": second, "label": "B (second)"}],
        })  # fmt: skip
    intro = (
        "<p>Each page plays two versions, A and B, of a short piano excerpt, one after the "
        "other. Listen and choose the one with fewer artifacts. The first trial is a practice "
        "trial.</p>"
    )
    first = paths[(pieces["piece_id"].iloc[0], GROUND_TRUTH)]
    return _frame(f"tdpr_ab_{model.lower()}", f"AB test ({model})", intro, first, trials)


def mos_config(
    pieces: pd.DataFrame, paths: pd.Series, model: str, baselines: Sequence[str] = ()
) -> dict:
    """MOS test of one TD-CNN: input, TD-CNN, TD-PR, the hidden reference and any baselines
    (registry names) rated 1-5."""
    conditions = mos_order([*MOS_CONDITIONS, *baselines])
    response = [{"value": str(v), "label": f"{v} {label}"} for v, label in MOS_SCALE.items()]
    trials = []
    for piece in pieces.itertuples(index=False):
        page_id, name = _trial_name(piece)
        reference = paths[(piece.piece_id, GROUND_TRUTH)]
        stimuli = {k: paths[(piece.piece_id, condition_system(k, model))] for k in conditions}
        trials.append({
            "type": "likert_multi_stimulus", "id": page_id, "name": name,
            "content": "<p>Reference:</p>"
            f"<audio controls preload='auto' src='{reference}'></audio>"
            "<p>Rate each sample by its similarity to the reference (5 = closest).</p>",
            "mustRate": True, "mustPlayback": "ended", "stimuli": stimuli, "response": response,
        })  # fmt: skip
    intro = (
        f"<p>Each page plays a reference and {NUMBERS[len(conditions)]} versions of a short "
        "piano excerpt, in random "
        "order. Rate every version from 1 (bad) to 5 (excellent: closest to the reference). The "
        "first trial is a practice trial.</p>"
    )
    first = paths[(pieces["piece_id"].iloc[0], GROUND_TRUTH)]
    return _frame(f"tdpr_mos_{model.lower()}", f"MOS test ({model})", intro, first, trials)


def write_webmushra(path: str | os.PathLike, config: dict, root: str | os.PathLike) -> None:
    """Write a webMUSHRA YAML config (atomically) after checking its files exist under ``root``."""
    absent = [f for f in referenced_files(config) if not (Path(root) / f).is_file()]
    if absent:
        raise FileNotFoundError(f"{path} would refer to missing files: {absent[:5]}")
    header = (
        "# webMUSHRA configuration written by tdpr.report.listening; serve it with\n"
        f"# `tdpr listen KIT --webmushra DIR` and open index.html?config={Path(path).name}\n"
    )
    write_text_atomic(path, header + dump_yaml(config))
