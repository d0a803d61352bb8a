"""Crawl throughput of a website source against the local test site (tests/support/web_site.py).

Prints pages/s of ``SiteCrawler.crawl`` (guarded httpx fetch + trafilatura extraction + link
extraction, no indexing) over the site grown by ``--pages`` generated article pages, and, with
``--ingest``, pages/s of the whole ``add_site`` (crawl, chunk, embed with MiniLM, write to the
embedded PostgreSQL). Timings are printed, never asserted.

    .venv/bin/python bench/crawl.py [--pages 200] [--ingest]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chorus.runtime.adapters.http_fetcher import AddressGuard, HttpFetcher
from chorus.runtime.adapters.web_content import WebContent
from chorus.runtime.core.sources import FetchLimits, SiteCrawler

from tests.support.web_site import HarbourSite

PARAGRAPH = (
    "The harbour office keeps the ferry timetable, sells tickets and answers questions about "
    "moorings, cargo and the island's bus connections. "
)


def grow(site: HarbourSite, pages: int) -> None:
    links = " ".join(f'<a href="/gen/{i}">article {i}</a>' for i in range(pages))
    site.pages["/gen/"] = f"<html><head><title>Archive</title></head><body>{links}</body></html>"
    site.pages["/"] = site.pages["/"].replace("</nav>", '<a href="/gen/">archive</a></nav>')
    for i in range(pages):
        body = "".join(f"<p>{PARAGRAPH} Note {i}.{j}.</p>" for j in range(6))
        site.pages[f"/gen/{i}"] = (
            f"<html><head><title>Article {i}</title></head><body><nav>"
            f'<a href="/gen/{(i + 1) % pages}">next</a> <a href="/">home</a></nav>'
            f"<article><h1>Article {i}</h1>{body}</article></body></html>"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--ingest", action="store_true")
    args = parser.parse_args()
    site = HarbourSite()
    grow(site, args.pages)
    base = site.start()
    limits = FetchLimits(max_pages=args.pages + 50, max_depth=3, max_page_bytes=256 * 1024)
    fetcher = HttpFetcher(limits, AddressGuard(allow_private=True))
    try:
        crawler = SiteCrawler(fetcher, WebContent(), limits)
        started = time.perf_counter()
        result = crawler.crawl(base + "/")
        seconds = time.perf_counter() - started
        print(
            f"crawl only: {len(result.pages)} pages with text, {result.fetched} fetched, "
            f"{len(result.skipped)} skipped in {seconds:.2f}s = "
            f"{len(result.pages) / seconds:.1f} pages/s ({result.fetched / seconds:.1f} fetches/s)"
        )
        if args.ingest:
            from chorus.runtime.local.services import open_services
            from chorus.runtime.local.settings import LocalSettings

            with tempfile.TemporaryDirectory() as home:
                services = open_services(
                    LocalSettings(home=Path(home), sources_allow_private=True),
                    semantic_cache=False,
                )
                try:
                    workspace = services.create_workspace("bench")
                    services.embedder.embed(["warm up"])
                    started = time.perf_counter()
                    report = services.sources().add_site(
                        workspace, base + "/", max_depth=3, max_pages=args.pages + 50
                    )
                    seconds = time.perf_counter() - started
                    print(
                        f"crawl + index: {report.indexed} pages, {report.chunks} chunks in "
                        f"{seconds:.2f}s = {report.indexed / seconds:.1f} pages/s"
                    )
                    texts = [f"{p.title}\n\n{p.text}" for p in result.pages]
                    started = time.perf_counter()
                    services.embedder.embed(texts, kind="passage")
                    seconds = time.perf_counter() - started
                    print(
                        f"raw MiniLM encode of the same {len(texts)} page texts: {seconds:.2f}s = "
                        f"{len(texts) / seconds:.1f} pages/s (the embedder alone)"
                    )
                    started = time.perf_counter()
                    [again] = services.sources().sync(workspace)
                    seconds = time.perf_counter() - started
                    print(
                        f"re-sync (all 304): {again.unchanged} unchanged in {seconds:.2f}s = "
                        f"{again.unchanged / seconds:.1f} pages/s"
                    )
                finally:
                    services.close()
    finally:
        fetcher.close()
        site.close()


if __name__ == "__main__":
    main()
