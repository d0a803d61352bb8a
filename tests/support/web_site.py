"""A small website and feeds served on 127.0.0.1, for the source tests and the crawl bench.

Pages (HTML with ETag; a matching If-None-Match gets 304): ``/`` links to ``/a``, ``/b``,
``/missing`` (404), ``/private/secret`` (disallowed by robots.txt), ``/offsite`` (redirects to
``localhost``, another host), ``/big`` (larger than any test's page limit), ``/gzip-bomb`` (small
compressed, large decoded), ``/file.pdf`` (not
HTML), ``/deep/1`` → ``/deep/2`` → ``/deep/3``, ``/mailto``; ``/a`` and ``/b`` link to each other
and back to ``/`` (a loop). ``/sitemap.xml`` lists ``/orphan``, linked from nowhere. Feeds:
``/feed.xml`` (RSS, two entries), ``/atom.xml``, ``/not-a-feed`` (HTML). ``/hang`` answers after
``hang_s`` seconds. ``pages`` may be edited while the server runs.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from .threaded_server import ThreadedServer


def _page(title: str, body: str, links: list[str]) -> str:
    anchors = " ".join(f'<a href="{href}">{href}</a>' for href in links)
    return (
        f"<html><head><title>{title}</title></head><body><nav>{anchors}</nav>"
        f"<article><h1>{title}</h1><p>{body}</p></article></body></html>"
    )


def default_pages() -> dict[str, str]:
    return {
        "/": _page(
            "Home",
            "Welcome to the harbour office. Ferries leave every hour from pier four.",
            [
                "/a",
                "/b",
                "/missing",
                "/private/secret",
                "/offsite",
                "/big",
                "/file.pdf",
                "/deep/1",
                "mailto:office@example.com",
                "/a#section",
            ],
        ),
        "/a": _page(
            "Tickets",
            "Tickets for the ferry cost twelve euros and are sold at the kiosk on pier four.",
            ["/b", "/"],
        ),
        "/b": _page(
            "Timetable",
            "The last ferry to the island departs at eleven at night in summer.",
            ["/a", "/"],
        ),
        "/private/secret": _page("Secret", "The staff door code is 4711.", []),
        "/orphan": _page(
            "Lost property", "Lost umbrellas are kept at the harbour office for a month.", []
        ),
        "/deep/1": _page(
            "Deep one", "The first level of the archive lists old ferries.", ["/deep/2"]
        ),
        "/deep/2": _page(
            "Deep two", "The second level describes the steam ferry Aurora.", ["/deep/3"]
        ),
        "/deep/3": _page("Deep three", "The third level holds the captain's logbook.", []),
    }


RSS = """<?xml version="1.0"?>
<rss version="2.0"><channel><title>Harbour news</title><link>{base}/</link>
<item><title>New pier opens</title><link>{base}/news/pier</link>
<description>&lt;p&gt;Pier five opens in May with room for two ferries.&lt;/p&gt;
</description></item>
<item><title>Winter timetable</title><link>{base}/news/winter</link>
<description>From November the ferry runs every two hours.</description></item>
</channel></rss>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Harbour blog</title><id>urn:harbour</id>
<updated>2026-01-01T00:00:00Z</updated>
<entry><title>Seals in the harbour</title><id>{base}/blog/seals</id>
<link href="{base}/blog/seals"/><updated>2026-01-01T00:00:00Z</updated>
<content type="html">&lt;p&gt;Two seals sleep on the pontoon every morning.&lt;/p&gt;
</content></entry>
</feed>"""


class HarbourSite:
    """The site; ``start()`` returns its base URL (http://127.0.0.1:PORT)."""

    def __init__(self, *, hang_s: float = 30.0, big_bytes: int = 3 * 1024 * 1024) -> None:
        self.pages = default_pages()
        self.hang_s = hang_s
        self.big_bytes = big_bytes
        self.feed_items = RSS
        self.requests: list[str] = []
        self.server = ThreadedServer(self._app(), name="harbour site")
        self.port = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> str:
        self.port = self.server.start()
        return self.base

    def close(self) -> None:
        self.server.close()

    def _app(self) -> Starlette:
        async def page(request: Request) -> Response:
            path = request.url.path
            self.requests.append(path)
            base = f"http://127.0.0.1:{self.port}"
            if path == "/robots.txt":
                return Response(
                    f"User-agent: *\nDisallow: /private/\nSitemap: {base}/sitemap.xml\n",
                    media_type="text/plain",
                )
            if path == "/sitemap.xml":
                xml = (
                    '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/'
                    f'sitemap/0.9"><url><loc>{base}/orphan</loc></url></urlset>'
                )
                return Response(xml, media_type="application/xml")
            if path == "/offsite":
                return RedirectResponse(f"http://localhost:{self.port}/a", status_code=302)
            if path == "/redirect-to-metadata":
                return RedirectResponse("http://169.254.169.254/latest/meta-data/", 302)
            if path == "/big":
                return Response(b"<html><body>" + b"x" * self.big_bytes, media_type="text/html")
            if path == "/gzip-bomb":
                packed = gzip.compress(b"<html><body>" + b"0" * self.big_bytes)
                return Response(
                    packed, media_type="text/html", headers={"Content-Encoding": "gzip"}
                )
            if path == "/file.pdf":
                return Response(b"%PDF-1.4 not really", media_type="application/pdf")
            if path == "/hang":
                await asyncio.sleep(self.hang_s)
                return Response("late", media_type="text/plain")
            if path == "/feed.xml":
                return Response(self.feed_items.format(base=base), media_type="application/rss+xml")
            if path == "/atom.xml":
                return Response(ATOM.format(base=base), media_type="application/atom+xml")
            if path == "/not-a-feed":
                return Response("<html><body>{ not a feed</body></html>", media_type="text/html")
            html = self.pages.get(path)
            if html is None:
                return Response("not found", status_code=404)
            etag = '"' + hashlib.sha256(html.encode()).hexdigest()[:16] + '"'
            if request.headers.get("if-none-match") == etag:
                return Response(status_code=304, headers={"ETag": etag})
            return Response(html, media_type="text/html", headers={"ETag": etag})

        return Starlette(routes=[Route("/{path:path}", page, methods=["GET"])])
