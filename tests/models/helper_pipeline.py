"""A pipeline whose preprocessing lives in a local module next to this script."""

from local_helper import clean_texts
from modelbay import List, Model
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

EXPECTED = {"numpy", "scikit-learn"}
EXPECTED_LOCAL_MODULES = {"local_helper"}

texts = ["Très BON  film", "super   film", "BON jeu", "mauvais film", "très mauvais", "nul"]
labels = [1, 1, 1, 0, 0, 0]
pipeline = Pipeline(
    [
        ("clean", FunctionTransformer(clean_texts)),
        ("tfidf", TfidfVectorizer()),
        ("lr", LogisticRegression()),
    ]
)
pipeline.fit(texts, labels)


def is_positive(reviews: List[str]) -> List[bool]:
    return [bool(label) for label in pipeline.predict(reviews)]


model = Model(
    is_positive=is_positive,
    samples={"is_positive": [{"reviews": ["Très   bon", "MAUVAIS film"]}]},
)
