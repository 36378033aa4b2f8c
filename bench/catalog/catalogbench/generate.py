"""A realistic, reproducible catalog: models with names, descriptions, tags, methods, field
names and libraries drawn from per-domain vocabularies, owners and popularity skewed the way a
real hub's are (a few owners and models get most of everything). Pure: the same seed gives the
same rows on every machine."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

# domain: (category, tasks, data words, field names, targets)
DOMAINS: dict[str, tuple[str, list[str], list[str], list[str], list[str]]] = {
    "iris": (
        "classification",
        ["classifier"],
        ["flower", "petal", "species"],
        ["sepal_length", "sepal_width", "petal_length", "petal_width"],
        ["species"],
    ),
    "fraud": (
        "anomaly-detection",
        ["detector", "scorer"],
        ["transaction", "payment", "card"],
        ["amount", "merchant_id", "card_age_days", "country", "hour_of_day"],
        ["fraud_probability"],
    ),
    "churn": (
        "classification",
        ["predictor", "classifier"],
        ["customer", "subscription"],
        ["tenure_months", "monthly_charges", "contract_type", "support_calls"],
        ["churn_risk"],
    ),
    "housing": (
        "regression",
        ["estimator", "regressor"],
        ["house", "price", "property"],
        ["floor_area", "bedrooms", "bathrooms", "year_built", "zip_code"],
        ["price"],
    ),
    "sentiment": (
        "nlp",
        ["analyzer", "classifier"],
        ["review", "tweet", "opinion", "text"],
        ["text", "language"],
        ["sentiment", "polarity"],
    ),
    "translation": (
        "nlp",
        ["translator"],
        ["sentence", "document", "language"],
        ["source_text", "source_language", "target_language"],
        ["translation"],
    ),
    "summarization": (
        "nlp",
        ["summarizer"],
        ["article", "document", "news"],
        ["text", "max_length"],
        ["summary"],
    ),
    "ner": (
        "nlp",
        ["tagger", "extractor"],
        ["entity", "text", "name"],
        ["text"],
        ["entities", "spans"],
    ),
    "vision": (
        "vision",
        ["detector", "classifier", "segmenter"],
        ["image", "photo", "object"],
        ["pixels", "width", "height", "channels"],
        ["label", "boxes", "mask"],
    ),
    "ocr": (
        "vision",
        ["reader", "recognizer"],
        ["document", "receipt", "scan"],
        ["pixels", "dpi"],
        ["text", "confidence"],
    ),
    "speech": (
        "audio",
        ["transcriber", "recognizer"],
        ["speech", "audio", "voice"],
        ["waveform", "sample_rate"],
        ["transcript"],
    ),
    "music": (
        "audio",
        ["tagger", "classifier"],
        ["music", "song", "genre"],
        ["waveform", "sample_rate", "duration_seconds"],
        ["genre", "mood"],
    ),
    "demand": (
        "time-series",
        ["forecaster"],
        ["demand", "sales", "inventory"],
        ["history", "horizon", "store_id", "holiday"],
        ["forecast"],
    ),
    "energy": (
        "time-series",
        ["forecaster", "predictor"],
        ["energy", "load", "consumption"],
        ["history", "temperature", "horizon"],
        ["forecast"],
    ),
    "movies": (
        "recommendation",
        ["recommender", "ranker"],
        ["movie", "rating", "user"],
        ["user_id", "item_ids", "top_k"],
        ["recommendations", "scores"],
    ),
    "products": (
        "recommendation",
        ["recommender", "ranker"],
        ["product", "basket", "shopper"],
        ["user_id", "basket", "top_k"],
        ["recommendations"],
    ),
    "segments": (
        "clustering",
        ["clusterer", "segmenter"],
        ["customer", "segment", "cohort"],
        ["recency", "frequency", "monetary"],
        ["cluster"],
    ),
    "sensors": (
        "anomaly-detection",
        ["detector", "monitor"],
        ["sensor", "machine", "vibration"],
        ["readings", "machine_id", "temperature"],
        ["anomaly_score"],
    ),
    "credit": (
        "classification",
        ["scorer", "classifier"],
        ["loan", "credit", "applicant"],
        ["income", "debt_ratio", "age", "credit_history_months"],
        ["default_risk"],
    ),
    "medical": (
        "classification",
        ["classifier", "predictor"],
        ["patient", "diagnosis", "scan"],
        ["age", "blood_pressure", "glucose", "bmi"],
        ["diagnosis"],
    ),
}
STACKS: dict[str, list[list[str]]] = {
    "classification": [
        ["scikit-learn", "numpy"],
        ["xgboost", "numpy", "pandas"],
        ["lightgbm", "pandas"],
        ["torch", "numpy"],
    ],
    "regression": [["scikit-learn", "numpy", "pandas"], ["xgboost", "pandas"], ["lightgbm"]],
    "anomaly-detection": [["scikit-learn", "numpy"], ["pyod", "numpy"], ["torch"]],
    "nlp": [
        ["transformers", "torch"],
        ["spacy"],
        ["scikit-learn", "nltk"],
        ["sentencepiece", "torch"],
    ],
    "vision": [
        ["torch", "torchvision", "pillow"],
        ["tensorflow", "pillow"],
        ["onnxruntime", "numpy"],
    ],
    "audio": [["torch", "torchaudio"], ["librosa", "numpy"]],
    "time-series": [["statsmodels", "pandas"], ["prophet", "pandas"], ["lightgbm", "pandas"]],
    "recommendation": [["implicit", "scipy"], ["lightfm", "numpy"], ["torch"]],
    "clustering": [["scikit-learn", "numpy"], ["hdbscan", "numpy"]],
}
METHODS = {
    "classification": ["classify", "predict", "predict_proba"],
    "regression": ["predict", "estimate"],
    "anomaly-detection": ["score", "detect"],
    "nlp": ["analyze", "predict", "embed"],
    "vision": ["detect", "classify", "segment"],
    "audio": ["transcribe", "classify"],
    "time-series": ["forecast"],
    "recommendation": ["recommend", "rank"],
    "clustering": ["assign", "fit_predict"],
}
ADJECTIVES = [
    "fast",
    "tiny",
    "robust",
    "deep",
    "simple",
    "distilled",
    "multilingual",
    "quantized",
    "lightweight",
    "accurate",
    "explainable",
    "streaming",
    "compact",
    "large",
    "base",
    "gradient-boosted",
    "calibrated",
    "federated",
    "sparse",
    "hybrid",
]
DATASETS = [
    "public data",
    "a proprietary dataset",
    "Kaggle data",
    "five years of logs",
    "synthetic data",
    "the UCI repository",
    "open government data",
    "crowd labels",
]
TAGS = [
    "tabular",
    "onnx",
    "production",
    "research",
    "baseline",
    "explainable",
    "gpu",
    "cpu",
    "english",
    "multilingual",
    "finance",
    "retail",
    "health",
    "iot",
    "edge",
    "realtime",
    "batch",
    "benchmark",
    "fine-tuned",
    "pretrained",
    "demo",
    "experimental",
]
LICENSES = (
    ["MIT"] * 35
    + ["Apache-2.0"] * 30
    + ["BSD-3-Clause"] * 10
    + ["GPL-3.0"] * 5
    + ["CC-BY-4.0"] * 10
    + ["proprietary"] * 10
)
FIRST = [
    "ana",
    "ben",
    "chen",
    "dara",
    "eli",
    "fatima",
    "gus",
    "hana",
    "ivan",
    "jade",
    "kofi",
    "lena",
    "mo",
    "nina",
    "omar",
    "pia",
    "quinn",
    "ravi",
    "sara",
    "tom",
    "uma",
    "vic",
    "wen",
    "xena",
    "yusuf",
    "zoe",
]
ORG_WORDS = [
    "acme",
    "deep",
    "vision",
    "data",
    "neural",
    "open",
    "blue",
    "quant",
    "health",
    "retail",
    "signal",
    "atlas",
    "nova",
    "terra",
]
STATUSES_PRIVATE = ["uploaded", "resolving", "building", "ready", "ready", "failed"]
DOWNLOAD_KINDS = ["image", "bundle", "proto", "openapi", "sbom"]
KIND_WEIGHTS = [60, 20, 10, 8, 2]
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class ModelSeed:
    id: int
    owner: str
    owner_org: str | None
    name: str
    visibility: str
    description: str
    category: str
    license: str
    tags: list[str]
    libraries: list[str]
    methods: list[str]
    fields: list[str]
    outputs: list[str]
    interface_terms: str
    versions: int
    latest_status: str
    created_at: datetime


def owners(rng: random.Random, users: int, orgs: int) -> tuple[list[str], list[str]]:
    people = [f"{rng.choice(FIRST)}{index}" for index in range(users)]
    companies = [
        f"{rng.choice(ORG_WORDS)}-{rng.choice(ORG_WORDS)}-{index}" for index in range(orgs)
    ]
    return people, companies


def zipf_weights(count: int, exponent: float = 1.1) -> list[float]:
    return [1.0 / (rank**exponent) for rank in range(1, count + 1)]


def models(seed: int, count: int) -> Iterator[ModelSeed]:
    rng = random.Random(seed)
    people, companies = owners(rng, users=max(count // 25, 10), orgs=max(count // 300, 3))
    everyone = companies + people  # orgs first: they get the head of the popularity curve
    owner_weights = list(itertools.accumulate(zipf_weights(len(everyone), 0.9)))
    names_taken: set[tuple[str, str]] = set()
    domains = list(DOMAINS)
    for model_id in range(1, count + 1):
        owner = rng.choices(everyone, cum_weights=owner_weights)[0]
        domain = rng.choice(domains)
        category, tasks, words, fields, targets = DOMAINS[domain]
        task = rng.choice(tasks)
        name = f"{rng.choice(ADJECTIVES)}-{domain}-{task}"
        if rng.random() < 0.5:
            name += rng.choice(["-v2", "-v3", "-base", "-large", "-small", "-ft", "-2025"])
        while (owner, name) in names_taken:
            name += f"-{rng.randrange(10, 99)}"
        names_taken.add((owner, name))
        libraries = sorted(set(rng.choice(STACKS[category])))
        chosen_fields = rng.sample(fields, k=min(len(fields), rng.randint(1, len(fields))))
        output = rng.choice(targets)
        method = rng.choice(METHODS[category])
        description = (
            f"A {rng.choice(ADJECTIVES)} {domain} {task} for {rng.choice(words)} data: "
            f"predicts {output.replace('_', ' ')} from {', '.join(chosen_fields)}. "
            f"Trained on {rng.choice(DATASETS)} with {libraries[0]}."
        )
        if rng.random() < 0.4:
            description += f" Works well for {rng.choice(words)} and {rng.choice(words)} tasks."
        roll = rng.random()
        visibility = "public" if roll < 0.88 else ("private" if roll < 0.96 else "org")
        org = owner if owner in companies else None
        if visibility == "org" and org is None:
            visibility = "private"
        status = "ready" if visibility == "public" else rng.choice(STATUSES_PRIVATE)
        yield ModelSeed(
            id=model_id,
            owner=owner,
            owner_org=org,
            name=name,
            visibility=visibility,
            description=description,
            category=category,
            license=rng.choice(LICENSES),
            tags=sorted({*rng.sample(TAGS, k=rng.randint(1, 4)), domain}),
            libraries=libraries,
            methods=[method],
            fields=chosen_fields,
            outputs=[output],
            interface_terms=" ".join(
                [method, f"{method.title()}In", f"{method.title()}Out", *chosen_fields, output]
            ),
            versions=rng.choice([1, 1, 1, 2, 2, 3]),
            latest_status=status,
            created_at=EPOCH + timedelta(minutes=model_id * 5 + rng.randrange(5)),
        )


def popularity(seed: int, count: int) -> list[float]:
    """Cumulative weights of models by popularity: a shuffled Zipf curve (the popular models are
    not the oldest ones)."""
    rng = random.Random(seed + 1)
    weights = zipf_weights(count)
    rng.shuffle(weights)
    return list(itertools.accumulate(weights))


def downloads(seed: int, cumulative: list[float], total: int) -> dict[tuple[int, str], int]:
    """`total` downloads as counts per (model id, kind), popular models getting most."""
    rng = random.Random(seed + 2)
    counts: dict[tuple[int, str], int] = {}
    picked = rng.choices(range(1, len(cumulative) + 1), cum_weights=cumulative, k=total)
    kinds = rng.choices(DOWNLOAD_KINDS, weights=KIND_WEIGHTS, k=total)
    for model_id, kind in zip(picked, kinds, strict=True):
        counts[(model_id, kind)] = counts.get((model_id, kind), 0) + 1
    return counts


def ratings(
    seed: int, cumulative: list[float], total: int, raters: int
) -> Iterator[tuple[int, str, int]]:
    """`total` (model id, user, stars), one per user and model, popular models rated most; each
    model has its own quality, so averages differ."""
    rng = random.Random(seed + 3)
    per_model: dict[int, int] = {}
    for model_id in rng.choices(range(1, len(cumulative) + 1), cum_weights=cumulative, k=total):
        per_model[model_id] = per_model.get(model_id, 0) + 1
    for model_id, wanted in sorted(per_model.items()):
        quality = rng.uniform(2.0, 4.9)
        for user in rng.sample(range(raters), k=min(wanted, raters)):
            stars = min(5, max(1, round(rng.gauss(quality, 0.9))))
            yield model_id, f"rater{user}", stars
