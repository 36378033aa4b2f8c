import numpy as np


def standardize(values: np.ndarray, mean: float, std: float) -> np.ndarray:
    return (values - mean) / std
