"""The resolver's pure parts: pip's messages in contributor words, locks, wheelhouses, pip's
command line and the model server's own requirements. No network: pip is not run here."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest
from modelbay_onboarding.errors import ResolverUnavailableError
from modelbay_onboarding.pip_errors import explain_pip_failure
from modelbay_onboarding.pip_runner import PipOptions, pip_command, runtime_server_requirements
from modelbay_onboarding.wheelhouse import (
    LOCK_FILE,
    lock_from_wheels,
    lock_hash,
    requirements_hash,
    write_wheelhouse,
)

NOT_FOUND = """\
Collecting scikit-learn==99.0 (from -r requirements.in (line 3))
ERROR: Could not find a version that satisfies the requirement scikit-learn==99.0 (from versions: \
1.4.0rc1, 1.4.0, 1.4.2, 1.5.0, 1.5.1, 1.5.2, 1.6.0rc1, 1.6.0)
ERROR: No matching distribution found for scikit-learn==99.0
"""
NO_WHEELS = """\
ERROR: Could not find a version that satisfies the requirement no-such-package-xyz (from \
versions: none)
ERROR: No matching distribution found for no-such-package-xyz
"""
CONFLICT = """\
ERROR: Cannot install numpy==1.26.4 and numpy==2.1.0 because these package versions have \
conflicting dependencies.

The conflict is caused by:
    The user requested numpy==1.26.4
    The user requested numpy==2.1.0

To fix this you could try to:
ERROR: ResolutionImpossible: for help visit https://pip.pypa.io/...
"""
OFFLINE = """\
WARNING: Retrying (Retry(total=4)) after connection broken by 'NewConnectionError(...: Failed to \
establish a new connection: [Errno 111] Connection refused')': /simple/numpy/
ERROR: Could not find a version that satisfies the requirement numpy (from versions: none)
"""


def test_a_missing_version_lists_what_exists_and_says_what_to_do() -> None:
    error = explain_pip_failure(NOT_FOUND, "3.11")
    assert error.reason.startswith("No version of 'scikit-learn==99.0' exists on the index")
    assert "Python 3.11" in error.reason
    assert "available: 1.4.0, 1.4.2, 1.5.0, 1.5.1, 1.5.2, 1.6.0" in error.reason
    assert "rc1" not in error.reason
    assert error.reason.endswith("fix the pin or exclude it")
    assert "No matching distribution found" in error.detail  # pip's own words stay available


def test_a_package_without_wheels_says_so() -> None:
    error = explain_pip_failure(NO_WHEELS, "3.11")
    assert "No installable wheel of 'no-such-package-xyz'" in error.reason
    assert "check the name" in error.reason


def test_a_conflict_names_the_conflicting_pins() -> None:
    error = explain_pip_failure(CONFLICT, "3.11")
    assert "The user requested numpy==1.26.4; The user requested numpy==2.1.0" in error.reason
    assert "loosen or remove" in error.reason


def test_an_unreachable_index_is_transient_not_the_contributors_fault() -> None:
    with pytest.raises(ResolverUnavailableError, match="could not be reached"):
        explain_pip_failure(OFFLINE, "3.11")


def test_anything_else_falls_back_to_pips_last_error() -> None:
    error = explain_pip_failure("ERROR: something new went wrong\n", "3.11")
    assert error.reason.endswith("something new went wrong")


def test_lock_is_sorted_canonical_pins_of_the_wheels(tmp_path: Path) -> None:
    for wheel in (
        "scikit_learn-1.5.2-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "Numpy-2.1.3-cp311-cp311-manylinux_2_17_x86_64.whl",
        "joblib-1.4.2-py3-none-any.whl",
    ):
        (tmp_path / wheel).write_bytes(b"wheel")
    (tmp_path / "not-a-wheel.txt").write_text("x")
    assert lock_from_wheels(tmp_path) == ("joblib==1.4.2", "numpy==2.1.3", "scikit-learn==1.5.2")


def test_lock_hash_depends_on_pins_and_python() -> None:
    lock = ("joblib==1.4.2", "numpy==2.1.3")
    assert lock_hash(lock, "3.11") == lock_hash(list(lock), "3.11")
    assert lock_hash(lock, "3.11") != lock_hash(lock, "3.12")
    assert lock_hash(lock, "3.11") != lock_hash(("numpy==2.1.3",), "3.11")


def test_requirements_hash_ignores_order_and_duplicates() -> None:
    index = "https://pypi.org/simple"
    first = requirements_hash(["numpy==2.1.3", "scikit-learn==1.5.2"], "3.11", index)
    again = requirements_hash(
        ["scikit-learn==1.5.2", "numpy==2.1.3", "numpy==2.1.3"], "3.11", index
    )
    assert first == again
    assert first != requirements_hash(["numpy==2.1.3"], "3.11", index)


def test_the_wheelhouse_holds_the_wheels_and_the_lock_file_reproducibly(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    (wheels / "joblib-1.4.2-py3-none-any.whl").write_bytes(b"joblib wheel")
    lock = lock_from_wheels(wheels)
    first, second = tmp_path / "one.tar", tmp_path / "two.tar"
    assert write_wheelhouse(wheels, lock, "3.11", first) == 1
    write_wheelhouse(wheels, lock, "3.11", second)
    assert first.read_bytes() == second.read_bytes()
    with tarfile.open(first) as tar:
        assert tar.getnames() == [LOCK_FILE, "joblib-1.4.2-py3-none-any.whl"]
        lock_file = tar.extractfile(LOCK_FILE)
        assert lock_file is not None
        assert lock_file.read().decode().splitlines()[1:] == ["joblib==1.4.2"]


def test_pip_runs_isolated_for_the_image_target(tmp_path: Path) -> None:
    command = pip_command(tmp_path / "r.txt", tmp_path / "w", "3.11", PipOptions())
    joined = " ".join(command)
    assert command[1:4] == ["-m", "pip", "download"]
    for expected in (
        "--isolated",
        "--only-binary=:all:",
        "--platform manylinux2014_x86_64",
        "--platform manylinux_2_17_x86_64",
        "--platform manylinux_2_28_x86_64",
        "--platform manylinux_2_27_x86_64",
        "--platform manylinux_2_36_x86_64",
        "--python-version 3.11",
        "--implementation cp",
    ):
        assert expected in joined
    assert "--index-url" not in command
    # Newest glibc first, as pip ranks a host's own tags; nothing newer than the bases' glibc.
    platforms = [command[i + 1] for i, word in enumerate(command) if word == "--platform"]
    assert platforms[0] == "manylinux_2_36_x86_64"
    assert "manylinux_2_37_x86_64" not in platforms
    custom = pip_command(tmp_path / "r", tmp_path / "w", "3.11", PipOptions(index_url="http://i"))
    assert custom[custom.index("--index-url") + 1] == "http://i"


def test_the_model_servers_own_requirements_are_included_for_linux() -> None:
    requirements = runtime_server_requirements("3.11")
    names = {r.split(">")[0].split("=")[0] for r in requirements}
    assert {"cloudpickle", "protobuf", "uvicorn", "uvloop", "httptools", "prometheus-client"} <= (
        names
    )
    assert not any(";" in r for r in requirements)  # markers evaluated for the target, dropped
