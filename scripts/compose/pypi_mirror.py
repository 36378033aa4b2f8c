"""Mirror wheels into the static package index the compose stack's onboarding resolves from.

    .venv/bin/python scripts/compose/pypi_mirror.py [--into DIR] REQUIREMENT...

Downloads, on the host, the wheels REQUIREMENT... need for the model images' target (CPython
3.11, manylinux x86_64: the same flags as the resolver's `pip download`) and files each under
DIR/simple/<normalized project name>/ (PEP 503), the tree `deploy/local/pypi` serves over HTTPS
with the certificate in DIR-tls/ (made here once, see mirror_tls.py). Default DIR:
var/compose/pypi. With no REQUIREMENT it only makes sure the tree and the certificate exist.
Adding is idempotent; nothing is ever removed, so models mirrored earlier still resolve.
Containers cannot reach PyPI on these machines, nor at an air-gapped site: this is the
operator's "mirror what contributors may use" step, by hand.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from packaging.utils import canonicalize_name, parse_wheel_filename

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mirror_tls import ensure_mirror_tls  # a sibling script, not a package

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_INDEX_DIR = ROOT / "var" / "compose" / "pypi"
TARGET_FLAGS = (
    "--only-binary=:all:",
    "--implementation", "cp",
    "--python-version", "3.11",
    "--platform", "manylinux2014_x86_64",
    "--platform", "manylinux_2_17_x86_64",
    "--platform", "manylinux_2_28_x86_64",
)  # fmt: skip


def download(requirements: list[str], destination: Path) -> None:
    command = [
        sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--no-input",
        "--progress-bar", "off", "-q", *TARGET_FLAGS, "--dest", str(destination), *requirements,
    ]  # fmt: skip
    subprocess.run(command, check=True, timeout=1800)


def file_into_index(wheels: Path, index_dir: Path) -> list[str]:
    """Move each wheel to simple/<project>/; returns the names of newly added files."""
    added = []
    for wheel in sorted(wheels.glob("*.whl")):
        project = canonicalize_name(parse_wheel_filename(wheel.name)[0])
        target_dir = index_dir / "simple" / project
        target_dir.mkdir(parents=True, exist_ok=True)
        target = target_dir / wheel.name
        if not target.exists():
            shutil.move(str(wheel), target)
            target.chmod(0o644)
            added.append(wheel.name)
    return added


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--into", type=Path, default=DEFAULT_INDEX_DIR, help="index directory")
    parser.add_argument("requirements", nargs="*", help="PEP 508 requirements to mirror")
    args = parser.parse_args(argv)
    index_dir: Path = args.into
    (index_dir / "simple").mkdir(parents=True, exist_ok=True)
    ensure_mirror_tls(index_dir.with_name(index_dir.name + "-tls"))
    added: list[str] = []
    if args.requirements:
        with tempfile.TemporaryDirectory(prefix="pypi-mirror-") as staging:
            download(list(args.requirements), Path(staging))
            added = file_into_index(Path(staging), index_dir)
    # The index is served read-only by an unprivileged user: every directory must be readable.
    for directory in [index_dir, *index_dir.rglob("*")]:
        if directory.is_dir():
            directory.chmod(0o755)
    print(f"pypi mirror {index_dir}: {len(added)} new wheel(s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
