"""Fig. 5's rule step: a user step in plain Python, pushed like any model, combining the two
detectors' scores into one decision."""

from typing import NamedTuple

from modelbay import Model


class Evidence(NamedTuple):
    heat: float
    shake: float


class Verdict(NamedTuple):
    alert: bool
    score: float
    reason: str


def decide(evidence: Evidence) -> Verdict:
    """Alert when either detector is sure, or both lean the same way."""
    score = max(evidence.heat, evidence.shake, (evidence.heat + evidence.shake) / 1.5)
    reason = "heat" if evidence.heat >= evidence.shake else "vibration"
    return Verdict(alert=score > 0.8, score=min(score, 1.0), reason=reason)


model = Model(decide=decide, samples={"decide": [Evidence(0.9, 0.1), Evidence(0.2, 0.3)]})
