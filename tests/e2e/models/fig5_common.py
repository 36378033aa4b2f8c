"""What the Fig. 5 detectors share: their input reading and their finding (a local module the
SDK ships as code, the way a team shares message types between its models)."""

from typing import NamedTuple


class Reading(NamedTuple):
    temperature: float
    vibration: float


class Finding(NamedTuple):
    score: float
    label: str


def training_set() -> tuple[list[list[float]], list[int], list[int]]:
    """Readings with two labels each (overheating, shaking), fixed so training is repeatable."""
    rows, hot, shaking = [], [], []
    for step in range(40):
        temperature = 20.0 + 2.5 * step
        vibration = (step * 7 % 40) / 4.0
        rows.append([temperature, vibration])
        hot.append(int(temperature > 70.0))
        shaking.append(int(vibration > 5.0))
    return rows, hot, shaking
