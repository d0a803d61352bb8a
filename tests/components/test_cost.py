"""chorus cost: a dated, itemised estimate; the dev stack idles at about a dollar."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from components import prices
from components.cost import estimate, estimate_stack, format_report
from components.settings import parse_settings

ROOT = Path(__file__).resolve().parents[2]


def test_dev_stack_idles_at_about_a_dollar_a_month():
    report = estimate_stack("dev", ROOT)
    assert report.idle_total < 2.0
    assert report.idle_after_free_tier <= 1.0
    names = {i.name for i in report.idle if i.usd > 0}
    assert "NAT gateways" not in names and "KMS customer-managed key" not in names


def test_report_is_item_by_item_and_dated():
    text = format_report(estimate_stack("dev", ROOT))
    assert prices.AS_OF in text
    assert "Aurora Serverless v2 compute: paused at 0 ACU" in text
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
    from runtime.commands.cost import cost

    shutil.copy(ROOT / "Pulumi.dev.yaml", tmp_path / "Pulumi.dev.yaml")
    runner = CliRunner()
    result = runner.invoke(cost, ["--stack", "dev", "--project-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "Idle, per month" in result.output
    result = runner.invoke(cost, ["--stack", "dev", "--project-dir", str(tmp_path), "--json"])
    payload = json.loads(result.output)
    assert payload["idleTotal"] == pytest.approx(estimate_stack("dev", ROOT).idle_total, abs=1e-3)


def test_cli_names_a_missing_stack_file(tmp_path):
    from runtime.commands.cost import cost

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
    assert [k for k, o in stores.items() if o.deployed] == ["dynamodb", "pgvector"]
    assert [k for k, o in stores.items() if o.default] == ["dynamodb"]
    text = format_report(estimate_stack("dev", ROOT))
    assert "Vector stores for a 10,000-chunk workspace" in text
    assert "> dynamodb" in text and "* pgvector" in text


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
    assert report.idle_total == pytest.approx(1.69, abs=0.01)
    assert report.idle_after_free_tier == pytest.approx(0.89, abs=0.01)


def test_aurora_in_the_vpc_skips_the_data_api_charge():
    vpc = {"chorus:network": {"lambdasInVpc": True}, "chorus:vectorStore": {"aurora": {
        "minCapacity": 0.5}}}  # fmt: skip
    assert _stores(vpc)["pgvector"].per_thousand_queries_usd == 0.0


def test_cli_json_carries_the_store_comparison(tmp_path):
    from runtime.commands.cost import cost

    shutil.copy(ROOT / "Pulumi.dev.yaml", tmp_path / "Pulumi.dev.yaml")
    result = CliRunner().invoke(cost, ["--stack", "dev", "--project-dir", str(tmp_path), "--json"])
    stores = {s["kind"]: s for s in json.loads(result.output)["stores"]}
    assert stores["dynamodb"]["default"] is True
    assert stores["kendra"]["idle_usd"] == pytest.approx(821.25)
