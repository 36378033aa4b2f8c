"""Dependency inference: tracing, direct uses, source imports, pruning, local modules, errors."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from importlib.metadata import version
from pathlib import Path
from types import ModuleType

import pytest
from modelbay.deps import (
    InferenceOptions,
    RequirementError,
    SerializationError,
    infer,
    load_script,
)
from modelbay.deps.distributions import DistributionIndex
from modelbay.deps.modules import ModuleClassifier, ModuleKind
from modelbay.deps.source_scan import imports_in_file

MODELS = Path(__file__).resolve().parents[2] / "models"


def _script(tmp_path: Path, source: str, name: str = "script") -> ModuleType:
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(source))
    return load_script(path)


def _names(requirements: tuple[object, ...]) -> set[str]:
    return {r.name for r in requirements}  # type: ignore[attr-defined]


def test_sklearn_pipeline_needs_only_scikit_learn_and_prunes_its_dependencies() -> None:
    module = load_script(MODELS / "text_pipeline.py")
    inference = infer({"classify": module.classify})
    assert [r.pip for r in inference.requirements] == [f"scikit-learn=={version('scikit-learn')}"]
    dropped = {d.name: d.reason for d in inference.dropped}
    # numpy arrays live inside the estimator: traced, but a dependency of scikit-learn.
    assert dropped["numpy"] == "dependency of scikit-learn"


def test_module_level_import_unused_by_the_method_is_not_a_requirement(tmp_path: Path) -> None:
    module = _script(
        tmp_path,
        """
        import numpy as np
        import pandas as pd

        def double(x: float) -> float:
            return float(np.float64(x) * 2)
        """,
    )
    inference = infer({"double": module.double})
    assert _names(inference.requirements) == {"numpy"}
    assert inference.requirements[0].reasons[0] == "traced object numpy (global 'np' of double)"


def test_import_inside_the_function_body_is_found_in_its_source(tmp_path: Path) -> None:
    module = _script(
        tmp_path,
        """
        def mean(values: list[float]) -> float:
            import pandas
            return float(pandas.Series(values).mean())
        """,
    )
    inference = infer({"mean": module.mean})
    assert _names(inference.requirements) == {"pandas"}
    assert inference.requirements[0].reasons == ("import in source of mean",)


def test_standard_library_and_platform_modules_are_never_listed(tmp_path: Path) -> None:
    module = _script(
        tmp_path,
        """
        import json, math, cloudpickle
        import modelbay_runtime.codec

        def f(x: float) -> str:
            return json.dumps(math.sqrt(x)) + str(cloudpickle) + str(modelbay_runtime.codec)
        """,
    )
    assert infer({"f": module.f}).requirements == ()


def test_user_requirements_exclusions_and_pins(tmp_path: Path) -> None:
    module = _script(
        tmp_path,
        """
        import numpy as np
        import pandas as pd

        def f(x: float) -> float:
            return float(np.sum(pd.Series([x])))
        """,
    )
    options = InferenceOptions(requirements=["httpx>=0.20", "pyyaml"], exclude=["Pandas"])
    inference = infer({"f": module.f}, options)
    pips = {r.name: r.pip for r in inference.requirements}
    assert pips == {
        "httpx": "httpx>=0.20",
        "numpy": f"numpy=={version('numpy')}",
        "pyyaml": f"pyyaml=={version('pyyaml')}",
    }
    assert {d.name: d.reason for d in inference.dropped}["pandas"] == "excluded by user"
    assert dict((r.name, r.reasons) for r in inference.requirements)["httpx"] == ("user request",)
    with pytest.raises(RequirementError, match="not valid"):
        infer({"f": module.f}, InferenceOptions(requirements=["not a requirement!"]))


def test_unresolvable_import_warns_with_the_module_name(tmp_path: Path) -> None:
    module = _script(
        tmp_path,
        """
        def f(x: int) -> int:
            import surely_not_installed_anywhere
            try:
                import optional_missing_module
            except ImportError:
                pass
            return x
        """,
    )
    with pytest.warns(UserWarning, match="surely_not_installed_anywhere") as caught:
        inference = infer({"f": module.f})
    assert [u.module for u in inference.unresolved_imports] == ["surely_not_installed_anywhere"]
    assert not any("optional_missing_module" in str(w.message) for w in caught)


def test_local_helper_module_is_shipped_and_its_imports_scanned() -> None:
    module = load_script(MODELS / "helper_pipeline.py")
    inference = infer({"is_positive": module.is_positive})
    assert [m.name for m in inference.local_modules] == ["local_helper"]
    assert list(inference.local_modules[0].bundle_paths()) == ["local_helper.py"]
    reasons = {r.name: r.reasons for r in inference.requirements}
    assert set(reasons) == {"numpy", "scikit-learn"}
    assert "import in local module local_helper" in reasons["numpy"]


def test_local_package_ships_whole_and_resolves_relative_imports(tmp_path: Path) -> None:
    package = tmp_path / "mypkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "features.py").write_text(
        "from ..util import scale\nimport yaml\n\ndef feature(x):\n    return scale(x)\n"
    )
    (package / "util.py").write_text("def scale(x):\n    return 2 * x\n")
    module = _script(
        tmp_path,
        """
        from mypkg.sub.features import feature

        def f(x: float) -> float:
            return feature(x)
        """,
    )
    inference = infer({"f": module.f})
    [local] = inference.local_modules
    assert local.name == "mypkg"
    assert sorted(local.bundle_paths()) == [
        "mypkg/__init__.py",
        "mypkg/sub/__init__.py",
        "mypkg/sub/features.py",
        "mypkg/util.py",
    ]
    assert _names(inference.requirements) == {"pyyaml"}
    found = {
        i.module for i in imports_in_file(package / "sub" / "features.py", "mypkg.sub.features")
    }
    assert found == {"mypkg.util", "yaml"}


def test_open_file_in_a_closure_is_named_with_its_path(tmp_path: Path) -> None:
    data = tmp_path / "weights.txt"
    data.write_text("1 2 3")
    module = _script(
        tmp_path,
        f"""
        def make():
            fh = open({str(data)!r})

            def predict(x: float) -> float:
                return x * len(fh.read())

            return predict

        predict = make()
        """,
    )
    with pytest.raises(SerializationError) as caught:
        infer({"predict": module.predict})
    message = str(caught.value)
    assert message.startswith(
        "method 'predict' → closure variable 'fh' → _io.TextIOWrapper cannot be serialized"
    )
    assert "weights.txt" in message
    module.predict.__closure__[0].cell_contents.close()


def test_lock_inside_an_object_is_named_with_its_path(tmp_path: Path) -> None:
    module = _script(
        tmp_path,
        """
        import threading

        class Scorer:
            def __init__(self):
                self.guard = threading.Lock()

        scorer = Scorer()

        def score(x: float) -> float:
            with scorer.guard:
                return x
        """,
    )
    with pytest.raises(SerializationError) as caught:
        infer({"score": module.score})
    assert str(caught.value).startswith(
        "method 'score' → global 'scorer' → attribute 'guard' → _thread.lock cannot be serialized"
    )


def test_a_method_that_needs_the_sdk_to_load_is_refused(tmp_path: Path) -> None:
    module = _script(
        tmp_path,
        """
        import modelbay.model

        def f(x: int) -> int:
            return x + len(modelbay.model.__name__)
        """,
    )
    with pytest.raises(SerializationError, match="modelbay SDK"):
        infer({"f": module.f})


def test_pickle_loads_without_the_sdk(tmp_path: Path) -> None:
    module = load_script(MODELS / "nested_enum.py")
    inference = infer({"identify": module.identify})
    (tmp_path / "model.pkl").write_bytes(inference.pickle)
    program = (
        "import sys, cloudpickle; sys.modules['modelbay'] = None\n"
        "fns = cloudpickle.loads(open('model.pkl', 'rb').read())\n"
        "Flower = fns['identify'].__annotations__['flowers'].__args__[0]\n"
        "print(fns['identify']([Flower(5.1, 3.5, 1.4, 0.2)]).guesses[0].species.name)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "SETOSA"


def test_module_classification(tmp_path: Path) -> None:
    (tmp_path / "my_local_mod.py").write_text("X = 1\n")
    sys.path.insert(0, str(tmp_path))
    try:
        classifier = ModuleClassifier(DistributionIndex())
        kinds = {
            name: classifier.classify(name).kind
            for name in (
                "json",
                "os.path",
                "modelbay.model",
                "cloudpickle",
                "sklearn.base",
                "my_local_mod",
                "__main__",
                "no_such_module_anywhere",
            )
        }
    finally:
        sys.path.remove(str(tmp_path))
    assert kinds == {
        "json": ModuleKind.STDLIB,
        "os.path": ModuleKind.STDLIB,
        "modelbay.model": ModuleKind.PLATFORM,
        "cloudpickle": ModuleKind.PLATFORM,
        "sklearn.base": ModuleKind.INSTALLED,
        "my_local_mod": ModuleKind.LOCAL,
        "__main__": ModuleKind.SCRIPT,
        "no_such_module_anywhere": ModuleKind.UNKNOWN,
    }
    assert classifier.classify("sklearn.base").distribution == "scikit-learn"


def test_transitive_closure_honours_markers() -> None:
    index = DistributionIndex()
    assert {"numpy", "scipy", "joblib", "threadpoolctl"} <= index.dependencies("scikit-learn")
    # httpx's `brotli` / `h2` deps are behind extras: not installed, not in the closure.
    assert "h2" not in index.dependencies("httpx")


def test_postponed_annotations_load_without_the_script(tmp_path: Path) -> None:
    module = _script(
        tmp_path,
        """
        from __future__ import annotations

        import enum
        from typing import NamedTuple

        from modelbay import List, Model

        class Color(enum.Enum):
            RED = 1
            BLUE = 2

        class Paint(NamedTuple):
            color: Color
            litres: float

        def mix(colors: List[Color], litres: float) -> List[Paint]:
            return [Paint(c, litres / len(colors)) for c in colors]

        model = Model(mix=mix, samples={"mix": [{"colors": ["RED", "BLUE"], "litres": 3.0}]})
        """,
        name="postponed",
    )
    from modelbay.bundle import dump

    bundle = dump(module.model, "paint", tmp_path / "bundle")
    program = (
        "import sys; sys.modules['modelbay'] = None\n"
        "from modelbay_runtime.__main__ import main\n"
        "sys.exit(main(['check', 'bundle']))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], cwd=bundle.parent, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("ok: 1 samples of paint")
