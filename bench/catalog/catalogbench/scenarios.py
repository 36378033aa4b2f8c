"""The requests of each scenario, drawn reproducibly from the seeded catalog's own vocabulary,
and the search criteria behind them (for the query plans)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from urllib.parse import urlencode

from catalogbench import generate

# Words people type: domain names, tasks and data words of the generated catalog.
KEYWORDS = sorted(
    {domain for domain in generate.DOMAINS}
    | {task for spec in generate.DOMAINS.values() for task in spec[1]}
    | {word for spec in generate.DOMAINS.values() for word in spec[2]}
)
CATEGORIES = sorted({spec[0] for spec in generate.DOMAINS.values()})
REQUESTS_PER_SCENARIO = 400


@dataclass(frozen=True)
class Scenario:
    name: str
    what: str
    paths: list[str]
    sample: dict[str, str]  # one request's query parameters, for EXPLAIN


def typo(word: str, rng: random.Random) -> str:
    """One edit a hurried typist makes: swap two neighbours, drop or double a letter."""
    at = rng.randrange(1, len(word) - 1)
    edit = rng.choice(("swap", "drop", "double"))
    if edit == "swap":
        return word[:at] + word[at + 1] + word[at] + word[at + 2 :]
    if edit == "drop":
        return word[:at] + word[at + 1 :]
    return word[:at] + word[at] + word[at:]


def search_path(params: dict[str, str]) -> str:
    return "/v1/models?" + urlencode(params)


def scenarios(seed: int, page_models: list[tuple[str, str]]) -> list[Scenario]:
    rng = random.Random(seed + 10)
    keyword = [{"q": rng.choice(KEYWORDS)} for _ in range(REQUESTS_PER_SCENARIO)]
    faceted = [
        {"q": rng.choice(KEYWORDS), "category": rng.choice(CATEGORIES), "facets": "true"}
        for _ in range(REQUESTS_PER_SCENARIO)
    ]
    typos = [
        {"q": typo(rng.choice([w for w in KEYWORDS if len(w) >= 5]), rng)}
        for _ in range(REQUESTS_PER_SCENARIO)
    ]
    by_downloads = [
        {"sort": "downloads", **({"category": rng.choice(CATEGORIES)} if i % 2 else {})}
        for i in range(REQUESTS_PER_SCENARIO)
    ]
    pages = [f"/v1/models/{owner}/{name}" for owner, name in page_models]
    return [
        Scenario("keyword", "`q=<word>`, relevance", [search_path(p) for p in keyword], keyword[0]),
        Scenario(
            "keyword + facet",
            "`q=<word>&category=<c>&facets=true`: a filtered page and all five facets counted",
            [search_path(p) for p in faceted],
            faceted[0],
        ),
        Scenario("typo", "`q=<word with one edit>`", [search_path(p) for p in typos], typos[0]),
        Scenario(
            "sort by downloads",
            "`sort=downloads`, every other request in a category",
            [search_path(p) for p in by_downloads],
            by_downloads[1],
        ),
        Scenario("model page", "`GET /v1/models/{owner}/{name}` (model + versions)", pages, {}),
    ]
