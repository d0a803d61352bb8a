"""chorus cost: a dated, itemised estimate; the dev stack idles at cents (nothing polls, no
Aurora secret, alarms within the free tier); each event path priced at 0 / 1k / 1M a day."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from components import prices
from components.cost import (
    EVENTS_PER_DAY,
    alarm_count,
    estimate,
    estimate_stack,
    format_report,
    polled_queues,
)
from components.settings import parse_settings

ROOT = Path(__file__).resolve().parents[2]


def test_dev_stack_idles_at_cents_with_only_its_free_tier_alarms_above_a_cent():
    report = estimate_stack("dev", ROOT)
    paid = {i.name: i.usd for i in report.idle if i.usd > 0}
    assert set(paid) == {"CloudWatch alarms", "S3 storage"}
    assert report.idle_total - paid["CloudWatch alarms"] <= 0.25  # list price, alarms aside
    assert report.idle_after_free_tier < 0.01  # the alarms are within the 10 free ones


def test_report_is_item_by_item_and_dated():
    text = format_report(estimate_stack("dev", ROOT))
    assert prices.AS_OF in text
    assert "Event paths: EventBridge, asynchronous invocation: nothing polls" in text
    assert "Per 1,000 chats (mode single, anthropic.claude-3-haiku" in text
    assert "dominated by:" in text


def test_nat_gateways_and_gpu_endpoints_show_up_at_their_price():
    cheap = estimate(parse_settings({}))
    costly = estimate(
        parse_settings(
            {
                "chorus:network": {"natGateways": 1, "interfaceEndpoints": []},
                "chorus:models": {"embedding": {"hosting": "instance"}},
            }
        )
    )
    delta = costly.idle_total - cheap.idle_total
    nat = prices.HOURS_PER_MONTH * (0.045 + 0.005)
    gpu = prices.HOURS_PER_MONTH * prices.INSTANCE_HOUR["ml.g4dn.xlarge"]
    # neither stack has interface endpoints (the default is none)
    assert delta == pytest.approx(nat + gpu)


def test_consensus_mode_pays_for_every_model():
    base = {"chorus:models": {"bedrock": ["anthropic.claude-3-haiku-20240307-v1:0",
                                          "meta.llama3-8b-instruct-v1:0"]}}  # fmt: skip
    single = estimate(parse_settings(base)).per_thousand_total
    consensus = estimate(
        parse_settings({**base, "chorus:orchestrator": {"defaultMode": "consensus"}})
    ).per_thousand_total
    assert consensus > single


def test_unknown_instance_type_says_where_to_add_its_price():
    embedding = {"hosting": "instance", "instanceType": "ml.p5.48xlarge"}
    settings = parse_settings({"chorus:models": {"embedding": embedding}})
    with pytest.raises(KeyError, match=r"prices\.py"):
        estimate(settings)


def test_cli_command_prints_the_estimate_and_json(tmp_path):
    from components.cost_command import cost

    shutil.copy(ROOT / "Pulumi.dev.yaml", tmp_path / "Pulumi.dev.yaml")
    runner = CliRunner()
    result = runner.invoke(cost, ["--stack", "dev", "--project-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "Idle, per month" in result.output
    result = runner.invoke(cost, ["--stack", "dev", "--project-dir", str(tmp_path), "--json"])
    payload = json.loads(result.output)
    assert payload["idleTotal"] == pytest.approx(estimate_stack("dev", ROOT).idle_total, abs=1e-3)


def test_cli_names_a_missing_stack_file(tmp_path):
    from components.cost_command import cost

    result = CliRunner().invoke(cost, ["--stack", "prod", "--project-dir", str(tmp_path)])
    assert result.exit_code != 0
    assert "Pulumi.prod.yaml not found" in result.output


def test_the_cdn_is_an_item_with_no_idle_charge():
    report = estimate_stack("dev", ROOT)
    [cdn] = [i for i in report.idle if i.name.startswith("CloudFront")]
    assert cdn.usd == 0.0
    off = estimate(parse_settings({"chorus:frontend": {"enabled": False}}))
    assert not any(i.name.startswith("CloudFront") for i in off.idle)
    assert off.idle_total == pytest.approx(estimate(parse_settings({})).idle_total)


def test_vpc_attached_lambdas_pay_for_their_interface_endpoints():
    endpoints = ["ssm", "secretsmanager", "sns", "states", "sagemaker.runtime", "bedrock-runtime"]
    vpc = {"chorus:network": {"lambdasInVpc": True, "interfaceEndpoints": endpoints}}
    [item] = [i for i in estimate(parse_settings(vpc)).idle if i.name == "Interface VPC endpoints"]
    assert item.usd == pytest.approx(6 * 2 * 730 * prices.PRICES["interface_endpoint_az_hour"])


# -- the store comparison ---------------------------------------------------------------------


def _stores(config=None):
    return {o.kind: o for o in estimate(parse_settings(config or {})).stores}


def test_store_comparison_prices_every_store_kind_for_a_10k_chunk_workspace():
    stores = {o.kind: o for o in estimate_stack("dev", ROOT).stores}
    assert list(stores) == ["dynamodb", "pgvector", "opensearch", "s3vectors", "kendra"]
    P = prices.PRICES
    # DynamoDB: 25 MB stored; 100 of 1,000 queries load the partition, 6,250 RRU each
    assert stores["dynamodb"].idle_usd == pytest.approx(0.025 * P["dynamodb_storage_gb_month"])
    assert stores["dynamodb"].per_thousand_queries_usd == pytest.approx(
        100 * 6250 * P["dynamodb_read_million"] / 1e6
    )
    # Aurora paused: the secret and 1 GB; 100 wake-ups of 15 min at 0.5 ACU + 2,000 Data API calls
    assert stores["pgvector"].idle_usd == pytest.approx(0.40 + 0.10)
    assert stores["pgvector"].per_thousand_queries_usd == pytest.approx(
        100 * 0.25 * 0.5 * P["aurora_acu_hour"] + 2000 * P["rds_data_api_request_million"] / 1e6
    )
    assert stores["opensearch"].idle_usd == pytest.approx(730 * P["opensearch_ocu_hour"])
    assert stores["opensearch"].per_thousand_queries_usd == 0.0
    assert stores["s3vectors"].idle_usd == pytest.approx(0.016 * P["s3vectors_storage_gb_month"])
    assert stores["s3vectors"].per_thousand_queries_usd == pytest.approx(
        1000 * P["s3vectors_query_million"] / 1e6 + 0.016 * P["s3vectors_query_tb_processed"]
    )
    assert stores["kendra"].idle_usd == pytest.approx(730 * P["kendra_developer_hour"])


def test_store_comparison_cites_where_each_latency_comes_from():
    stores = _stores()
    assert "bench/stores.py" in stores["dynamodb"].latency_source
    assert "0.4" in stores["dynamodb"].latency and "534" in stores["dynamodb"].latency
    for kind in ("pgvector", "opensearch", "s3vectors", "kendra"):
        assert stores[kind].latency_source.startswith("not measured here"), kind
    assert "10k chunks" in stores["dynamodb"].fits


def test_dev_stores_are_marked_deployed_with_dynamodb_the_default():
    stores = {o.kind: o for o in estimate_stack("dev", ROOT).stores}
    assert [k for k, o in stores.items() if o.deployed] == ["dynamodb"]  # Aurora: opt-in
    assert [k for k, o in stores.items() if o.default] == ["dynamodb"]
    text = format_report(estimate_stack("dev", ROOT))
    assert "Vector stores for a 10,000-chunk workspace" in text
    assert "> dynamodb" in text and "* pgvector" not in text


def test_a_chat_pays_for_retrieval_in_the_default_store():
    def retrieval(config):
        [item] = [i for i in estimate(parse_settings(config)).per_thousand_chats
                  if i.name.startswith("Retrieval")]  # fmt: skip
        return item

    dynamodb = retrieval({})
    assert dynamodb.name == "Retrieval: dynamodb (the default store)"
    assert dynamodb.usd == pytest.approx(_stores()["dynamodb"].per_thousand_queries_usd)
    aurora = retrieval({"chorus:vectorStore": {"defaultStore": "pgvector"}})
    assert aurora.usd == pytest.approx(_stores()["pgvector"].per_thousand_queries_usd)
    assert aurora.usd > 10 * dynamodb.usd  # Aurora's wake-ups dominate
    always_on = {"defaultStore": "pgvector", "aurora": {"minCapacity": 0.5}}
    awake = retrieval({"chorus:vectorStore": always_on})
    assert awake.usd == pytest.approx(2000 * prices.PRICES["rds_data_api_request_million"] / 1e6)


def test_dev_per_thousand_chats_is_tokens_plus_a_cheap_retrieval():
    report = estimate_stack("dev", ROOT)
    assert report.per_thousand_total == pytest.approx(1.27, abs=0.01)
    alarms = [i for i in report.idle if i.name == "CloudWatch alarms"]
    assert [a.detail for a in alarms] == ["9 alarm metrics (essential set)"]
    assert report.idle_total == pytest.approx(0.90 + 0.0035, abs=0.001)  # alarms + S3
    assert report.idle_after_free_tier == pytest.approx(0.0035, abs=0.001)


def test_aurora_in_the_vpc_skips_the_data_api_charge():
    vpc = {"chorus:network": {"lambdasInVpc": True}, "chorus:vectorStore": {"aurora": {
        "minCapacity": 0.5}}}  # fmt: skip
    assert _stores(vpc)["pgvector"].per_thousand_queries_usd == 0.0


def test_cli_json_carries_the_store_comparison(tmp_path):
    from components.cost_command import cost

    shutil.copy(ROOT / "Pulumi.dev.yaml", tmp_path / "Pulumi.dev.yaml")
    result = CliRunner().invoke(cost, ["--stack", "dev", "--project-dir", str(tmp_path), "--json"])
    stores = {s["kind"]: s for s in json.loads(result.output)["stores"]}
    assert stores["dynamodb"]["default"] is True
    assert stores["kendra"]["idle_usd"] == pytest.approx(821.25)


# -- event paths ------------------------------------------------------------------------------


def _paths(config=None):
    return {(e.path, e.mode): e for e in estimate(parse_settings(config or {})).event_paths}


def test_each_event_path_is_priced_in_both_modes_at_0_1k_and_1m_a_day():
    paths = _paths()
    assert set(paths) == {
        ("ingestion", "queue"),
        ("ingestion", "eventbridge"),
        ("chat", "queue"),
        ("chat", "async"),
    }
    for path in paths.values():
        assert [n for n, _ in path.usd_by_rate] == list(EVENTS_PER_DAY) == [0, 1_000, 1_000_000]


def test_idle_free_paths_cost_nothing_at_zero_events_and_queues_their_pollers():
    paths = _paths()
    polls = 5 * 3 * 60 * 730 * prices.PRICES["sqs_request_million"] / 1e6
    assert dict(paths["ingestion", "eventbridge"].usd_by_rate)[0] == 0.0
    assert dict(paths["chat", "async"].usd_by_rate)[0] == 0.0
    assert dict(paths["ingestion", "queue"].usd_by_rate)[0] == pytest.approx(polls)
    assert dict(paths["chat", "queue"].usd_by_rate)[0] == pytest.approx(2 * polls)


def test_an_async_event_costs_one_lambda_request():
    per_month = 1_000_000 * 730 / 24
    [(_, usd)] = [r for r in _paths()["chat", "async"].usd_by_rate if r[0] == 1_000_000]
    assert usd == pytest.approx(per_month * prices.PRICES["lambda_request_million"] / 1e6)


def test_a_queued_event_costs_a_send_and_its_share_of_receive_delete_and_invoke():
    days = 730 / 24
    [(_, usd)] = [r for r in _paths()["ingestion", "queue"].usd_by_rate if r[0] == 1_000_000]
    events = 1_000_000 * days
    polls = 5 * 3 * 60 * 730
    expected = (polls + events * (1 + 2 / 5)) * 0.40 / 1e6 + events / 5 * 0.20 / 1e6
    assert usd == pytest.approx(expected)


def test_the_deployed_mode_is_marked_and_printed_per_path():
    dev = {(e.path, e.mode) for e in estimate_stack("dev", ROOT).event_paths if e.selected}
    prod = {(e.path, e.mode) for e in estimate_stack("prod", ROOT).event_paths if e.selected}
    assert dev == {("ingestion", "eventbridge"), ("chat", "async")}
    assert prod == {("ingestion", "queue"), ("chat", "queue")}
    text = format_report(estimate_stack("dev", ROOT))
    assert "> ingestion   eventbridge" in text and "  ingestion   queue" in text
    assert "1M/day" in text


def test_queue_paths_add_pollers_to_the_idle_bill_and_an_alarm_per_dlq():
    queued = parse_settings({"chorus:eventPaths": {"ingestion": "queue", "chat": "queue"}})
    idle_free = parse_settings({})
    assert (polled_queues(queued), polled_queues(idle_free)) == (3, 0)
    # + cache invalidation's own DLQ; each queue's age alarm replaces its worker's event age
    assert alarm_count(queued) == alarm_count(idle_free) + 1
    names = {i.name for i in estimate(queued).idle}
    assert "SQS long polling by Lambda" in names


def test_cli_json_carries_the_event_paths(tmp_path):
    from components.cost_command import cost

    shutil.copy(ROOT / "Pulumi.dev.yaml", tmp_path / "Pulumi.dev.yaml")
    result = CliRunner().invoke(cost, ["--stack", "dev", "--project-dir", str(tmp_path), "--json"])
    paths = {(p["path"], p["mode"]): p for p in json.loads(result.output)["eventPaths"]}
    assert paths["chat", "async"]["deployed"] is True
    assert paths["chat", "async"]["usdPerMonth"]["0"] == 0.0
