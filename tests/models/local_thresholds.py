"""A model that reads a data file it ships with `local_files`: decision thresholds kept next to
the script (`data/thresholds.json`), found at run time with `modelbay.local_file`, so an analyst
can change the thresholds and push a new version without retraining."""

import json
from pathlib import Path

from modelbay import List, Model, local_file

EXPECTED: set[str] = set()
# Passed as local_files=[...] by the tests (paths relative to this script).
LOCAL_FILES = ["data/thresholds.json"]


def decide(scores: List[float]) -> List[str]:
    """decline / review / approve for each risk-adjusted score in [0, 1]."""
    thresholds = json.loads(Path(local_file("thresholds.json")).read_text())
    labels = thresholds["labels"]
    return [
        labels[2]
        if score > thresholds["approve_above"]
        else labels[1]
        if score > thresholds["review_above"]
        else labels[0]
        for score in scores
    ]


model = Model(decide=decide, samples={"decide": [{"scores": [0.1, 0.5, 0.9]}]})
