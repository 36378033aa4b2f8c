"""A two-layer MLP on iris-like features, trained with PyTorch on the CPU (shared by the scripts).

The data are three seeded Gaussian clusters around the iris species' feature means, so the
example needs neither scikit-learn nor a download. Only torch and numpy are imported.
"""

from __future__ import annotations

import numpy as np
import torch

# Per-species means and spreads of sepal length/width, petal length/width (cm), as in Fisher's iris.
SPECIES_MEANS = np.array(
    [[5.01, 3.43, 1.46, 0.25], [5.94, 2.77, 4.26, 1.33], [6.59, 2.97, 5.55, 2.03]], np.float32
)
SPECIES_SPREADS = np.array(
    [[0.35, 0.38, 0.17, 0.11], [0.52, 0.31, 0.47, 0.20], [0.64, 0.32, 0.55, 0.27]], np.float32
)
FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")


def iris_like(rows_per_species: int = 50, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Features (float32, n×4) and species labels (int64, n) drawn around the iris means."""
    rng = np.random.default_rng(seed)
    features = np.concatenate(
        [
            rng.normal(mean, spread, (rows_per_species, 4))
            for mean, spread in zip(SPECIES_MEANS, SPECIES_SPREADS, strict=True)
        ]
    ).astype(np.float32)
    labels = np.repeat(np.arange(3), rows_per_species).astype(np.int64)
    return features, labels


def train_mlp(features: np.ndarray, labels: np.ndarray, epochs: int = 300) -> torch.nn.Sequential:
    """4 → 16 (ReLU) → 3 logits, full-batch Adam; deterministic for a given torch build."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
    optimiser = torch.optim.Adam(net.parameters(), lr=0.05)
    inputs, targets = torch.from_numpy(features), torch.from_numpy(labels)
    for _ in range(epochs):
        optimiser.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(inputs), targets)
        loss.backward()
        optimiser.step()
    return net.eval()


def accuracy(net: torch.nn.Module, features: np.ndarray, labels: np.ndarray) -> float:
    with torch.no_grad():
        predicted = net(torch.from_numpy(features)).argmax(dim=1).numpy()
    return float((predicted == labels).mean())
