"""``chorus eval grounding --claims FILE [--judge NAME]``: check the grounding judge on your
own data.

FILE is JSONL, one object per line: ``{"id", "sources": [{"id", "text"}], "claims": [str]}``.
The command prints JSONL, one object per input line, in order: ``{"id", "verdicts": [{"claim",
"verdict": "supported"|"unsupported"|"contradicted", "score", "source"}]}`` — one verdict per
claim, in order; ``source`` is the id of the best-matching source, or null.

Judges: ``embedding`` (the default: what a local chat turn uses — MiniLM alignment plus the
contradiction check, combined with the NLI model ``CHORUS_NLI_MODEL`` names when it is set),
``nli`` (that NLI model alone, over the same alignment: to measure a model before trusting it)
and ``cosine`` (alignment only, the judge before contradictions were checked; for comparison).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import click

JUDGES = ("embedding", "nli", "cosine")


class ClaimsFileError(click.ClickException):
    """A line of the claims file is not what the command reads."""


def read_claims(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    """Each non-blank line as a checked ``{"id", "sources", "claims"}`` object."""
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ClaimsFileError(f"line {number}: not JSON ({exc.msg})") from None
        sources = item.get("sources") if isinstance(item, dict) else None
        claims = item.get("claims") if isinstance(item, dict) else None
        if (
            not isinstance(sources, list)
            or not all(isinstance(s, dict) and "id" in s and "text" in s for s in sources)
            or not isinstance(claims, list)
            or not all(isinstance(c, str) for c in claims)
        ):
            raise ClaimsFileError(
                f'line {number}: expected {{"id", "sources": [{{"id", "text"}}], '
                '"claims": [str, ...]}'
            )
        yield item


def judge_item(item: Mapping[str, Any], judge: Any) -> dict[str, Any]:
    """The verdicts for one input object (see the module docstring for the shape)."""
    from ..core.context import assemble_context
    from ..core.models import SearchHit

    hits = [
        SearchHit(str(s["id"]), str(s["id"]), 0, str(s["text"]), 1.0, {}) for s in item["sources"]
    ]
    context = assemble_context(hits, budget_tokens=sys.maxsize)
    ids = {c.number: c.hit.chunk_id for c in context.citations}
    claims = [str(c) for c in item["claims"]]
    verdicts = judge.judge_claims(claims, context) if claims else []
    return {
        "id": item.get("id"),
        "verdicts": [
            {
                "claim": claim,
                "verdict": v.verdict,
                "score": v.score,
                "source": ids.get(v.source) if v.source is not None else None,
            }
            for claim, v in zip(claims, verdicts, strict=True)
        ],
    }


def build_judge(name: str, embedder_factory: Callable[[], Any], settings: Any = None) -> Any:
    """The judge ``--judge name`` asks for; ``settings`` (``LocalSettings``, default: from the
    environment) say which NLI model a turn adds."""
    from ..core.grounding import EmbeddingGroundingJudge
    from ..local.services import grounding_judge
    from ..local.settings import LocalSettings

    settings = settings if settings is not None else LocalSettings()
    if name == "cosine":
        return EmbeddingGroundingJudge(embedder_factory(), contradictions=False)
    if name == "embedding":
        return grounding_judge(embedder_factory(), settings)
    if settings.nli_model_path is None:
        raise click.UsageError(
            "--judge nli needs an NLI cross-encoder: set CHORUS_NLI_MODEL to its folder"
        )
    from ..adapters.nli_cross_encoder import CrossEncoderEntailment
    from ..core.model_judges import NLIGroundingJudge

    words = EmbeddingGroundingJudge(embedder_factory())
    return NLIGroundingJudge(CrossEncoderEntailment(settings.nli_model_path), words)


@click.command("grounding")
@click.option(
    "--claims",
    "claims_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help='JSONL: {"id", "sources": [{"id", "text"}], "claims": [str, ...]} per line.',
)
@click.option(
    "--judge",
    type=click.Choice(JUDGES),
    default="embedding",
    show_default=True,
    help="embedding: what a local chat turn uses (with CHORUS_NLI_MODEL when set); nli: that "
    "NLI model alone; cosine: alignment only.",
)
def grounding(claims_file: Path, judge: str) -> None:
    """Judge each claim against its sources; print one JSONL verdict line per input line."""
    from ..adapters.sentence_transformers import SentenceTransformerEmbedder
    from ..cli import _quiet_libraries

    _quiet_libraries()
    with claims_file.open(encoding="utf-8") as lines:
        items = list(read_claims(lines))
    checker = build_judge(judge, SentenceTransformerEmbedder)
    for item in items:
        click.echo(json.dumps(judge_item(item, checker)))
