"""URLs of sources: normalised, compared by site, named as documents."""

from __future__ import annotations

import pytest
from chorus.runtime.core.parsing import safe_document_name
from chorus.runtime.core.sources import (
    QAPair,
    SourceError,
    document_id_for_url,
    document_name_for_url,
    normalize_url,
    qa_document_id,
    qa_text,
    same_site,
)


def test_a_url_loses_its_fragment_and_credentials_and_gets_a_path():
    assert normalize_url("HTTPS://user:pw@Example.COM#top") == "https://example.com/"


def test_a_relative_link_is_resolved_against_its_page():
    assert normalize_url("../b?x=1", "http://example.com/a/c") == "http://example.com/b?x=1"


@pytest.mark.parametrize("url", ["mailto:a@b.c", "javascript:alert(1)", "ftp://x/", "//"])
def test_non_http_urls_are_bad(url):
    with pytest.raises(SourceError) as info:
        normalize_url(url)
    assert info.value.code == "bad_url"


def test_same_site_means_same_host_and_port():
    assert same_site("https://example.com/a", "http://example.com/")
    assert not same_site("http://example.com:8080/", "http://example.com/")
    assert not same_site("http://docs.example.com/", "http://example.com/")


def test_a_page_name_is_a_safe_document_name_even_when_long():
    url = "http://example.com/" + "/".join(["segment"] * 60) + "?q=1"
    name = document_name_for_url(url)
    assert safe_document_name(name) == name and name.endswith(".txt")
    assert document_name_for_url(url + "2") != name


def test_one_document_per_url():
    assert document_id_for_url("http://a/x") != document_id_for_url("http://a/y")


def test_a_qa_pair_text_starts_with_its_question_and_its_id_follows_the_question():
    pair = QAPair(" Is there wifi? ", "Yes.")
    assert qa_text(pair).startswith("Question: Is there wifi?\n\nAnswer: Yes.")
    assert qa_document_id(pair) == qa_document_id(QAPair("Is there wifi?", "No."))
