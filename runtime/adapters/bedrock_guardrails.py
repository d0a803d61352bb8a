"""GuardrailCheck port on Amazon Bedrock Guardrails' ApplyGuardrail API.

After a turn is answered, the answer is sent to a guardrail (``source: OUTPUT``) as three text
blocks qualified for the contextual grounding check:

- ``grounding_source``: the retrieved sources, as the prompt's context text (``[n] (doc)\\n ...``);
- ``query``: the user's question;
- ``guard_content``: the answer, the only block the guardrail's other policies (denied topics,
  content filters, words, sensitive information) evaluate and may mask or block.

``action: GUARDRAIL_INTERVENED`` gives a verdict with ``intervened=True`` and the guardrail's
``outputs`` text (its blocked message, or the answer with PII masked) as the replacement;
``NONE`` leaves the answer alone. Grounding/relevance thresholds are properties of the guardrail
(set when it is created), not of the request: ApplyGuardrail takes only the guardrail, its
version, the source, the content blocks and ``outputScope``.

Documented limits of the contextual grounding check: 100,000 characters of grounding source,
1,000 of query, 5,000 of guarded content. The source and the query are cut to fit (the context
budget keeps the source far below its limit anyway); the answer is never cut, since an unchecked
tail would defeat the guardrail: an answer over the limit fails with ``ValidationException``.

Failures are read as for Bedrock models (``botocore_errors.ProviderErrors``): throttling →
``Throttled``; timeouts → ``ProviderTimeout``; 5xx / ``ServiceUnavailableException`` /
``InternalServerException`` / connection errors → ``ProviderError``; any other 4xx (access
denied, unknown guardrail or version, validation) → ``ProviderError`` with ``retryable=False``.

What the chat does when the guardrail itself fails is ``fail_open``'s choice:

- ``False`` (default, fail closed): the error propagates, and the chat turn ends with an ``error``
  event carrying its code (``throttled``, ``timeout``, ``provider_unavailable``). An answer that a
  compliance policy requires to be checked is never shown unchecked.
- ``True`` (fail open): the answer is kept and the verdict is ``intervened=False`` with
  ``details = {"error": code, "message": ..., "failOpen": True, ...}``, so ``final.guardrail``
  says the check did not run. Mind that the chat service caches every answer a guardrail did
  not intervene on, so a fail-open answer may later be served from the semantic cache.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from botocore.exceptions import ClientError

from ..core.context import AssembledContext
from ..core.errors import ProviderError, ProviderTimeout, Throttled
from ..core.grounding import GuardrailVerdict
from .bedrock import THROTTLING_CODES, TIMEOUT_CODES, TRANSIENT_CODES, _normalised_code
from .bedrock import default_client as bedrock_client
from .botocore_errors import ProviderErrors

__all__ = ["BLOCKED_MESSAGE", "BedrockGuardrail", "apply_guardrail_request", "summarize"]

log = logging.getLogger(__name__)

MAX_SOURCE_CHARS = 100_000
MAX_QUERY_CHARS = 1_000
BLOCKED_MESSAGE = "This answer was blocked by a guardrail."
"""Shown when the guardrail intervenes but returns no text (it always should)."""

_OUTPUT_SCOPES = ("INTERVENTIONS", "FULL")


def apply_guardrail_request(
    guardrail_id: str,
    guardrail_version: str,
    question: str,
    answer: str,
    context: AssembledContext,
    *,
    output_scope: str | None = None,
) -> dict[str, Any]:
    """The ApplyGuardrail parameters checking ``answer`` (source OUTPUT) with the contextual
    grounding qualifiers; a context without sources sends no ``grounding_source`` block."""
    content: list[dict[str, Any]] = []
    if context.text.strip():
        content.append(_text(context.text[:MAX_SOURCE_CHARS], "grounding_source"))
    if question.strip():
        content.append(_text(question[:MAX_QUERY_CHARS], "query"))
    content.append(_text(answer, "guard_content"))
    request: dict[str, Any] = {
        "guardrailIdentifier": guardrail_id,
        "guardrailVersion": guardrail_version,
        "source": "OUTPUT",
        "content": content,
    }
    if output_scope is not None:
        request["outputScope"] = output_scope
    return request


def _text(text: str, qualifier: str) -> dict[str, Any]:
    return {"text": {"text": text, "qualifiers": [qualifier]}}


# -- reading the response ------------------------------------------------------------------------

_FIRED = ("BLOCKED", "ANONYMIZED")


def _fired(entry: Mapping[str, Any]) -> bool:
    return entry.get("action") in _FIRED or bool(entry.get("detected"))


def _compact(entry: Mapping[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    return {k: entry[k] for k in keys if entry.get(k) is not None}


def summarize(assessments: Iterable[Mapping[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Compact per-policy findings of ApplyGuardrail's ``assessments``.

    Keys: ``topic``, ``content``, ``word``, ``sensitiveInformation``, ``contextualGrounding``,
    ``automatedReasoning``; only policies with something to say appear. Topic, content, word and
    sensitive-information entries appear when they acted or detected something; contextual
    grounding filters always (their score against the threshold is the point of the check).
    """
    out: dict[str, list[dict[str, Any]]] = {}

    def add(policy: str, entry: dict[str, Any]) -> None:
        out.setdefault(policy, []).append(entry)

    for assessment in assessments:
        for topic in (assessment.get("topicPolicy") or {}).get("topics") or []:
            if _fired(topic):
                add("topic", _compact(topic, ("name", "type", "action")))
        for item in (assessment.get("contentPolicy") or {}).get("filters") or []:
            if _fired(item):
                add("content", _compact(item, ("type", "confidence", "filterStrength", "action")))
        word = assessment.get("wordPolicy") or {}
        for item in word.get("customWords") or []:
            if _fired(item):
                add("word", _compact(item, ("match", "action")))
        for item in word.get("managedWordLists") or []:
            if _fired(item):
                add("word", _compact(item, ("match", "type", "action")))
        sensitive = assessment.get("sensitiveInformationPolicy") or {}
        for item in sensitive.get("piiEntities") or []:
            if _fired(item):
                add("sensitiveInformation", _compact(item, ("type", "action")))
        for item in sensitive.get("regexes") or []:
            if _fired(item):
                add("sensitiveInformation", _compact(item, ("name", "action")))
        grounding = assessment.get("contextualGroundingPolicy") or {}
        for item in grounding.get("filters") or []:
            entry = _compact(item, ("type", "action"))
            for key in ("score", "threshold"):
                if item.get(key) is not None:
                    entry[key] = round(float(item[key]), 4)
            add("contextualGrounding", entry)
        for finding in (assessment.get("automatedReasoningPolicy") or {}).get("findings") or []:
            add("automatedReasoning", {"finding": next(iter(finding), "unknown")})
    return out


def _policies(assessments: Iterable[Mapping[str, Any]]) -> list[str]:
    """Policies that blocked or masked something (what made the guardrail intervene)."""
    fired: list[str] = []
    for policy, entries in summarize(assessments).items():
        if any(e.get("action") in _FIRED for e in entries) and policy not in fired:
            fired.append(policy)
    return fired


def _usage(raw: Any) -> dict[str, int]:
    """The non-zero policy units of ``usage`` (what the call is billed for)."""
    if not isinstance(raw, Mapping):
        return {}
    return {str(k): int(v) for k, v in raw.items() if isinstance(v, int) and v}


def _guardrail_error(exc: ClientError, name: str) -> ProviderError:
    """A ClientError of ApplyGuardrail as a chorus error (see the module docstring).

    Unlike a model call, a ``ValidationException`` never means ``context_too_long`` here: the
    prompt is not the guardrail's to judge, and the caller cannot shorten anything.
    """
    error = exc.response.get("Error", {})
    code = _normalised_code(str(error.get("Code", "")))
    message = str(error.get("Message") or exc)
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if code in THROTTLING_CODES or status == 429:
        return Throttled(f"Bedrock is throttling {name}: {message}")
    if code in TIMEOUT_CODES:
        return ProviderTimeout(f"{name} did not answer in time: {message}")
    if code in TRANSIENT_CODES or (isinstance(status, int) and status >= 500):
        return ProviderError(f"{name} is unavailable ({code}): {message}")
    return ProviderError(
        f"Bedrock rejected the call to {name} ({code}): {message}", retryable=False
    )


class BedrockGuardrail:
    """A Bedrock guardrail as the chat's post-answer ``GuardrailCheck``.

    Parameters
    ----------
    guardrail_id:
        The guardrail's id or ARN.
    guardrail_version:
        A published version (``"1"``) or ``"DRAFT"`` (changes apply at once: not for production).
    client:
        A ``bedrock-runtime`` client (default: one in ``region`` with botocore's standard
        retries, which absorb brief throttling before the error reaches ``fail_open``).
    check_input:
        Also check the question (``source: INPUT``, the guardrail's input policies: denied
        topics, prompt attacks ...) before the answer. If the input check intervenes, its text
        replaces the answer and the output check is skipped. Costs a second call per turn.
    output_scope:
        ApplyGuardrail's ``outputScope``: ``"FULL"`` returns every assessment (also the ones
        that did not act, e.g. grounding scores above the threshold); ``None`` keeps the
        service's default (interventions only).
    fail_open:
        What a failing guardrail call means: ``False`` raises (the turn ends with its error
        code); ``True`` keeps the answer and reports ``{"error": code}`` in the verdict.

    Example
    -------
        guardrail = BedrockGuardrail("gr1abcd2efgh", "3", region="eu-west-1")
        chat = ChatService(..., guardrail=guardrail)
    """

    def __init__(
        self,
        guardrail_id: str,
        guardrail_version: str,
        *,
        client: Any = None,
        region: str | None = None,
        check_input: bool = False,
        output_scope: str | None = None,
        fail_open: bool = False,
    ) -> None:
        if not guardrail_id:
            raise ValueError("guardrail_id is required")
        if not str(guardrail_version):
            raise ValueError("guardrail_version is required (a number or DRAFT)")
        if output_scope is not None and output_scope not in _OUTPUT_SCOPES:
            raise ValueError(f"output_scope must be one of {_OUTPUT_SCOPES}, not {output_scope!r}")
        self.guardrail_id = guardrail_id
        self.guardrail_version = str(guardrail_version)
        self.check_input = check_input
        self.output_scope = output_scope
        self.fail_open = fail_open
        self.name = f"guardrail {guardrail_id}:{self.guardrail_version}"
        self._client = (
            client
            if client is not None
            else bedrock_client(region_name=region, read_timeout=30.0, total_max_attempts=3)
        )

    def apply(self, question: str, answer: str, context: AssembledContext) -> GuardrailVerdict:
        base = {"guardrailId": self.guardrail_id, "guardrailVersion": self.guardrail_version}
        usage: dict[str, int] = {}
        try:
            if self.check_input:
                response = self._call(
                    {
                        "guardrailIdentifier": self.guardrail_id,
                        "guardrailVersion": self.guardrail_version,
                        "source": "INPUT",
                        "content": [{"text": {"text": question}}],
                        **({"outputScope": self.output_scope} if self.output_scope else {}),
                    }
                )
                _add(usage, _usage(response.get("usage")))
                if response.get("action") == "GUARDRAIL_INTERVENED":
                    return self._verdict(response, {**base, "source": "INPUT"}, usage)
            request = apply_guardrail_request(
                self.guardrail_id,
                self.guardrail_version,
                question,
                answer,
                context,
                output_scope=self.output_scope,
            )
            response = self._call(request)
        except ProviderError as exc:
            if not self.fail_open:
                raise
            log.warning("%s failed (%s); answering without it (fail open)", self.name, exc.code)
            return GuardrailVerdict(
                False,
                None,
                {**base, "error": exc.code, "message": exc.message, "failOpen": True},
            )
        _add(usage, _usage(response.get("usage")))
        return self._verdict(response, {**base, "source": "OUTPUT"}, usage)

    def _call(self, request: dict[str, Any]) -> Mapping[str, Any]:
        with ProviderErrors(self.name, "Bedrock", _guardrail_error, malformed_is_error=True):
            response = self._client.apply_guardrail(**request)
            if response.get("action") not in ("NONE", "GUARDRAIL_INTERVENED"):
                raise ProviderError(
                    f"{self.name} answered with an unknown action {response.get('action')!r}"
                )
            return response

    def _verdict(
        self, response: Mapping[str, Any], base: dict[str, Any], usage: dict[str, int]
    ) -> GuardrailVerdict:
        assessments = list(response.get("assessments") or [])
        action = str(response["action"])
        details: dict[str, Any] = {**base, "action": action}
        if response.get("actionReason"):
            details["actionReason"] = str(response["actionReason"])
        details["policies"] = _policies(assessments)
        details["assessments"] = summarize(assessments)
        details["usage"] = usage
        if action != "GUARDRAIL_INTERVENED":
            return GuardrailVerdict(False, None, details)
        text = "".join(
            str(o["text"]) for o in response.get("outputs") or [] if o.get("text") is not None
        )
        return GuardrailVerdict(True, text or BLOCKED_MESSAGE, details)


def _add(total: dict[str, int], more: Mapping[str, int]) -> None:
    for key, value in more.items():
        total[key] = total.get(key, 0) + value
