"""ASL placeholders: every one replaced, typos caught, JSONPath untouched."""

from __future__ import annotations

import pytest

from components.statemachines import placeholders, substitute

TEMPLATE = '{"FunctionName": "${TaskArn}", "Payload.$": "$", "Item.$": "$$.Map.Item.Value"}'


def test_placeholders_are_replaced_and_jsonpath_is_left_alone():
    result = substitute(TEMPLATE, {"TaskArn": "arn:aws:lambda:eu-west-1:123456789012:function:f"})
    assert result == (
        '{"FunctionName": "arn:aws:lambda:eu-west-1:123456789012:function:f", '
        '"Payload.$": "$", "Item.$": "$$.Map.Item.Value"}'
    )


def test_missing_and_unknown_values_are_errors():
    with pytest.raises(ValueError, match="missing values for \\['TaskArn'\\]"):
        substitute(TEMPLATE, {})
    with pytest.raises(ValueError, match="unknown placeholders \\['Typo'\\]"):
        substitute(TEMPLATE, {"TaskArn": "x", "Typo": "y"})


def test_placeholders_lists_the_names():
    assert placeholders(TEMPLATE) == {"TaskArn"}
