"""Fig. 5 detector 1: a scikit-learn classifier of overheating, from the same reading as the
other detector. Refuses a temperature below absolute zero (the e2e test's failing node)."""

from fig5_common import Finding, Reading, training_set
from modelbay import Model
from sklearn.linear_model import LogisticRegression

rows, hot, _ = training_set()
classifier = LogisticRegression(random_state=0).fit([[r[0]] for r in rows], hot)


def detect(reading: Reading) -> Finding:
    """Probability that the machine overheats."""
    if reading.temperature < -273.15:
        raise ValueError(f"{reading.temperature} °C is below absolute zero")
    score = float(classifier.predict_proba([[reading.temperature]])[0][1])
    return Finding(score=score, label="hot" if score > 0.5 else "normal")


model = Model(detect=detect, samples={"detect": [Reading(85.0, 3.0), Reading(30.0, 9.0)]})
