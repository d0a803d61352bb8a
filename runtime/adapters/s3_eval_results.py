"""Scheduled evaluation results in S3: each run's JSON and HTML report, and the baseline.

Keys come from ``core.scheduled_evaluation`` (``workspaces/<id>/runs/<time>/result.json`` and
``report.html``, ``workspaces/<id>/baseline.json``), so the functions' IAM can be scoped to the
``workspaces/`` prefix and a lifecycle rule can expire old runs without touching baselines.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ..core.errors import NotFound
from ..core.scheduled_evaluation import (
    RunKeys,
    baseline_key,
    check_report,
    run_keys,
    runs_prefix,
)


class EvalResultsBucket:
    """The results bucket.

    Parameters
    ----------
    s3:
        A boto3 S3 client.
    bucket:
        The bucket name (``CHORUS_EVAL_RESULTS_BUCKET``).
    """

    def __init__(self, s3: Any, bucket: str) -> None:
        self._s3 = s3
        self.bucket = bucket

    def save_run(
        self, workspace_id: str, run_at: datetime, report: Mapping[str, Any], html: str
    ) -> RunKeys:
        keys = run_keys(workspace_id, run_at)
        self._put(keys.result, json.dumps(report, indent=2).encode(), "application/json")
        self._put(keys.report, html.encode(), "text/html; charset=utf-8")
        return keys

    def baseline(self, workspace_id: str) -> dict[str, Any] | None:
        """The accepted baseline report, or None before one is accepted."""
        return self._json(baseline_key(workspace_id))

    def latest_run(self, workspace_id: str) -> str | None:
        """The ``result.json`` key of the newest run, or None before the first."""
        paginator = self._s3.get_paginator("list_objects_v2")
        newest: str | None = None
        for page in paginator.paginate(Bucket=self.bucket, Prefix=runs_prefix(workspace_id)):
            for item in page.get("Contents", []):
                key = item["Key"]
                if key.endswith("/result.json") and (newest is None or key > newest):
                    newest = key
        return newest

    def accept(self, workspace_id: str, result_key: str | None = None) -> str:
        """Make a run (its ``result.json``; the newest when None) the workspace's baseline;
        returns the accepted key. ``NotFound`` for a missing run or a key outside the
        workspace's runs; ``BadRequest`` when the object is not a report."""
        prefix = runs_prefix(workspace_id)
        key = result_key or self.latest_run(workspace_id)
        if key is None:
            raise NotFound(f"workspace {workspace_id!r} has no scheduled run to accept yet")
        if not key.startswith(prefix) or not key.endswith("/result.json"):
            raise NotFound(f"{key!r} is not a run of workspace {workspace_id!r} ({prefix}…)")
        report = self._json(key)
        if report is None:
            raise NotFound(f"no run {key!r} in bucket {self.bucket!r}")
        check_report(report)
        self._put(
            baseline_key(workspace_id),
            json.dumps({**report, "accepted_from": key}, indent=2).encode(),
            "application/json",
        )
        return key

    def _put(self, key: str, body: bytes, content_type: str) -> None:
        self._s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)

    def _json(self, key: str) -> dict[str, Any] | None:
        try:
            body = self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except self._s3.exceptions.NoSuchKey:
            return None
        return json.loads(body)
