"""A bundle with the iris RF's Fig. 2 signature whose predict costs ~nothing (class 1 for every
row): issue 14's ceiling measurement (`servebench.ceiling`) serves it to see what the runtime
costs when the model call is free. `python peers/export_trivial.py WORK` -> WORK/modelbay/trivial.
"""

import shutil
import sys
from pathlib import Path
from typing import Any


def build_model() -> Any:
    from export_modelbay import fig2_messages
    from modelbay import Model

    Input, Output = fig2_messages()  # noqa: N806 - the message names of Fig. 2

    def classify_iris(df: Input) -> Output:
        return Output(IrisType=[1] * len(df.sepal_length))

    return Model(classify=classify_iris)


def main(work_dir: Path) -> int:
    import modelbay

    target = work_dir / "modelbay" / "trivial"
    shutil.rmtree(target, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    modelbay.dump(build_model(), "iris_trivial", str(target))
    print(f"modelbay bundle -> {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
