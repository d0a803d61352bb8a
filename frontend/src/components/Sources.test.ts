import { describe, expect, it } from "vitest";
import type { SourceReport, WebSource } from "../api";
import { ApiError } from "../errors";
import { MAX_POLLS, readSourceForm, reportSummary, shouldPoll, shownError, sourceMeta, syncedAgo } from "./Sources";

function source(overrides: Partial<WebSource>): WebSource {
  return {
    url: "https://docs.example/",
    kind: "site",
    depth: 2,
    maxPages: 50,
    status: "synced",
    error: null,
    syncedAt: 1_000_000,
    ...overrides,
  };
}

function report(overrides: Partial<SourceReport>): SourceReport {
  return {
    url: "https://docs.example/",
    kind: "site",
    fetched: 12,
    indexed: 10,
    unchanged: 2,
    chunks: 40,
    failed: [],
    skipped: [],
    documentIds: [],
    ...overrides,
  };
}

const form = (over: Partial<Parameters<typeof readSourceForm>[0]>) => ({
  kind: "site" as const,
  url: "https://docs.example/",
  depth: "",
  maxPages: "",
  ...over,
});

describe("syncedAgo", () => {
  it("counts seconds, minutes, hours and days", () => {
    expect(syncedAgo(1000, 1030)).toBe("just now");
    expect(syncedAgo(1000, 1000 + 5 * 60 + 10)).toBe("5 min ago");
    expect(syncedAgo(1000, 1000 + 3 * 3600)).toBe("3 h ago");
    expect(syncedAgo(1000, 1000 + 86400)).toBe("1 day ago");
    expect(syncedAgo(1000, 1000 + 9 * 86400)).toBe("9 days ago");
  });

  it("says just now for a sync stamped ahead of the browser's clock", () => {
    expect(syncedAgo(2000, 1000)).toBe("just now");
  });
});

describe("sourceMeta", () => {
  it("gives a site's limits and its last sync", () => {
    expect(sourceMeta(source({}), 1_000_120)).toBe("site · depth 2 · up to 50 pages · synced 2 min ago");
  });

  it("gives a feed no crawl limits", () => {
    expect(sourceMeta(source({ kind: "feed" }), 1_000_000)).toBe("feed · synced just now");
  });

  it("counts the pages the cloud recorded", () => {
    expect(sourceMeta(source({ pages: 1 }), 1_000_000)).toContain("1 page recorded");
    expect(sourceMeta(source({ pages: 37 }), 1_000_000)).toContain("37 pages recorded");
  });

  it("says a queued source was never synced", () => {
    expect(sourceMeta(source({ status: "queued", syncedAt: null }), 1_000_000)).toMatch(/never synced$/);
  });
});

describe("reportSummary", () => {
  it("counts what a fetch did", () => {
    expect(reportSummary(report({}))).toBe("https://docs.example/: 12 fetched, 10 indexed, 2 unchanged");
  });

  it("counts failed and skipped pages when there are some", () => {
    const r = report({ failed: [{ url: "a", reason: "http_error" }], skipped: [{ url: "b", reason: "robots" }] });
    expect(reportSummary(r)).toBe("https://docs.example/: 12 fetched, 10 indexed, 2 unchanged, 1 failed, 1 skipped");
  });

  it("says a queued source is fetched in the background", () => {
    expect(reportSummary(report({ queued: true, fetched: 0 }))).toBe("https://docs.example/: queued, fetched in the background");
  });
});

describe("readSourceForm", () => {
  it("sends a site with only the limits that were filled in", () => {
    expect(readSourceForm(form({}))).toEqual({ source: { kind: "site", url: "https://docs.example/" } });
    expect(readSourceForm(form({ depth: "0", maxPages: "20" }))).toEqual({
      source: { kind: "site", url: "https://docs.example/", depth: 0, maxPages: 20 },
    });
  });

  it("sends a feed with its URL only", () => {
    expect(readSourceForm(form({ kind: "feed", url: " https://blog.example/feed.xml ", depth: "3" }))).toEqual({
      source: { kind: "feed", url: "https://blog.example/feed.xml" },
    });
  });

  it("refuses what is not an http(s) address", () => {
    expect(readSourceForm(form({ url: "docs.example" }))).toHaveProperty("problem");
    expect(readSourceForm(form({ url: "file:///etc/passwd" }))).toEqual({
      problem: "Only http:// and https:// addresses can be fetched.",
    });
  });

  it("refuses limits outside the API's ranges", () => {
    expect(readSourceForm(form({ depth: "11" }))).toEqual({ problem: "Depth must be a whole number from 0 to 10." });
    expect(readSourceForm(form({ maxPages: "0" }))).toEqual({ problem: "Max pages must be a whole number from 1 to 1000." });
    expect(readSourceForm(form({ maxPages: "2.5" }))).toHaveProperty("problem");
  });
});

describe("shouldPoll", () => {
  it("polls while a source is queued", () => {
    expect(shouldPoll([source({}), source({ status: "queued" })], 0)).toBe(true);
  });

  it("stops when nothing is queued", () => {
    expect(shouldPoll([source({}), source({ status: "failed" })], 0)).toBe(false);
    expect(shouldPoll(null, 0)).toBe(false);
  });

  it("stops after the cap even if a source is still queued", () => {
    expect(shouldPoll([source({ status: "queued" })], MAX_POLLS - 1)).toBe(true);
    expect(shouldPoll([source({ status: "queued" })], MAX_POLLS)).toBe(false);
  });
});

describe("shownError", () => {
  it("shows the SSRF guard's own message under the code's title and hint", () => {
    const e = shownError(new ApiError("address_refused", "10.0.0.5 is a private address", 400));
    expect(e).toMatchObject({ code: "address_refused", title: "Address not allowed", message: "10.0.0.5 is a private address" });
    expect(e.hint).toMatch(/CHORUS_SOURCES_ALLOW_PRIVATE/);
  });

  it("explains a deployment without web sources", () => {
    const e = shownError(new ApiError("not_deployed", "this deployment does not fetch web sources yet", 400));
    expect(e.title).toBe("Not offered by this deployment");
  });

  it("treats anything but an ApiError as a network failure", () => {
    expect(shownError(new TypeError("Failed to fetch")).code).toBe("network_error");
  });
});
