"""Dump each model as a Modelbay bundle with the paper's Fig. 2 signature.

Input is a namedtuple of four List[float] columns, output is Output(IrisType: List[int]).
Exits with status 3 (and says why) while the SDK has no `modelbay.dump` yet, so the harness
can mark the Modelbay cells as pending instead of failing the whole run.
"""

# No `from __future__ import annotations`: the SDK reads classify_iris's annotations at
# Model(...) time, and string annotations naming local classes could not be resolved.

import shutil
import sys
from pathlib import Path
from typing import Any

import joblib
import numpy as np

PENDING_EXIT_CODE = 3


def fig2_messages() -> tuple[Any, Any]:
    """Fig. 2's Input and Output messages (also the free model's, export_trivial.py)."""
    from modelbay import List, create_namedtuple

    Input: Any = create_namedtuple(  # noqa: N806 - the message names of Fig. 2
        "Input",
        [
            ("sepal_length", List[float]),
            ("sepal_width", List[float]),
            ("petal_length", List[float]),
            ("petal_width", List[float]),
        ],
    )
    Output: Any = create_namedtuple("Output", [("IrisType", List[int])])  # noqa: N806
    return Input, Output


def build_model(clf: Any) -> Any:
    from modelbay import Model

    # Fig. 2, verbatim apart from the estimator being passed in.
    Input, Output = fig2_messages()  # noqa: N806

    def classify_iris(df: Input) -> Output:
        features: Any = np.column_stack(df)
        return Output(IrisType=clf.predict(features))

    return Model(classify=classify_iris)


def main(work_dir: Path, model_names: list[str]) -> int:
    try:
        import modelbay
    except ImportError as exc:
        print(f"modelbay SDK not importable: {exc}")
        return PENDING_EXIT_CODE
    if not hasattr(modelbay, "dump"):
        print("modelbay.dump does not exist yet (SDK issue 3 not landed)")
        return PENDING_EXIT_CODE
    for name in model_names:
        clf = joblib.load(work_dir / "models" / f"{name}.joblib")
        target = work_dir / "modelbay" / name
        shutil.rmtree(target, ignore_errors=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        modelbay.dump(build_model(clf), f"iris_{name}", str(target))
        print(f"modelbay bundle -> {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), sys.argv[2:]))
