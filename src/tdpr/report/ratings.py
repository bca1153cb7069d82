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

from tdpr.registry import MODELS, system_from_label
from tdpr.report.figures import new_figure, save_figure, styled, system_color
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


def plot_ab_preference(ratings: Ratings, out: str | os.PathLike) -> list[Path]:
    """Fig. 2: share of AB votes for TD-CNN vs TD-CNN with GT phase, one bar per test."""
    ab = ratings.ab
    if ab.empty:
        raise ValueError("no AB choices to plot")
    tests = list(dict.fromkeys(ab["test"]))
    with styled("white"):
        fig = new_figure(6.5, 0.9 + 0.7 * len(tests))
        ax = fig.subplots()
        for row, test in enumerate(tests):
            votes = ab[ab["test"] == test]
            n, k = len(votes), int((votes["choice"] == "gtphase").sum())
            low, high = _wilson(k, n)
            left = 0.0
            for key, count in (("gtphase", k), ("tdcnn", n - k)):
                share = 100 * count / n
                label = f"{test} w/ GT-phase" if key == "gtphase" else test
                ax.barh(row, share, left=left, color=_ab_color(key, test))
                if share > 0:
                    ax.text(left + share / 2, row, f"{label}\n{share:.2f} %", ha="center",
                            va="center", color="white", fontsize="small")  # fmt: skip
                left += share
            ax.text(101, row, f"n = {n} votes, {votes['listener'].nunique()} listeners\n"
                    f"GT-phase 95 % CI {100 * low:.0f}-{100 * high:.0f} %", va="center",
                    fontsize="x-small")  # fmt: skip
        ax.set(xlim=(0, 100), xlabel="votes for fewer artifacts (%)", yticks=[])
        sns.despine(ax=ax, left=True)
        return save_figure(fig, out)


def plot_mos(ratings: Ratings, out: str | os.PathLike) -> list[Path]:
    """Fig. 3: box plots of the ratings per condition, one panel per test, means marked."""
    mos = ratings.mos
    if mos.empty:
        raise ValueError("no MOS ratings to plot")
    tests = list(dict.fromkeys(mos["test"]))
    order = mos_order(mos["condition"])
    with styled():
        fig = new_figure(2.6 * len(tests) + 0.4, 3.2)
        axes = np.atleast_1d(fig.subplots(1, len(tests), sharey=True, squeeze=False)[0])
        for ax, test in zip(axes, tests, strict=True):
            data = mos[mos["test"] == test]
            groups = [data.loc[data["condition"] == c, "rating"].to_numpy() for c in order]
            boxes = ax.boxplot(
                groups, positions=range(len(order)), widths=0.6, patch_artist=True,
                showmeans=True, medianprops={"color": "white", "linewidth": 1.5},
                meanprops={"marker": "D", "markerfacecolor": "white", "markeredgecolor": "black"},
            )  # fmt: skip
            for box, condition in zip(boxes["boxes"], order, strict=True):
                box.set_facecolor(_label_color(condition_system(condition, test)))
            means = data.groupby("condition")["rating"].mean()
            top = ax.get_xaxis_transform()  # x in data, y in axes units
            for x, condition in enumerate(order):
                if condition in means:
                    ax.text(x, 0.985, f"mean {means[condition]:.2f}", transform=top,
                            ha="center", va="top", fontsize="x-small")  # fmt: skip
            ax.set_xticks(range(len(order)), [CONDITION_TITLES[c] for c in order])
            ax.set(title=f"{test} ({data['listener'].nunique()} listeners)", xlabel="")
        axes[0].set_ylabel("rating (1 = bad, 5 = excellent)")
        if mos["rating"].between(1, 5).all():
            axes[0].set_ylim(0.5, 5.8)
        return save_figure(fig, out)
