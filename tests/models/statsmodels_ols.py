"""A statsmodels OLS regression served with its prediction intervals: the fitted results object
is pickled whole and `get_prediction(...).summary_frame()` runs in the image."""

from typing import NamedTuple

import numpy as np
import statsmodels.api as sm
from modelbay import List, Model

# pandas comes with statsmodels (its dependency); the method never names it.
EXPECTED = {"numpy", "statsmodels"}

rng = np.random.default_rng(0)
area = rng.uniform(30, 200, 120)
rooms = rng.integers(1, 6, 120).astype(float)
price = 1500 + 42.0 * area + 800.0 * rooms + rng.normal(0, 900, 120)
results = sm.OLS(price, sm.add_constant(np.column_stack([area, rooms]))).fit()


class Flats(NamedTuple):
    area: List[float]
    rooms: List[float]


class PriceEstimate(NamedTuple):
    mean: List[float]
    lower: List[float]
    upper: List[float]


def estimate(flats: Flats) -> PriceEstimate:
    """The expected price of each flat with its 95 % prediction interval."""
    exog = sm.add_constant(np.column_stack([flats.area, flats.rooms]), has_constant="add")
    frame = results.get_prediction(exog).summary_frame(alpha=0.05)
    return PriceEstimate(
        mean=frame["mean"].round(2).tolist(),
        lower=frame["obs_ci_lower"].round(2).tolist(),
        upper=frame["obs_ci_upper"].round(2).tolist(),
    )


model = Model(
    estimate=estimate,
    samples={"estimate": [{"area": [55.0, 120.0], "rooms": [2.0, 4.0]}]},
)
