"""Bulletin text: Markdown in, safe HTML and plain reading text out; accent-folded search keys.

The body is written as Markdown with raw HTML disabled, so ``<script>`` typed by a person stays
visible as text; the rendered HTML then goes through ``nh3`` with a small allow-list as a second
wall. The plain text (for the TTS normaliser, search and feeds' summaries) is taken from that HTML.
"""

from __future__ import annotations

import re
import unicodedata
from html.parser import HTMLParser

import nh3
from markdown_it import MarkdownIt

from loa.areas.logic import fold, name_key

ALLOWED_TAGS = frozenset(
    {"p", "br", "strong", "em", "b", "i", "u", "ul", "ol", "li", "h2", "h3", "h4", "blockquote", "a", "hr"}
)
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {"a": {"href", "title"}}
URL_SCHEMES = frozenset({"http", "https", "mailto", "tel"})
_BLOCKS = frozenset({"p", "li", "h1", "h2", "h3", "h4", "blockquote", "br", "hr", "ul", "ol"})

MAX_TITLE_CHARS = 300
MAX_BODY_CHARS = 100_000

_md = MarkdownIt("commonmark", {"html": False, "typographer": False}).disable("image")


def sanitize_html(html: str) -> str:
    """Keep only the allow-listed tags and attributes; drop script/style with their content."""
    return str(
        nh3.clean(
            html,
            tags=set(ALLOWED_TAGS),
            attributes=ALLOWED_ATTRIBUTES,
            url_schemes=set(URL_SCHEMES),
            clean_content_tags={"script", "style"},
            link_rel="noopener noreferrer nofollow",
        )
    )


def render_markdown(markdown: str) -> str:
    """Markdown → sanitised HTML. Headings are shifted down one level (the page owns ``<h1>``)."""
    html = _md.render(markdown)
    html = re.sub(r"<(/?)h1>", r"<\1h2>", html)
    return sanitize_html(html).strip()


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_to_text(html: str) -> str:
    """Readable plain text: one paragraph per line, whitespace collapsed."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    raw = "".join(parser.parts)
    lines = (" ".join(line.split()) for line in raw.split("\n"))
    return "\n".join(line for line in lines if line)


def clean_multiline(text: str) -> str:
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C").strip()


def search_key(*fields: str) -> str:
    """The search column: each word twice, as written (lower-case) and without accents, padded with
    spaces, so ``LIKE '% bão%'`` finds only "bão" while ``LIKE '% bao%'`` finds "bão" and "báo"."""
    text = " ".join(f for f in fields if f)
    return f" {name_key(text)} | {fold(text)} "


def search_words(query: str) -> list[str]:
    """The patterns to look for: accented words match as written, plain words match folded."""
    return [f" {word}" for word in name_key(query).split()]


def summary(text: str, limit: int = 240) -> str:
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit].rsplit(" ", 1)[0]
    return f"{cut}…"
