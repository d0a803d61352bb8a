"""API keys: the key format, the stored hash, and the usage plan's arithmetic on a fake clock
(``now`` is a number the test chooses; no test reads the wall time)."""

from __future__ import annotations

import pytest
from chorus.runtime.core.api_keys import (
    DAY_SECONDS,
    InvalidApiKey,
    LimitExceeded,
    Usage,
    UsagePlan,
    admit,
    issue_key,
    parse_key,
    secret_matches,
)

NOON = 20_000 * DAY_SECONDS + 43_200.0
"""12:00 UTC on day 20,000 since the epoch."""


def fresh(plan: UsagePlan, now: float = NOON) -> Usage:
    return Usage(tokens=float(plan.burst), refilled_at=now)


def test_an_issued_key_parses_back_to_its_id_and_its_secret_matches_the_record():
    raw, record = issue_key("ws", "ci", "alice", NOON, UsagePlan())

    key_id, secret = parse_key(raw)

    assert raw.startswith("chorus_") and key_id == record.key_id
    assert secret_matches(record, secret)
    assert not secret_matches(record, secret[:-1] + ("A" if secret[-1] != "A" else "B"))


def test_the_record_holds_no_trace_of_the_secret():
    raw, record = issue_key("ws", "ci", "alice", NOON, UsagePlan())
    _, secret = parse_key(raw)

    assert secret not in repr(record)
    assert record.secret_hash != secret and len(record.secret_hash) == 64


def test_two_keys_with_the_same_secret_hash_differently(monkeypatch):
    import secrets

    monkeypatch.setattr(secrets, "token_urlsafe", lambda n: "s" * 43)
    _, one = issue_key("ws", "a", "alice", NOON, UsagePlan())
    _, two = issue_key("ws", "b", "alice", NOON, UsagePlan())

    assert one.salt != two.salt and one.secret_hash != two.secret_hash


@pytest.mark.parametrize(
    "presented", [None, "", "chorus_", "Bearer x", "chorus_0123456789abcdef_short", "x" * 5000]
)
def test_anything_but_a_whole_key_is_an_invalid_key(presented):
    with pytest.raises(InvalidApiKey) as refused:
        parse_key(presented)

    assert refused.value.http_status == 401


def test_a_burst_is_admitted_then_the_next_request_waits_for_one_token():
    plan = UsagePlan(rate_per_second=0.5, burst=3, daily_quota=100)
    usage = fresh(plan)
    for _ in range(3):
        usage = admit(usage, plan, NOON)

    with pytest.raises(LimitExceeded) as refused:
        admit(usage, plan, NOON)

    assert (refused.value.code, refused.value.retry_after) == ("rate_limited", 2)
    assert refused.value.http_status == 429


def test_tokens_refill_at_the_plans_rate_up_to_the_burst():
    plan = UsagePlan(rate_per_second=2.0, burst=4, daily_quota=100)
    usage = admit(fresh(plan), plan, NOON)

    later = admit(usage, plan, NOON + 100.0)  # a long pause refills to the burst, not beyond

    assert later.tokens == pytest.approx(3.0)
    assert later.day_used == 2


def test_a_refused_request_spends_nothing():
    plan = UsagePlan(rate_per_second=1.0, burst=1, daily_quota=100)
    usage = admit(fresh(plan), plan, NOON)

    with pytest.raises(LimitExceeded):
        admit(usage, plan, NOON + 0.5)

    assert admit(usage, plan, NOON + 1.0).day_used == 2


def test_the_daily_quota_refuses_until_midnight_utc_then_renews():
    plan = UsagePlan(rate_per_second=100.0, burst=100, daily_quota=2)
    usage = admit(admit(fresh(plan), plan, NOON), plan, NOON)

    with pytest.raises(LimitExceeded) as refused:
        admit(usage, plan, NOON + 60)

    assert refused.value.code == "quota_exceeded"
    assert refused.value.retry_after == 43_200 - 60
    assert admit(usage, plan, NOON + 43_200).day_used == 1


def test_the_error_body_says_when_to_retry():
    plan = UsagePlan(rate_per_second=1.0, burst=1, daily_quota=1)
    usage = admit(fresh(plan), plan, NOON)

    with pytest.raises(LimitExceeded) as refused:
        admit(usage, plan, NOON + 1)

    assert refused.value.to_dict()["retryAfter"] == refused.value.retry_after


def test_a_plan_without_room_for_one_request_is_refused():
    with pytest.raises(ValueError):
        UsagePlan(rate_per_second=0, burst=1, daily_quota=1)
