"""Accuracy of analysis results against the ``labels`` of an evaluation file."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class EvaluationReport:
    songs: int
    verdict_accuracy: float
    concern_micro_f1: float
    concern_precision: float
    concern_recall: float
    sentiment_accuracy: float
    emotion_accuracy: float
    top_theme_accuracy: float
    theme_micro_f1: float
    per_concern_f1: dict[str, float]

    def rows(self) -> list[tuple[str, float]]:
        return [
            ("verdict accuracy", self.verdict_accuracy),
            ("concern micro-F1", self.concern_micro_f1),
            ("concern precision", self.concern_precision),
            ("concern recall", self.concern_recall),
            ("sentiment accuracy", self.sentiment_accuracy),
            ("emotion accuracy", self.emotion_accuracy),
            ("top theme in labelled themes", self.top_theme_accuracy),
            ("theme micro-F1", self.theme_micro_f1),
        ]


def _f1(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def evaluate(pairs: Iterable[tuple[Mapping, Mapping]]) -> EvaluationReport:
    """``pairs`` of (labels, prediction) where both use the analysis output keys."""
    n = verdict = sentiment = emotion = top_theme = 0
    c_tp = c_fp = c_fn = t_tp = t_fp = t_fn = 0
    per: dict[str, list[int]] = {}
    for labels, pred in pairs:
        n += 1
        verdict += labels["verdict"] == pred["verdict"]
        sentiment += labels["sentiment"] == pred["sentiment"]
        emotion += labels["emotion"] == pred["emotion"]
        top_theme += bool(pred["themes"]) and pred["themes"][0] in labels["themes"]
        gold, got = set(labels["concerns"]), set(pred["concerns"])
        c_tp += len(gold & got)
        c_fp += len(got - gold)
        c_fn += len(gold - got)
        for key in gold | got:
            counts = per.setdefault(key, [0, 0, 0])
            counts[0] += key in gold and key in got
            counts[1] += key in got and key not in gold
            counts[2] += key in gold and key not in got
        tg, tp_ = set(labels["themes"]), set(pred["themes"])
        t_tp += len(tg & tp_)
        t_fp += len(tp_ - tg)
        t_fn += len(tg - tp_)
    if not n:
        raise ValueError("the evaluation file has no labelled songs")
    cp, cr, cf = _f1(c_tp, c_fp, c_fn)
    return EvaluationReport(
        songs=n,
        verdict_accuracy=verdict / n,
        concern_micro_f1=cf,
        concern_precision=cp,
        concern_recall=cr,
        sentiment_accuracy=sentiment / n,
        emotion_accuracy=emotion / n,
        top_theme_accuracy=top_theme / n,
        theme_micro_f1=_f1(t_tp, t_fp, t_fn)[2],
        per_concern_f1={k: round(_f1(*v)[2], 3) for k, v in sorted(per.items())},
    )
