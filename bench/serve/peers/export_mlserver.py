"""Write one MLServer model repository per model: model-settings.json next to the joblib file.

The server-wide settings.json (ports) is written by the harness at launch time, because each
launch gets fresh free ports.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

# MLServer's adaptive batching (issue 14): at most 64 requests or 2 ms per batch; the
# `mlserver-batch` peer serves this second repository.
BATCHING = {"max_batch_size": 64, "max_batch_time": 0.002}


def main(work_dir: Path, model_names: list[str]) -> None:
    for repository, extra in (("mlserver", {}), ("mlserver-batch", BATCHING)):
        write_repository(work_dir / repository, model_names, extra)


def write_repository(root: Path, model_names: list[str], extra: dict[str, float]) -> None:
    for name in model_names:
        model_dir = root / name / f"iris-{name}"
        shutil.rmtree(model_dir.parent, ignore_errors=True)
        model_dir.mkdir(parents=True)
        shutil.copy(root.parent / "models" / f"{name}.joblib", model_dir / "model.joblib")
        settings = {
            "name": f"iris-{name}",
            "implementation": "mlserver_sklearn.SKLearnModel",
            "parameters": {"uri": "./model.joblib", "version": "v1"},
            **extra,
        }
        (model_dir / "model-settings.json").write_text(json.dumps(settings, indent=2))
        print(f"mlserver model -> {model_dir}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2:])
