"""Feature helpers a data scientist keeps in their own repository, installed with `pip -e`."""

from demo_features.scaling import standardize

__all__ = ["standardize"]
