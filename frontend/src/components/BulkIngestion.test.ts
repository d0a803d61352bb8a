import { describe, expect, it } from "vitest";
import type { BulkJob } from "../api";
import { ApiError } from "../errors";
import { bulkError, bulkFinished, bulkSummary, jobKey, nextPollDelay, objectsSeen, POLL, progressed, readBulkUri } from "./BulkIngestion";

function job(over: Partial<BulkJob> = {}, counts: Partial<BulkJob["counts"]> = {}): BulkJob {
  return {
    jobId: "bulk-20261203T101500Z-1a2b3c4d",
    workspaceId: "ops",
    source: "s3://corpus/manuals/",
    status: "running",
    counts: { ingested: 0, unchanged: 0, skipped: 0, failed: 0, chunks: 0, ...counts },
    batches: 0,
    startedAt: "2026-12-03T10:15:00+00:00",
    finishedAt: null,
    error: null,
    ...over,
  };
}

describe("readBulkUri", () => {
  it("takes s3://bucket/prefix, a bare bucket and a trailing slash", () => {
    expect(readBulkUri(" s3://corpus-bucket/manuals/ ")).toEqual({ uri: "s3://corpus-bucket/manuals/" });
    expect(readBulkUri("s3://corpus.bucket")).toEqual({ uri: "s3://corpus.bucket" });
  });

  it("refuses what is not an S3 location", () => {
    expect(readBulkUri("https://corpus.s3.amazonaws.com/x")).toEqual({ problem: "Write the S3 location as s3://bucket/prefix/." });
    expect(readBulkUri("s3://")).toHaveProperty("problem");
    expect(readBulkUri("./manuals")).toHaveProperty("problem");
  });

  it("refuses a bucket name S3 would not accept, as the server does", () => {
    expect(readBulkUri("s3://Corpus/x")).toHaveProperty("problem");
    expect(readBulkUri("s3://ab/x")).toHaveProperty("problem");
    expect(readBulkUri("s3://-corpus/x")).toHaveProperty("problem");
  });

  it("refuses a location over the API's length limit", () => {
    expect(readBulkUri(`s3://corpus/${"k".repeat(1100)}`)).toHaveProperty("problem");
  });
});

describe("progress", () => {
  it("counts every object status, not chunks", () => {
    expect(objectsSeen(job({}, { ingested: 3, unchanged: 2, skipped: 1, failed: 1, chunks: 40 }).counts)).toBe(7);
  });

  it("summarises counts per status, chunks and batches", () => {
    const j = job({ batches: 12 }, { ingested: 1200, unchanged: 30, skipped: 4, chunks: 5600 });
    expect(bulkSummary(j)).toBe("1,234 objects: 1,200 ingested, 30 unchanged, 4 skipped, 0 failed · 5,600 chunks · 12 batches");
    expect(bulkSummary(job({ batches: 1 }))).toMatch(/· 1 batch$/);
  });

  it("is finished once the workflow set succeeded or failed", () => {
    expect(bulkFinished(job())).toBe(false);
    expect(bulkFinished(job({ status: "succeeded" }))).toBe(true);
    expect(bulkFinished(job({ status: "failed", error: "States.ExceedToleratedFailureThreshold" }))).toBe(true);
  });

  it("sees news in counts, batches or status, and none in an identical reading", () => {
    const before = job({ batches: 2 }, { ingested: 10 });
    expect(progressed(null, before)).toBe(true);
    expect(progressed(before, job({ batches: 2 }, { ingested: 10 }))).toBe(false);
    expect(progressed(before, job({ batches: 2 }, { ingested: 10, chunks: 3 }))).toBe(true);
    expect(progressed(before, job({ batches: 3 }, { ingested: 10 }))).toBe(true);
    expect(progressed(before, job({ batches: 2, status: "succeeded" }, { ingested: 10 }))).toBe(true);
  });
});

describe("nextPollDelay", () => {
  it("starts at the first wait and doubles while nothing changes, up to the cap", () => {
    const waits: number[] = [];
    let wait: number | null = null;
    for (let i = 0; i < 7; i++) {
      wait = nextPollDelay(wait, false);
      waits.push(wait);
    }
    expect(waits).toEqual([2000, 4000, 8000, 16000, 30000, 30000, 30000]);
    expect(Math.max(...waits)).toBe(POLL.maxMs);
  });

  it("goes back to the first wait when a check brought news", () => {
    expect(nextPollDelay(16000, true)).toBe(POLL.firstMs);
  });
});

describe("bulkError", () => {
  it("points a laptop at chorus ingest FOLDER when the workflow is not deployed", () => {
    const shown = bulkError(new ApiError("not_deployed", "bulk ingestion from S3 is not deployed here", 400));
    expect(shown.hint).toMatch(/chorus ingest FOLDER/);
    expect(shown.message).toBe("bulk ingestion from S3 is not deployed here");
  });

  it("says who may start one on a 403 forbidden", () => {
    expect(bulkError(new ApiError("forbidden", "needs the 'admin' or 'workspace_manager' group", 403)).hint).toMatch(
      /admins and workspace managers/,
    );
  });

  it("explains an unreadable or empty S3 location", () => {
    expect(bulkError(new ApiError("source_not_readable", "cannot list s3://x/ (AccessDenied)", 403)).title).toBe(
      "Cannot list that S3 location",
    );
    expect(bulkError(new ApiError("empty_source", "s3://x/y holds no objects", 400)).title).toBe("Nothing to ingest there");
  });
});

describe("jobKey", () => {
  it("remembers one job per workspace", () => {
    expect(jobKey("ops")).not.toBe(jobKey("support"));
  });
});
