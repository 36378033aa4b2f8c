"""A tiny model without third-party imports; the unsatisfiable-requirement test adds a pin that
no index has (`-r numpy==99999.0`), so dependency resolution must fail with pip's reason."""
# mypy: disable-error-code="valid-type, call-arg, attr-defined"
# (create_namedtuple makes its classes at run time, as in the paper; mypy cannot see them)

from modelbay import List, Model, create_namedtuple

Numbers = create_namedtuple("Numbers", [("x", List[float])])


def double(numbers: Numbers) -> Numbers:
    """Every number times two."""
    return Numbers(x=[2 * value for value in numbers.x])


model = Model(double=double, samples={"double": [{"x": [1.0, 2.5]}]})
