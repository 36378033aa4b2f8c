"""Sentiment over raw text: sklearn Pipeline(TfidfVectorizer, LogisticRegression), List[str]."""

from modelbay import List, Model
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

EXPECTED = {"scikit-learn"}

texts = [
    "a wonderful, moving film",
    "great acting and a great story",
    "I loved every minute",
    "boring and far too long",
    "terrible plot, awful acting",
    "I hated every minute",
]
labels = ["positive", "positive", "positive", "negative", "negative", "negative"]
pipeline = Pipeline([("tfidf", TfidfVectorizer()), ("lr", LogisticRegression())])
pipeline.fit(texts, labels)


def classify(reviews: List[str]) -> List[str]:
    """Label each review 'positive' or 'negative'."""
    return [str(label) for label in pipeline.predict(reviews)]


model = Model(
    classify=classify,
    samples={"classify": [{"reviews": ["a great film", "awful and boring"]}]},
)
