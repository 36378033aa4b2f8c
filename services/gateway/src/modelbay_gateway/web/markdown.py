"""Model cards: the contributor's Markdown rendered so that it cannot run anything.

markdown-it-py (CommonMark) with `html` off, so raw HTML in the text (`<script>`, `<img
onerror>`, `<a href=javascript:>`) is escaped and shown as text. Links and images pass an
allowlist of schemes (http, https, mailto, and relative or fragment links); anything else
(`javascript:`, `vbscript:`, `data:`, `file:`, obfuscated forms of them) is not turned into a
link at all, so the text stays visible and inert. Links get `rel="nofollow noopener ugc"`: they are
the contributor's, not ours. Headings move down two levels (the page has its own h1 and h2). The
result is marked safe for Jinja only here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from markupsafe import Markup

ALLOWED_SCHEMES = frozenset({"http", "https", "mailto"})
# Browsers drop these from inside a scheme ("java\tscript:"), so they must not hide one from us.
_IGNORED_BY_BROWSERS = re.compile(r"[\x00-\x20\x7f]+")


def is_safe_link(url: str) -> bool:
    """True for http(s), mailto, and scheme-less (relative, fragment, query) links."""
    cleaned = _IGNORED_BY_BROWSERS.sub("", url)
    if cleaned.startswith("//"):
        return True  # protocol-relative: http or https, whichever the page uses
    scheme = urlsplit(cleaned).scheme.lower()
    if not scheme:
        # "javascript&colon;..." was already decoded by the parser; a colon before any slash
        # without a recognised scheme is refused rather than guessed at.
        head = cleaned.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
        return ":" not in head
    return scheme in ALLOWED_SCHEMES


def _render_link_open(
    renderer: RendererHTML,
    tokens: Sequence[Token],
    idx: int,
    options: OptionsDict,
    env: EnvType,
) -> str:
    tokens[idx].attrSet("rel", "nofollow noopener ugc")
    return renderer.renderToken(tokens, idx, options, env)


# A card sits under the page's own h1 and the section's h2: its headings start at h3.
HEADING_OFFSET = 2


def _render_heading(
    renderer: RendererHTML,
    tokens: Sequence[Token],
    idx: int,
    options: OptionsDict,
    env: EnvType,
) -> str:
    level = int(tokens[idx].tag[1:])
    tokens[idx].tag = f"h{min(level + HEADING_OFFSET, 6)}"
    return renderer.renderToken(tokens, idx, options, env)


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    parser = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    parser.enable(["table", "strikethrough"])
    parser.validateLink = is_safe_link  # type: ignore[method-assign]
    parser.add_render_rule("link_open", _render_link_open)
    parser.add_render_rule("heading_open", _render_heading)
    parser.add_render_rule("heading_close", _render_heading)
    return parser


def render_markdown(text: str | None) -> Markup:
    """HTML for a model card; empty input gives empty output."""
    if not text:
        return Markup("")
    return Markup(_parser().render(text))


def first_paragraph(text: str | None, limit: int = 200) -> str:
    """Plain text for a search result: the first non-heading line, without Markdown marks."""
    for line in (text or "").splitlines():
        stripped = line.strip().lstrip("#>*-+ ").strip()
        if stripped:
            plain = re.sub(r"[*_`\[\]]|\(([^)]*)\)", "", stripped)
            return plain if len(plain) <= limit else plain[: limit - 1].rstrip() + "…"
    return ""


def markdown_filters() -> dict[str, Any]:
    return {"markdown": render_markdown, "first_paragraph": first_paragraph}
