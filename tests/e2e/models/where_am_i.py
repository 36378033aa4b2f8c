"""A model whose output depends on where it runs: the interpreter's prefix. The sample recorded
at dump time holds this machine's venv path; inside the image the same call answers the image's
venv, so the builder's validation must fail naming this sample."""
# mypy: disable-error-code="valid-type, call-arg, attr-defined"
# (create_namedtuple makes its classes at run time, as in the paper; mypy cannot see them)

import sys

from modelbay import List, Model, create_namedtuple

Question = create_namedtuple("Question", [("x", List[float])])
Answer = create_namedtuple("Answer", [("prefix", str)])


def where(question: Question) -> Answer:
    """The Python prefix this model runs under."""
    return Answer(prefix=sys.prefix)


model = Model(where=where, samples={"where": [{"x": [1.0]}]})
