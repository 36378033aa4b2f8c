"""Where the SDK finds the platform URL and token.

Order: explicit arguments, then `MODELBAY_URL` / `MODELBAY_TOKEN`, then the login file written
by `modelbay login`: `$XDG_CONFIG_HOME/modelbay/credentials.json` (default
`~/.config/modelbay/credentials.json`), mode 0600 because it holds a bearer token.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

URL_ENV = "MODELBAY_URL"
TOKEN_ENV = "MODELBAY_TOKEN"


class ConfigError(ValueError):
    """No URL configured, or the login file is unreadable."""


@dataclass(frozen=True)
class Credentials:
    url: str
    token: str | None = None


def credentials_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "modelbay" / "credentials.json"


def load_login_file() -> Credentials | None:
    path = credentials_path()
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Credentials(url=str(data["url"]), token=data.get("token"))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"{path} is not a valid login file ({exc}); run `modelbay login`"
        ) from exc


def save_login_file(credentials: Credentials) -> Path:
    """Write the login file readable by its owner only (0600, directory 0700)."""
    path = credentials_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    body = json.dumps({"url": credentials.url, "token": credentials.token}, indent=2) + "\n"
    # Create with 0600 from the start: a chmod after writing would leave a readable window.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
        stream.write(body)
    path.chmod(0o600)  # an existing file keeps its old mode through O_CREAT
    return path


def resolve_credentials(url: str | None = None, token: str | None = None) -> Credentials:
    """Explicit values win, then the environment, then the login file."""
    needs_url = url is None and not os.environ.get(URL_ENV)
    needs_token = token is None and not os.environ.get(TOKEN_ENV)
    stored = load_login_file() if needs_url or needs_token else None
    resolved_url = url or os.environ.get(URL_ENV) or (stored.url if stored else None)
    if not resolved_url:
        raise ConfigError(
            f"no Modelbay URL: pass Session(url=...), set {URL_ENV}, or run `modelbay login`"
        )
    resolved_token = token or os.environ.get(TOKEN_ENV)
    same_url = stored is not None and stored.url.rstrip("/") == resolved_url.rstrip("/")
    if resolved_token is None and stored is not None and same_url:
        resolved_token = stored.token  # a stored token belongs to its own URL only
    return Credentials(url=resolved_url.rstrip("/"), token=resolved_token)
