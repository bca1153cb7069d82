"""Listening-test ratings: reading them back, and Figs. 2 (AB preference) and 3 (MOS box plots).

:func:`read_ratings` accepts, per file (detected from the columns or the suffix):

* the result CSVs that webMUSHRA's ``service/write.php`` writes under ``results/<testId>/`` for
  the kit of :mod:`tdpr.report.listening`: ``lss.csv`` (``likert_single_stimulus``:
  ``session_test_id, <questionnaire>, trial_id, stimuli_rating, stimuli, rating_time``) holds
  the AB choices (the rating is the preferred condition, the stimulus key the order, e.g.
  ``gtphase_tdcnn``) and the level-and-channel check, which is dropped; ``lms.csv``
  (``likert_multi_stimulus``, same columns) the MOS ratings; ``mushra.csv``
  (``rating_stimulus, rating_score``; 0-100) is read as MOS ratings too;
* webMUSHRA session JSON (what the finish page posts; one object or a list), the same trials;
* a simple MOS CSV: ``listener, test, trial, condition, rating``;
* a simple AB CSV: ``listener, trial, choice`` (optional ``test``, default ``TD-CNN``;
  ``choice`` is the condition preferred: ``tdcnn`` or ``gtphase``).

The listener is the ``listener`` questionnaire field of the kit's finish page (else
``session_uuid`` or ``email``). Condition keys are those of the kit (``input, tdcnn, tdpr,
reference`` and ``tdcnn, gtphase``); test ids ``tdpr_mos_seanet`` become the model label
``SEANet``. Practice trials (ids starting with ``practice``) are dropped. Nothing is imputed: a
missing or unreadable answer is dropped with a warning.

Each figure is drawn from the tallies it writes beside itself as a CSV (:func:`ab_tallies`,
:func:`mos_tallies`), so the numbers behind a picture can be read without measuring it.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.cbook import boxplot_stats

from tdpr.registry import MODELS, system_from_label
from tdpr.report.figures import new_figure, save_figure, styled, system_color, write_figure_data
from tdpr.report.listening import (
    AB_CONDITIONS,
    AB_PAIRS,
    ANCHOR_CONDITIONS,
    CHECK_ID,
    MOS_CONDITIONS,
    condition_system,
    mos_order,
)

logger = logging.getLogger(__name__)

MOS_COLUMNS = ("listener", "test", "trial", "condition", "rating")
AB_COLUMNS = ("listener", "test", "trial", "choice")
CONDITION_TITLES = {"input": "Input", "tdcnn": "TD-CNN", "tdpr": "TD-PR", "reference": "GT"}
CONDITION_TITLES.update({key: MODELS[key].label for key in ANCHOR_CONDITIONS})
LISTENER_FIELDS = ("listener", "session_uuid", "email")


@dataclass(frozen=True)
class Ratings:
    """Ratings of both tests: ``mos`` (:data:`MOS_COLUMNS`) and ``ab`` (:data:`AB_COLUMNS`)."""

    mos: pd.DataFrame
    ab: pd.DataFrame


def _label_color(label: str) -> str:
    """Colour of a system given by its display label; grey for a label no system has."""
    key = system_from_label(label)
    return system_color(key) if key is not None else "#7f7f7f"


def model_of_test(test: str) -> str:
    """``tdpr_mos_seanet`` / ``tdpr_ab_seanet`` / ``seanet`` -> ``SEANet``; others unchanged."""
    name = str(test).removeprefix("tdpr_mos_").removeprefix("tdpr_ab_")
    return MODELS[name].label if name in MODELS else name


def _listener(table: pd.DataFrame, path: Path) -> pd.Series:
    for field in LISTENER_FIELDS:
        if field in table.columns:
            return table[field].astype(str).str.strip()
    raise ValueError(f"{path}: no listener column (one of {', '.join(LISTENER_FIELDS)})")


def _read_csv(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    table = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    cols, empty_mos, empty_ab = set(table.columns), _empty(MOS_COLUMNS), _empty(AB_COLUMNS)
    if set(MOS_COLUMNS) <= cols:
        return table[list(MOS_COLUMNS)], empty_ab
    if {"listener", "trial", "choice"} <= cols:
        test = table["test"] if "test" in cols else "TD-CNN"
        return empty_mos, table.assign(test=test)[list(AB_COLUMNS)]
    webmushra = {("stimuli", "stimuli_rating"), ("rating_stimulus", "rating_score")}
    for condition, rating in webmushra:
        if {"session_test_id", "trial_id", condition, rating} <= cols:
            rows = pd.DataFrame({
                "listener": _listener(table, path), "test": table["session_test_id"],
                "trial": table["trial_id"], "condition": table[condition],
                "rating": table[rating].str.strip(),
            })  # fmt: skip
            return _split_webmushra(rows)
    if "choice_reference" in cols:
        raise ValueError(
            f"{path} holds paired_comparison results (hidden-reference identification: correct/"
            "incorrect), not preferences; the AB test of this project records its choices in "
            "lss.csv (likert_single_stimulus pages)"
        )
    raise ValueError(f"{path}: columns {sorted(cols)} match no known ratings layout")


def _split_webmushra(rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """webMUSHRA rows (MOS columns) -> (MOS, AB): AB pages have a pair as their stimulus."""
    rows = rows[rows["trial"] != CHECK_ID]
    is_ab = rows["condition"].isin(AB_PAIRS)
    ab = rows[is_ab].rename(columns={"rating": "choice"})[list(AB_COLUMNS)]
    return rows[~is_ab][list(MOS_COLUMNS)], ab


def _read_json(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    sessions = json.loads(path.read_text(encoding="utf-8"))
    rows = []
    for session in sessions if isinstance(sessions, list) else [sessions]:
        participant = session.get("participant", {"name": [], "response": []})
        fields = dict(zip(participant["name"], participant["response"], strict=True))
        fields.setdefault("session_uuid", session.get("uuid"))
        listener = next((fields[f] for f in LISTENER_FIELDS if fields.get(f)), None)
        if listener is None:
            raise ValueError(f"{path}: a session has no listener field")
        for trial in session["trials"]:
            key = (str(listener), session["testId"], trial["id"])
            for r in trial["responses"]:
                rating = r.get("stimulusRating", r.get("score"))
                if isinstance(rating, list):  # likert_single_stimulus: one value per scale
                    rating = rating[0] if len(rating) == 1 else None
                rows.append((*key, r.get("stimulus"), rating))
    return _split_webmushra(pd.DataFrame(rows, columns=MOS_COLUMNS))


def _empty(columns: Iterable[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=str) for c in columns})


def _clean(frame: pd.DataFrame, value: str, allowed: Iterable[str], keep_practice: bool):
    """Drop practice trials and unanswered rows; check condition keys; normalise test labels."""
    frame = frame.assign(test=frame["test"].map(model_of_test), trial=frame["trial"].astype(str))
    if not keep_practice:
        frame = frame[~frame["trial"].str.startswith("practice")]
    key = "condition" if value == "rating" else "choice"
    if value == "rating":
        frame = frame.assign(rating=pd.to_numeric(frame["rating"], errors="coerce"))
    unanswered = frame[value].isna() | frame[key].isin(["unknown", "undecided", "NA", ""])
    if unanswered.any():
        logger.warning("dropping %d unanswered or unreadable %s rows", unanswered.sum(), value)
    frame = frame[~unanswered]
    unknown = sorted(map(str, set(frame[key]) - set(allowed)))
    if unknown:
        raise ValueError(f"unknown {key} value(s) {unknown}; expected {sorted(allowed)}")
    return frame.reset_index(drop=True)


def read_ratings(
    paths: str | os.PathLike | Iterable[str | os.PathLike], *, keep_practice: bool = False
) -> Ratings:
    """Read listening-test results (see the module docstring for the accepted layouts).

    Args:
        paths: one or more CSV/JSON files; their rows are concatenated.
        keep_practice: keep trials whose id starts with ``practice``.

    Returns:
        :class:`Ratings` with numeric MOS ratings and AB choices.

    Raises:
        ValueError: an unknown layout, condition key or missing listener.
    """
    paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    parts = [
        _read_json(Path(p)) if Path(p).suffix == ".json" else _read_csv(Path(p)) for p in paths
    ]
    mos = pd.concat([_empty(MOS_COLUMNS), *(m for m, _ in parts)], ignore_index=True)
    ab = pd.concat([_empty(AB_COLUMNS), *(a for _, a in parts)], ignore_index=True)
    mos = _clean(mos, "rating", (*MOS_CONDITIONS, *ANCHOR_CONDITIONS), keep_practice)
    ab = _clean(ab, "choice", AB_CONDITIONS, keep_practice)
    logger.info(
        "read %d MOS ratings and %d AB choices from %d file(s)", len(mos), len(ab), len(paths)
    )
    return Ratings(mos=mos, ab=ab)


def _wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion k/n."""
    p, denom = k / n, 1 + z**2 / n
    centre, half = p + z**2 / (2 * n), z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    return (centre - half) / denom, (centre + half) / denom


def _ab_color(key: str, model: str) -> str:
    """The model's colour for the TD-CNN, dark grey (ground truth's family) for GT phase."""
    return "#404040" if key == "gtphase" else _label_color(model)


def ab_tallies(ratings: Ratings) -> pd.DataFrame:
    """What Fig. 2 draws: one row per AB test, in the order first seen.

    Columns ``test, votes, listeners, gtphase, tdcnn`` (vote counts), ``gtphase_pct, tdcnn_pct``
    (the bars) and ``gtphase_ci_low_pct, gtphase_ci_high_pct`` (95 % Wilson interval).
    """
    ab = ratings.ab
    if ab.empty:
        raise ValueError("no AB choices to plot")
    rows = []
    for test, votes in ab.groupby("test", sort=False):
        n, k = len(votes), int((votes["choice"] == "gtphase").sum())
        low, high = _wilson(k, n)
        rows.append({
            "test": test, "votes": n, "listeners": votes["listener"].nunique(), "gtphase": k,
            "tdcnn": n - k, "gtphase_pct": 100 * k / n, "tdcnn_pct": 100 * (n - k) / n,
            "gtphase_ci_low_pct": 100 * low, "gtphase_ci_high_pct": 100 * high,
        })  # fmt: skip
    return pd.DataFrame(rows)


def plot_ab_preference(ratings: Ratings, out: str | os.PathLike) -> list[Path]:
    """Fig. 2: share of AB votes for TD-CNN vs TD-CNN with GT phase, one bar per test.

    Writes ``.png``, ``.pdf`` and the tallies drawn (:func:`ab_tallies`) as ``.csv``.
    """
    data = ab_tallies(ratings)
    written = write_figure_data(data, out)
    with styled("white"):
        fig = new_figure(6.5, 0.9 + 0.7 * len(data))
        ax = fig.subplots()
        for row, tally in enumerate(data.itertuples()):
            left = 0.0
            for key in ("gtphase", "tdcnn"):
                share = getattr(tally, f"{key}_pct")
                label = f"{tally.test} w/ GT-phase" if key == "gtphase" else tally.test
                ax.barh(row, share, left=left, color=_ab_color(key, tally.test))
                if share > 0:
                    ax.text(left + share / 2, row, f"{label}\n{share:.2f} %", ha="center",
                            va="center", color="white", fontsize="small")  # fmt: skip
                left += share
            ax.text(101, row, f"n = {tally.votes} votes, {tally.listeners} listeners\n"
                    f"GT-phase 95 % CI {tally.gtphase_ci_low_pct:.0f}-"
                    f"{tally.gtphase_ci_high_pct:.0f} %", va="center",
                    fontsize="x-small")  # fmt: skip
        ax.set(xlim=(0, 100), xlabel="votes for fewer artifacts (%)", yticks=[])
        sns.despine(ax=ax, left=True)
        return [*save_figure(fig, out), written]


#: Columns of Fig. 3's tallies, in order.
MOS_TALLY_COLUMNS = (
    "test", "test_listeners", "condition", "title", "n", "mean", "median", "q1", "q3",
    "whisker_low", "whisker_high", "min", "max", "fliers",
)  # fmt: skip


def mos_tallies(ratings: Ratings) -> pd.DataFrame:
    """What Fig. 3 draws: one row per test and condition rated in it (:data:`MOS_TALLY_COLUMNS`).

    ``n`` ratings, their ``mean`` (the diamond), the box (``median, q1, q3``: linear-interpolated
    quartiles), the whiskers (the furthest ratings within 1.5 IQR of the box), the range, and
    the ratings beyond the whiskers (``fliers``, space-separated). Tests in the order first seen,
    conditions in display order (:func:`tdpr.report.listening.mos_order`).
    """
    mos = ratings.mos
    if mos.empty:
        raise ValueError("no MOS ratings to plot")
    order = mos_order(mos["condition"])
    rows = []
    for test, data in mos.groupby("test", sort=False):
        for condition in order:
            values = data.loc[data["condition"] == condition, "rating"].to_numpy(dtype=float)
            if values.size == 0:
                continue
            stats = boxplot_stats(values, whis=1.5)[0]
            rows.append((
                test, data["listener"].nunique(), condition, CONDITION_TITLES[condition],
                values.size, stats["mean"], stats["med"], stats["q1"], stats["q3"],
                stats["whislo"], stats["whishi"], values.min(), values.max(),
                " ".join(f"{v:g}" for v in stats["fliers"]),
            ))  # fmt: skip
    return pd.DataFrame(rows, columns=list(MOS_TALLY_COLUMNS))


def plot_mos(ratings: Ratings, out: str | os.PathLike) -> list[Path]:
    """Fig. 3: box plots of the ratings per condition, one panel per test, means marked.

    Writes ``.png``, ``.pdf`` and the tallies drawn (:func:`mos_tallies`) as ``.csv``.
    """
    data = mos_tallies(ratings)
    written = write_figure_data(data, out)
    order = mos_order(data["condition"])
    tests = list(dict.fromkeys(data["test"]))
    with styled():
        fig = new_figure(2.6 * len(tests) + 0.4, 3.2)
        axes = np.atleast_1d(fig.subplots(1, len(tests), sharey=True, squeeze=False)[0])
        for ax, test in zip(axes, tests, strict=True):
            block = data[data["test"] == test]
            stats = [
                {"med": r.median, "q1": r.q1, "q3": r.q3, "whislo": r.whisker_low,
                 "whishi": r.whisker_high, "mean": r.mean,
                 "fliers": [float(v) for v in r.fliers.split()]}
                for r in block.itertuples()
            ]  # fmt: skip
            positions = [order.index(c) for c in block["condition"]]
            boxes = ax.bxp(
                stats, positions=positions, widths=0.6, patch_artist=True, showmeans=True,
                medianprops={"color": "white", "linewidth": 1.5},
                meanprops={"marker": "D", "markerfacecolor": "white", "markeredgecolor": "black"},
            )  # fmt: skip
            for box, condition in zip(boxes["boxes"], block["condition"], strict=True):
                box.set_facecolor(_label_color(condition_system(condition, test)))
            top = ax.get_xaxis_transform()  # x in data, y in axes units
            for x, mean in zip(positions, block["mean"], strict=True):
                ax.text(x, 0.985, f"mean {mean:.2f}", transform=top,
                        ha="center", va="top", fontsize="x-small")  # fmt: skip
            ax.set_xticks(range(len(order)), [CONDITION_TITLES[c] for c in order])
            ax.set_xlim(-0.5, len(order) - 0.5)  # a condition not rated in this test stays empty
            ax.set(title=f"{test} ({block['test_listeners'].iloc[0]} listeners)", xlabel="")
        axes[0].set_ylabel("rating (1 = bad, 5 = excellent)")
        if data["min"].min() >= 1 and data["max"].max() <= 5:
            axes[0].set_ylim(0.5, 5.8)
        return [*save_figure(fig, out), written]
