"""WebReader port: trafilatura (HTML → main text), lxml (links, sitemaps), protego (robots.txt)
and feedparser (RSS/Atom).

trafilatura drops navigation, footers and boilerplate — what a chunk should not be made of. On
very short pages it may find no "main content"; the page's visible text is used then.
"""

from __future__ import annotations

from collections.abc import Sequence

import feedparser
import lxml.etree
import lxml.html
import trafilatura
from protego import Protego

from ..core.sources import Feed, FeedEntry, PageText, SourceError


class _Robots:
    def __init__(self, rules: Protego, user_agent: str) -> None:
        self.rules = rules
        self.user_agent = user_agent

    def allowed(self, url: str) -> bool:
        return bool(self.rules.can_fetch(url, self.user_agent))

    @property
    def sitemaps(self) -> Sequence[str]:
        return list(self.rules.sitemaps)


def _html_tree(body: bytes) -> lxml.html.HtmlElement | None:
    try:
        return lxml.html.document_fromstring(body)
    except (lxml.etree.ParserError, ValueError):
        return None


def _visible_text(tree: lxml.html.HtmlElement) -> str:
    for bad in tree.xpath("//script|//style|//noscript|//nav|//footer|//header"):
        bad.drop_tree()
    body = tree.find("body")
    text = (body if body is not None else tree).text_content()
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())


class WebContent:
    """Reads fetched bytes; stateless and thread-safe."""

    def page_text(self, body: bytes, url: str) -> PageText | None:
        tree = _html_tree(body)
        if tree is None:
            return None
        title = (tree.findtext(".//title") or "").strip()
        text = trafilatura.extract(
            body.decode("utf-8", "replace"),
            url=url,
            include_comments=False,
            include_tables=True,
            favor_recall=True,
        )
        if not text or not text.strip():
            text = _visible_text(tree)
        return PageText(title, text.strip()) if text and text.strip() else None

    def links(self, body: bytes, url: str) -> list[str]:
        tree = _html_tree(body)
        if tree is None:
            return []
        tree.make_links_absolute(url, resolve_base_href=True)
        found: list[str] = []
        for anchor in tree.xpath("//a[@href]"):
            rel = (anchor.get("rel") or "").lower()
            if "nofollow" not in rel:
                found.append(anchor.get("href"))
        return found

    def robots(self, body: bytes, user_agent: str) -> _Robots:
        return _Robots(Protego.parse(body.decode("utf-8", "replace")), user_agent)

    def sitemap_urls(self, body: bytes) -> list[str]:
        parser = lxml.etree.XMLParser(
            resolve_entities=False, no_network=True, huge_tree=False, recover=False
        )
        try:
            root = lxml.etree.fromstring(body, parser)
        except lxml.etree.XMLSyntaxError:
            return []
        return [
            (loc.text or "").strip() for loc in root.iter("{*}loc") if loc.text and loc.text.strip()
        ]

    def feed(self, body: bytes, url: str) -> Feed:
        parsed = feedparser.parse(body, sanitize_html=True, resolve_relative_uris=True)
        if not parsed.get("version") or (parsed.get("bozo") and not parsed.entries):
            problem = parsed.get("bozo_exception")
            raise SourceError(
                f"{url} is not an RSS or Atom feed" + (f" ({problem})" if problem else ""),
                code="not_a_feed",
            )
        entries = []
        for entry in parsed.entries:
            link = entry.get("link") or entry.get("id") or ""
            if not link.startswith(("http://", "https://")):
                continue
            html = ""
            if entry.get("content"):
                html = " ".join(c.get("value", "") for c in entry.content)
            html = html or entry.get("summary", "")
            entries.append(FeedEntry(link, entry.get("title", "").strip(), _html_to_text(html)))
        return Feed(parsed.feed.get("title", "").strip(), tuple(entries))


def _html_to_text(fragment: str) -> str:
    if not fragment.strip():
        return ""
    try:
        tree = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (lxml.etree.ParserError, ValueError):
        return fragment.strip()
    text = tree.text_content()
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())
