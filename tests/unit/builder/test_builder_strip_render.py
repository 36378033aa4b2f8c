"""Where the strip step sits in the generated Dockerfile (docs/builder.md, "Lean images"): in the
step that installs the venv (so unstripped files never reach a layer), with the tool copied into
the `dependencies` stage only, on a plain base and after a system-package stage alike; nothing
of it without a strip image."""

from __future__ import annotations

import pytest
from modelbay_builder.context import (
    PIP_INSTALL_MARKER,
    STRIP_TOOL_DIR,
    VENV_COPY_MARKER,
    render_dockerfile,
)

BASE = "modelbay/python:3.13-trixie"
WHEEL = "modelbay_runtime-0.1.0-py3-none-any.whl"
TOOL = "modelbay/build-tools:strip"


def stages(dockerfile: str) -> dict[str, list[str]]:
    """Each stage's instructions (continuation lines joined), by its name (`final` for the last)."""
    found: dict[str, list[str]] = {}
    current: list[str] = []
    joined = dockerfile.replace("\\\n", " ")
    for line in (line.strip() for line in joined.splitlines()):
        if not line or line.startswith("#"):
            continue
        if line.startswith("FROM "):
            current = []
            found[line.split(" AS ")[1] if " AS " in line else "final"] = current
        current.append(line)
    return found


@pytest.mark.parametrize("system_packages", [False, True])
def test_the_venv_is_stripped_in_the_step_that_installs_it(system_packages: bool) -> None:
    built = stages(
        render_dockerfile(BASE, WHEEL, system_packages=system_packages, strip_image=TOOL)
    )
    dependencies = built["dependencies"]
    assert dependencies[1] == f"COPY --from={TOOL} {STRIP_TOOL_DIR} {STRIP_TOOL_DIR}"
    install = next(line for line in dependencies if PIP_INSTALL_MARKER in line)
    assert f"{STRIP_TOOL_DIR}/strip --strip-unneeded" in install
    # auditwheel's vendored libraries are pruned before anything is stripped
    assert install.index("-name '*.libs' -prune") < install.index("--strip-unneeded")
    assert "ln -f" in install  # identical vendored libraries hard-linked
    assert "-name '*.pyi'" in install
    assert len([line for line in dependencies if line.startswith("RUN ")]) == 1
    for name, instructions in built.items():
        if name != "dependencies":
            assert not any(STRIP_TOOL_DIR in line for line in instructions), name
    assert VENV_COPY_MARKER in built["final"]


def test_without_a_strip_image_nothing_is_stripped() -> None:
    dockerfile = render_dockerfile(BASE, WHEEL)
    assert STRIP_TOOL_DIR not in dockerfile
    assert "--strip-unneeded" not in dockerfile
    assert "-name '*.pyi'" in dockerfile  # stubs go whether or not symbols are stripped
    # so do static libraries and test suites named `test` (joblib's) as well as `tests`
    assert "-name '*.a'" in dockerfile
    assert "-name tests -o -name test " in dockerfile
