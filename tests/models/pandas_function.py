"""A plain function built on pandas: a DataFrame in, per-group totals out."""

import pandas as pd
from modelbay import Dict, Model, create_dataframe

EXPECTED = {"pandas"}

Orders = create_dataframe("Orders", [("customer", str), ("price", float), ("quantity", int)])


def totals(orders: Orders) -> Dict[str, float]:
    """Revenue per customer."""
    revenue = pd.Series(orders["price"] * orders["quantity"], name="revenue")
    grouped = revenue.groupby(orders["customer"]).sum()
    return {str(k): float(v) for k, v in grouped.items()}


model = Model(
    totals=totals,
    samples={
        "totals": [
            {"customer": ["ann", "bob", "ann"], "price": [2.5, 10.0, 1.0], "quantity": [2, 1, 3]}
        ]
    },
)
