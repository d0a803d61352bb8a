"""BEIR-format files as evaluation cases: what ``chorus eval answers`` reads from disk.

The three BEIR files (``corpus.jsonl``, ``queries.jsonl``, ``qrels`` TSV) plus an optional
answers file, JSONL with one ``{"_id", "answer"}`` object per line:

- ``answer`` (a string) is the reference answer: the report scores similarity to it;
- ``"answerable": false`` (``answer`` then omitted or null) marks a question the corpus cannot
  answer: the right reply declines, and the question needs no qrels line.

The cases are the queries with a relevant document (grade > 0) in the qrels, then the queries
marked unanswerable, in the queries file's order. A query line whose ``metadata.origin`` is
``"generated"`` (what ``chorus eval generate`` writes) becomes a synthetic case.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

from .errors import BadRequest
from .eval_cases import EvalCase
from .evaluation import CorpusDoc, _jsonl_records, _record_id, load_qrels, load_query_records

__all__ = ["cases_from_beir", "load_answers", "load_cases", "write_beir"]


def load_answers(path: str | Path) -> dict[str, dict[str, Any]]:
    """Read the answers JSONL: ``{query_id: {"answer": str | None, "answerable": bool}}``.

    Raises
    ------
    BadRequest
        Invalid JSON, a missing or duplicate ``_id``, an ``answer`` that is not a string, an
        ``answerable`` that is not a boolean, or an answerable line without an answer.
    """
    answers: dict[str, dict[str, Any]] = {}
    for where, record in _jsonl_records(path):
        query_id = _record_id(record, where)
        if query_id in answers:
            raise BadRequest(f"{where}: duplicate _id {query_id!r}")
        answer = record.get("answer")
        answerable = record.get("answerable", True)
        if not isinstance(answerable, bool):
            raise BadRequest(f"{where}: 'answerable' must be true or false")
        if answer is not None and (not isinstance(answer, str) or not answer.strip()):
            raise BadRequest(f"{where}: 'answer' must be a non-empty string (or null)")
        if answerable and answer is None:
            raise BadRequest(
                f"{where}: give an 'answer', or mark the question '\"answerable\": false'"
            )
        answers[query_id] = {"answer": answer, "answerable": answerable}
    return answers


def cases_from_beir(
    queries: Mapping[str, tuple[str, str] | str],
    qrels: Mapping[str, Mapping[str, int]],
    document_ids: Collection[str],
    answers: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[EvalCase]:
    """Cases from loaded BEIR data; ``document_ids`` are the ids the answers may cite.

    Raises
    ------
    BadRequest
        A qrels or answers line names a query the queries file lacks, a qrels line names a
        document the corpus lacks, a question marked unanswerable has a relevant document, a
        judged question has no relevant document and is not marked unanswerable, or no case
        is left.
    """
    answers = answers or {}
    known = set(document_ids)
    for query_id, judged in qrels.items():
        if query_id not in queries:
            raise BadRequest(f"qrels: query {query_id!r} is not in the queries file")
        unknown = sorted(d for d in judged if d not in known)
        if unknown:
            raise BadRequest(
                f"qrels: query {query_id!r} is judged against {unknown[0]!r}, which is not a "
                "document of the corpus (or workspace)"
            )
    for query_id in answers:
        if query_id not in queries:
            raise BadRequest(f"answers: query {query_id!r} is not in the queries file")
    cases: list[EvalCase] = []
    for query_id, entry in queries.items():
        text, origin = (entry, "file") if isinstance(entry, str) else entry
        relevant = tuple(d for d, grade in qrels.get(query_id, {}).items() if grade > 0)
        given = answers.get(query_id, {})
        answerable = bool(given.get("answerable", True))
        if not answerable and relevant:
            raise BadRequest(
                f"query {query_id!r} is marked unanswerable but the qrels grade "
                f"{relevant[0]!r} relevant; drop one of the two"
            )
        if answerable and not relevant:
            if query_id in qrels:
                raise BadRequest(
                    f"query {query_id!r} has no relevant document in the qrels; grade one, or "
                    'mark it {"_id": ..., "answerable": false} in the answers file'
                )
            continue  # a query of another split: not part of this set
        cases.append(
            EvalCase(
                id=query_id,
                question=text,
                relevant_document_ids=relevant,
                reference_answer=given.get("answer"),
                answerable=answerable,
                origin=origin,  # type: ignore[arg-type]
            )
        )
    if not cases:
        raise BadRequest("the evaluation set is empty: no query has a relevant document")
    return cases


def load_cases(
    queries: str | Path,
    qrels: str | Path,
    document_ids: Collection[str],
    answers: str | Path | None = None,
) -> list[EvalCase]:
    """Read BEIR queries + qrels (+ answers) into cases (see ``cases_from_beir``)."""
    return cases_from_beir(
        load_query_records(queries),
        load_qrels(qrels),
        document_ids,
        load_answers(answers) if answers is not None else None,
    )


def write_beir(
    cases: Sequence[EvalCase], corpus: Mapping[str, CorpusDoc], folder: str | Path
) -> dict[str, Path]:
    """Write ``cases`` as BEIR files (+ answers) that ``load_cases`` reads back the same.

    ``corpus.jsonl`` is ``corpus`` as given; ``queries.jsonl`` marks generated cases with
    ``metadata.origin = "generated"`` (and the source in ``metadata.note``); ``qrels.tsv``
    grades each relevant document 1; ``answers.jsonl`` holds the reference answers and the
    questions marked unanswerable. Returns the paths by name.
    """
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    paths = {name: out / name for name in ("corpus.jsonl", "queries.jsonl", "qrels.tsv")}
    paths["answers.jsonl"] = out / "answers.jsonl"
    with paths["corpus.jsonl"].open("w", encoding="utf-8") as f:
        for doc in corpus.values():
            f.write(json.dumps({"_id": doc.id, "title": doc.title, "text": doc.text}) + "\n")
    with paths["queries.jsonl"].open("w", encoding="utf-8") as f:
        for case in cases:
            line: dict[str, Any] = {"_id": case.id, "text": case.question}
            if case.origin != "file" or case.note:
                line["metadata"] = {"origin": case.origin, "note": case.note}
            f.write(json.dumps(line) + "\n")
    with paths["qrels.tsv"].open("w", encoding="utf-8") as f:
        f.write("query-id\tcorpus-id\tscore\n")
        for case in cases:
            for document_id in case.relevant_document_ids:
                f.write(f"{case.id}\t{document_id}\t1\n")
    with paths["answers.jsonl"].open("w", encoding="utf-8") as f:
        for case in cases:
            if not case.answerable:
                f.write(json.dumps({"_id": case.id, "answerable": False}) + "\n")
            elif case.reference_answer:
                f.write(json.dumps({"_id": case.id, "answer": case.reference_answer}) + "\n")
    return paths
