"""Fig. 5 detector 2: a scikit-learn classifier of abnormal vibration, from the same reading."""

from fig5_common import Finding, Reading, training_set
from modelbay import Model
from sklearn.tree import DecisionTreeClassifier

rows, _, shaking = training_set()
classifier = DecisionTreeClassifier(random_state=0, max_depth=3).fit(
    [[r[1]] for r in rows], shaking
)


def detect(reading: Reading) -> Finding:
    """Probability that the machine shakes abnormally."""
    score = float(classifier.predict_proba([[reading.vibration]])[0][1])
    return Finding(score=score, label="shaking" if score > 0.5 else "still")


model = Model(detect=detect, samples={"detect": [Reading(85.0, 3.0), Reading(30.0, 9.0)]})
