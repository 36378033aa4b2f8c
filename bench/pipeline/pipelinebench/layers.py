"""Image layers per model and cold start, and a cold build with a system-package layer (issue 13).

    bash bench/pipeline/layers.sh                        # the images of the last corpus run
    bash bench/pipeline/layers.sh --images REF [REF ...]
    bash bench/pipeline/layers.sh --cold lgbm iris      # + built cold, like the pipeline does
                                                         #   (needs the index, the Debian mirror)
    bash bench/pipeline/layers.sh --cold iris --keep --no-strip --base OLD_BASE
    bash bench/pipeline/layers.sh --images REF_A=BASE_A REF_B=BASE_B --runs 7   # A/B interleaved
    bash bench/pipeline/layers.sh --images REF=BASE --runtime-from git:OLD git:NEW --runs 15
                                                         # the image with two runtimes, A/B

Per image: every layer with its size (`docker history`), the base, the system-package layer,
the venv, the runtime and the bundle; cold start is `docker run` → the first 200 from
`/readyz` on a published port (median of `--runs`, default 5; the engine's start included, as a
user sees it; several images are started in interleaved rounds, A B A B …, so the machine's
load falls on all of them alike). `REF=BASE` names the base an image was built on.
Per process of the container: when it started and its CPU until ready (coldstart.py).
A cold build resolves a corpus script like the resolver (pip download → ELF scan → Debian plan →
`.deb` fetch), writes the builder's context and builds it `FROM` a fresh tag of the base with a
new image id (empty build cache). Prints JSON; `--markdown` prints the table for
docs/benchmarks.md. Measured, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker

from pipelinebench.coldstart import cold_starts

CORPUS_REPOSITORIES = ("iris_model", "lgbm_classifier_py311", "opencv_blur_py311")
LAYER_KINDS = (  # first match wins: the install step also names /tmp/system-packages
    ("dpkg -i", "system-packages (installed)"),
    ("/tmp/system-packages", "system-packages (.deb files)"),
    ("in /opt/venv", "venv"),
    ("in /opt/modelbay-runtime", "runtime"),
    ("in /model/", "bundle"),
)


def layer_kind(created_by: str) -> str:
    for marker, kind in LAYER_KINDS:
        if marker in created_by:
            return kind
    return "other"


def image_layers(client: docker.DockerClient, ref: str, base: str) -> dict[str, Any]:
    image = client.images.get(ref)
    base_ids = {layer["Id"] for layer in client.api.history(base) if layer["Id"] != "<missing>"}
    layers: dict[str, int] = {"base": int(client.images.get(base).attrs["Size"])}
    for layer in client.api.history(ref):
        # A pulled image's history has no ids; the base is one `docker import` layer, whose
        # history entry has no command.
        if layer["Id"] in base_ids or not layer.get("Size") or not layer["CreatedBy"]:
            continue
        kind = layer_kind(layer["CreatedBy"])
        layers[kind] = layers.get(kind, 0) + int(layer["Size"])
    return {"image": ref, "bytes": int(image.attrs["Size"]), "layers": layers}


def latest_corpus_images(client: docker.DockerClient) -> list[str]:
    newest: dict[str, tuple[str, str]] = {}
    for image in client.images.list():
        for tag in image.tags:
            repository = tag.rsplit(":", 1)[0].rsplit("/", 1)[-1]
            created = str(image.attrs["Created"])
            if repository in CORPUS_REPOSITORIES and created > newest.get(repository, ("", ""))[0]:
                newest[repository] = (created, tag)
    return [tag for _, tag in sorted(newest.values())]


COLD_MODELS = {
    "lgbm": "tests/models/lgbm_classifier.py",
    "iris": "tests/e2e/models/iris_described.py",
}


@dataclass(frozen=True)
class ColdBuildOptions:
    base: str
    index_url: str
    strip_image: str | None  # the builder's strip tool image; None: unstripped
    keep: bool  # keep the image (its tag is in the result) for an interleaved --images run
    runs: int


def cold_build(
    client: docker.DockerClient, options: ColdBuildOptions, model: str
) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="layers-bench-"))
    try:
        return _cold_build_in(work, client, options, model)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _cold_build_in(
    work: Path, client: docker.DockerClient, options: ColdBuildOptions, model: str
) -> dict[str, Any]:
    """A corpus script from `modelbay dump` to a built image FROM a fresh base id, the way the
    resolver and the builder do it (pip download → ELF scan → Debian plan and `.deb` fetch →
    context → docker build); each stage timed, then layers and cold start measured."""
    from modelbay_builder.build_log import BuildLog
    from modelbay_builder.context import ContextInputs, write_context
    from modelbay_builder.docker_build import build_image
    from modelbay_builder.runtime_wheel import RuntimeWheel
    from modelbay_onboarding.pip_runner import (
        PipOptions,
        download_wheels,
        runtime_server_requirements,
    )
    from modelbay_onboarding.settings import OnboardingSettings
    from modelbay_onboarding.system_libraries.planner import SystemPackagePlanner
    from modelbay_onboarding.system_libraries.wheel_scan import scan_directory
    from modelbay_onboarding.wheelhouse import lock_from_wheels

    root = Path(__file__).resolve().parents[3]
    bundle = work / "bundle"
    modelbay = Path(sys.executable).parent / "modelbay"
    dump = [
        str(modelbay),
        "dump",
        f"{root / COLD_MODELS[model]}:model",
        model,
        "--out",
        str(bundle),
    ]
    subprocess.run(dump, check=True, capture_output=True, cwd=work)
    manifest = json.loads((bundle / "manifest.json").read_text())
    wheels = work / "wheels"
    wheels.mkdir()
    requirements = (*manifest["requirements"], *runtime_server_requirements("3.11"))
    pip = PipOptions(index_url=options.index_url, cert=None, cache_dir=work / "pip-cache")
    started = time.monotonic()
    asyncio.run(download_wheels(requirements, "3.11", wheels, pip))
    download_seconds = time.monotonic() - started
    settings = OnboardingSettings(
        database_url="postgresql://unused/unused", bus_url="memory://", blob_url="file:///unused"
    )
    started = time.monotonic()
    needs = scan_directory(wheels)
    scan_seconds = time.monotonic() - started
    started = time.monotonic()
    plan = asyncio.run(SystemPackagePlanner(settings).plan(needs, [], "3.11"))
    plan_seconds = time.monotonic() - started
    fresh = f"modelbay-bench/base:cold-{uuid.uuid4().hex[:8]}"
    client.images.build(fileobj=_labelled_base(options.base), tag=fresh, rm=True)
    source = root / "libs" / "runtime"
    runtime = asyncio.run(RuntimeWheel(work / "runtime", wheel=None, source=source).path())
    bundle_files = sorted(
        (path.relative_to(bundle).as_posix(), path) for path in bundle.rglob("*") if path.is_file()
    )
    inputs = ContextInputs(
        fresh, lock_from_wheels(wheels), "3.11", sorted(wheels.glob("*.whl")), runtime,
        bundle_files, system_debs=plan.debs if plan else (), strip_image=options.strip_image,
    )  # fmt: skip
    context = work / "context.tar"
    with context.open("wb") as out:
        write_context(inputs, out)
    tag = f"modelbay-bench/{model}-cold:{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    build_image(client, context, tag=tag, labels={}, log=BuildLog(), timeout=1800)
    build_seconds = time.monotonic() - started
    try:
        measured = image_layers(client, tag, fresh)
        start = cold_starts(client, [tag], options.runs)[tag]
        measured["cold_start_seconds"] = start["seconds"]
        measured["cold_start"] = start
    finally:
        if not options.keep:
            client.images.remove(tag, force=True)
            client.images.remove(fresh, force=True)
    return {
        "model": model,
        "base": options.base,
        "stripped_with": options.strip_image,
        "system_packages": [f"{p.name}={p.version}" for p in plan.fetched] if plan else [],
        "needs": {soname: list(dists) for soname, dists in needs.items()},
        "download_seconds": round(download_seconds, 1),
        "scan_seconds": round(scan_seconds, 2),
        "plan_and_fetch_seconds": round(plan_seconds, 2),
        "cold_build_seconds": round(build_seconds, 1),
        **measured,
    }


def _labelled_base(base: str) -> Any:
    import io

    return io.BytesIO(f"FROM {base}\nLABEL dev.modelbay.bench={uuid.uuid4().hex}\n".encode())


def markdown(images: list[dict[str, Any]]) -> str:
    kinds = ["base", "system-packages (.deb files)", "system-packages (installed)", "venv",
             "runtime", "bundle"]  # fmt: skip
    lines = ["| image | " + " | ".join(kinds) + " | total | cold start |",
             "|---" * (len(kinds) + 3) + "|"]  # fmt: skip
    for image in images:
        cells = [f"{image['layers'].get(kind, 0) / 1e6:.1f}" for kind in kinds]
        lines.append(
            f"| {image['image'].rsplit('/', 1)[-1]} | " + " | ".join(cells)
            + f" | {image['bytes'] / 1e6:.1f} MB ({image['bytes'] / 2**20:.0f} MiB)"
            + f" | {image.get('cold_start_seconds', 0):.2f} s"
            + f" ({image.get('cold_start', {}).get('cpu_seconds', 0):.2f} s CPU) |"
        )  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="pipelinebench.layers", description=__doc__)
    parser.add_argument(
        "--images", nargs="*", help="image references, REF or REF=BASE (default: corpus images)"
    )
    parser.add_argument("--base", default="modelbay/python:3.11-bookworm")
    parser.add_argument(
        "--cold", nargs="*", default=[], choices=sorted(COLD_MODELS), help="models built cold"
    )
    parser.add_argument("--index-url", default="https://pypi.org/simple")
    parser.add_argument("--runs", type=int, default=5, help="cold starts per image (median)")
    parser.add_argument(
        "--strip-image", default="modelbay/build-tools:strip", help="the builder's strip tool"
    )
    parser.add_argument("--no-strip", action="store_true", help="cold builds unstripped")
    parser.add_argument("--keep", action="store_true", help="keep the cold-built images")
    parser.add_argument(
        "--runtime-from",
        nargs="*",
        default=[],
        metavar="SOURCE",
        help="rebuild each image with the runtime from SOURCE (a directory or git:REV) and "
        "start those instead (runtime_swap.py)",
    )
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    client = docker.from_env()
    pairs = [
        (ref.split("=", 1)[0], ref.split("=", 1)[1] if "=" in ref else args.base)
        for ref in (args.images or latest_corpus_images(client))
    ]
    swapped = _swap_runtimes(client, pairs, args.runtime_from)
    if swapped:
        pairs = [(tag, base) for tag, (base, _) in swapped.items()]
    started = _load()
    starts = cold_starts(client, [ref for ref, _ in pairs], args.runs) if pairs else {}
    images = []
    for ref, base in pairs:
        measured = image_layers(client, ref, base)
        measured["cold_start_seconds"] = starts[ref]["seconds"]
        measured["cold_start"] = starts[ref]
        images.append(measured)
    result: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load": started,
        "load_after_cold_starts": _load(),
        "runs": args.runs,
        "images": images,
        "runtime_from": {tag: source for tag, (_, source) in swapped.items()},
    }
    if not args.keep:
        for tag in swapped:
            client.images.remove(tag, force=True)
    options = ColdBuildOptions(
        base=args.base,
        index_url=args.index_url,
        strip_image=None if args.no_strip else args.strip_image,
        keep=args.keep,
        runs=args.runs,
    )
    result["cold_builds"] = [cold_build(client, options, model) for model in args.cold]
    print(markdown(images) if args.markdown else json.dumps(result, indent=2))
    if args.markdown:
        print(json.dumps(result, indent=2), file=sys.stderr)


def _swap_runtimes(
    client: docker.DockerClient, pairs: list[tuple[str, str]], sources: list[str]
) -> dict[str, tuple[str, str]]:
    """Each image rebuilt with each runtime source: {new tag: (base, "image <- source")}."""
    from pipelinebench.runtime_swap import runtime_source, scratch, with_runtime

    swapped: dict[str, tuple[str, str]] = {}
    if not sources:
        return swapped
    work, root = scratch(), Path(__file__).resolve().parents[3]
    try:
        for ref, base in pairs:
            for source in sources:
                tag = with_runtime(client, ref, base, runtime_source(source, root, work), work)
                swapped[tag] = (base, f"{ref} <- {source}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return swapped


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


if __name__ == "__main__":
    main()
