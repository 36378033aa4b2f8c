"""Turning pip's failure output into a reason a contributor can act on.

pip's own words stay in `detail` (the tail of its output); `reason` says what is wrong and what
to do about it, in one sentence.
"""

from __future__ import annotations

import re

from packaging.version import InvalidVersion, Version

from modelbay_onboarding.errors import ResolutionError, ResolverUnavailableError

TARGET_DESCRIPTION = "linux x86_64 (manylinux wheels)"
_MAX_VERSIONS_SHOWN = 10
_MAX_DETAIL_CHARS = 4000

_NETWORK = re.compile(
    r"NewConnectionError|Failed to establish a new connection|Temporary failure in name "
    r"resolution|Name or service not known|Connection refused|ConnectTimeoutError|"
    r"ReadTimeoutError|Max retries exceeded|ProxyError|SSLError|HTTP error 5\d\d"
)
_NOT_FOUND = re.compile(
    r"Could not find a version that satisfies the requirement (?P<requirement>\S+)"
    r"(?: \(from versions: (?P<versions>[^)]*)\))?"
)
_CONFLICT_HEADER = "The conflict is caused by:"


def explain_pip_failure(output: str, python_version: str) -> ResolutionError:
    """The contributor-facing error for a failed `pip download`.

    Raises ResolverUnavailableError instead when the index could not be reached: that is the
    platform's problem, so the event is retried rather than failing the model.
    """
    detail = _tail(output)
    if _NETWORK.search(output):
        raise ResolverUnavailableError(
            f"the package index could not be reached: {_last_error(output)}"
        )
    not_found = _NOT_FOUND.search(output)
    if not_found:
        reason = _not_found_reason(
            not_found.group("requirement"), not_found.group("versions"), python_version
        )
        return ResolutionError(reason, detail)
    conflict = _conflict_lines(output)
    if conflict:
        return ResolutionError(
            f"The requirements conflict: {'; '.join(conflict)} — loosen or remove one of these "
            "pins (or exclude a requirement the model does not need)",
            detail,
        )
    return ResolutionError(
        f"pip could not resolve the requirements for Python {python_version} on "
        f"{TARGET_DESCRIPTION}: {_last_error(output)}",
        detail,
    )


def _not_found_reason(requirement: str, versions: str | None, python_version: str) -> str:
    target = f"Python {python_version} on {TARGET_DESCRIPTION}"
    available = _final_versions(versions or "")
    if not available:
        return (
            f"No installable wheel of '{requirement}' exists on the index for {target}: the "
            "package may not exist, may publish only source code, or may not support this "
            "Python — check the name, pin a version that has wheels, or exclude it"
        )
    shown = available[-_MAX_VERSIONS_SHOWN:]
    more = "" if len(shown) == len(available) else f" (latest {len(shown)} of {len(available)})"
    return (
        f"No version of '{requirement}' exists on the index for {target}; available"
        f"{more}: {', '.join(shown)} — fix the pin or exclude it"
    )


def _final_versions(text: str) -> list[str]:
    """Released versions in pip's list (pre-releases left out: nobody should pin those)."""
    versions = []
    for raw in text.split(","):
        candidate = raw.strip()
        if not candidate or candidate == "none":
            continue
        try:
            if not Version(candidate).is_prerelease:
                versions.append(candidate)
        except InvalidVersion:
            continue
    return versions


def _conflict_lines(output: str) -> list[str]:
    lines = output.splitlines()
    for index, line in enumerate(lines):
        if line.strip() == _CONFLICT_HEADER:
            causes = []
            for cause in lines[index + 1 :]:
                if not cause.strip():
                    break
                causes.append(cause.strip())
            return causes
    return []


def _last_error(output: str) -> str:
    errors = [line[len("ERROR: ") :] for line in output.splitlines() if line.startswith("ERROR: ")]
    if errors:
        return errors[-1]
    lines = [line for line in output.splitlines() if line.strip()]
    return lines[-1].strip() if lines else "pip exited without saying why"


def _tail(output: str) -> str:
    return output if len(output) <= _MAX_DETAIL_CHARS else "..." + output[-_MAX_DETAIL_CHARS:]
