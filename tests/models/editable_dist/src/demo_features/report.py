"""Only imported lazily, inside a model method: never in sys.modules when the model is dumped."""


def describe(score: float) -> str:
    return "high" if score > 0 else "low"
