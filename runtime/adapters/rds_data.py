"""The pgvector SQL over the RDS Data API, for Lambdas outside the VPC (no NAT, nothing idle).

``DataApiDatabase`` offers what ``PostgresDatabase`` offers — ``transaction()`` yielding a
cursor, ``close()`` — so ``PgVectorStore``, ``PostgresSemanticCache`` and
``PostgresMetadataStore`` run unchanged on Aurora through ``rds-data:ExecuteStatement``.

What the cursor does with the psycopg2-style SQL the adapters write:

* ``%s`` placeholders become named ``:p1, :p2 ...`` parameters, ``%%`` becomes ``%`` (only when
  parameters are given, as in psycopg2); a placeholder inside a quoted literal, ``%(name)s`` and
  any other ``%`` directive are refused with ``ValueError``.
* Values are typed as the Data API wants: ``isNull``, ``booleanValue`` (before ``int``: a bool
  is an int in Python), ``longValue``, ``doubleValue``, ``stringValue``; ``Json`` with typeHint
  ``JSON``, ``Decimal``/``datetime``/``date``/``UUID`` with theirs. The Data API binds strings as
  ``varchar``, so numpy vectors travel as ``'[...]'`` text inside ``CAST(:pN AS vector)`` and
  lists (arrays are not accepted as parameters) as array literals in ``CAST(:pN AS text[])``.
* A text holding several statements is sent one statement per call (the Data API runs one).
* Results are read by the column's ``typeName``: ``vector`` → float32 numpy array, ``json``/
  ``jsonb`` → Python values, ``numeric`` → ``Decimal``, ``timestamptz`` → aware UTC
  ``datetime``; ``rowcount`` is ``numberOfRecordsUpdated`` (or the records returned).

A transaction is ``BeginTransaction`` → statements with its ``transactionId`` (the first one
``SET LOCAL search_path TO <schema>, public`` when a schema is given) → ``CommitTransaction``,
or ``RollbackTransaction`` on any exception. An auto-paused Aurora Serverless v2 answers
``DatabaseResumingException`` (older clusters: a ``BadRequestException`` about a
"Communications link failure") while it wakes up: every call is retried with exponential
backoff for ``resume_budget_s``. Other failures leave as ``DataApiError`` (a ``ChorusError``).

Limits respected: a request of at most 4 MiB (multi-row inserts are split to stay under it;
a single statement that cannot is refused before sending) and a response of at most 1 MiB
(callers read in bounded pages, e.g. ``PgVectorStore.chunk_embeddings``).

Example
-------
    client = boto3.client("rds-data")
    db = DataApiDatabase(client, cluster_arn=..., secret_arn=..., database="chorus",
                         schema="chorus")
    store = PgVectorStore(db, 384)
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
from botocore.exceptions import BotoCoreError, ClientError
from psycopg2.extras import Json
from tenacity import Retrying, retry_if_exception, stop_after_delay, wait_exponential

from ..core.errors import ChorusError

#: The Data API refuses requests above this size (headers and JSON notation included).
MAX_REQUEST_BYTES = 4 * 1024 * 1024
#: What a statement's SQL and parameters may take, leaving room for headers and the ARNs.
REQUEST_BUDGET_BYTES = MAX_REQUEST_BYTES - 64 * 1024
#: Rows per multi-row INSERT at most (as ``execute_values``' page size).
MAX_ROWS_PER_INSERT = 500

_PARAM_OVERHEAD = 80
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_RESUMING_MESSAGES = ("communications link failure", "is resuming", "resuming after being")


class DataApiError(ChorusError):
    """Aurora answered an RDS Data API call with an error, or could not be reached."""

    code = "database_error"
    http_status = 502


class DatabaseResuming(DataApiError):
    """The auto-paused cluster did not finish resuming within the retry budget."""

    code = "database_resuming"
    http_status = 503


class DataApiDatabase:
    """Transactions on an Aurora PostgreSQL cluster through the RDS Data API.

    Parameters
    ----------
    client:
        A boto3 ``rds-data`` client.
    cluster_arn:
        The Aurora cluster's ARN (the Data API must be enabled on it).
    secret_arn:
        The Secrets Manager secret with the database user's ``username`` and ``password``.
    database:
        The database name.
    schema:
        Put first on the ``search_path`` of every transaction (then ``public``, where the
        ``vector`` extension lives); a plain lower-case identifier.

    Attributes ``resume_budget_s`` (60), ``first_wait_s`` (0.5) and ``max_wait_s`` (10) bound
    the retries while the cluster resumes.
    """

    resume_budget_s: float = 60.0
    first_wait_s: float = 0.5
    max_wait_s: float = 10.0

    def __init__(
        self,
        client: Any,
        *,
        cluster_arn: str,
        secret_arn: str,
        database: str,
        schema: str | None = None,
    ) -> None:
        if schema is not None and not _IDENTIFIER.match(schema):
            raise ValueError(f"schema {schema!r} is not a plain lower-case PostgreSQL identifier")
        self.client = client
        self.cluster_arn = cluster_arn
        self.secret_arn = secret_arn
        self.database = database
        self.schema = schema

    @contextmanager
    def transaction(self) -> Iterator[DataApiCursor]:
        """Yield a cursor inside one transaction: committed on success, rolled back on error."""
        transaction_id = self.call("begin_transaction")["transactionId"]
        cursor = DataApiCursor(self, transaction_id)
        try:
            if self.schema:
                cursor.execute(f"SET LOCAL search_path TO {self.schema}, public")
            yield cursor
        except BaseException:
            # The original error says more; an unfinished transaction expires by itself.
            with suppress(DataApiError):
                self.call("rollback_transaction", transactionId=transaction_id)
            raise
        self.call("commit_transaction", transactionId=transaction_id)

    def close(self) -> None:
        """Nothing to release: the Data API holds no connection on this side."""

    def call(self, operation: str, **request: Any) -> dict[str, Any]:
        """One Data API operation on this cluster, retried while the cluster resumes."""
        request = {"resourceArn": self.cluster_arn, "secretArn": self.secret_arn, **request}
        if operation in ("begin_transaction", "execute_statement", "batch_execute_statement"):
            request["database"] = self.database
        method = getattr(self.client, operation)
        try:
            for attempt in Retrying(
                stop=stop_after_delay(max(self.resume_budget_s, 0.0)),
                wait=wait_exponential(
                    multiplier=self.first_wait_s, min=self.first_wait_s, max=self.max_wait_s
                ),
                retry=retry_if_exception(_is_resuming),
                reraise=True,
            ):
                with attempt:
                    return method(**request)
        except ClientError as exc:
            raise _error(exc, operation, request.get("sql")) from None
        except BotoCoreError as exc:
            raise DataApiError(f"could not reach the RDS Data API ({operation}): {exc}") from None
        raise AssertionError("unreachable")  # pragma: no cover


class DataApiCursor:
    """The slice of a psycopg2 cursor the chorus adapters use, over one Data API transaction."""

    def __init__(self, db: DataApiDatabase, transaction_id: str | None) -> None:
        self.db = db
        self.transaction_id = transaction_id
        self.rowcount = -1
        self.description: tuple[tuple[Any, ...], ...] | None = None
        self._rows: list[tuple[Any, ...]] = []

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        """Run ``sql`` (psycopg2 ``%s`` placeholders) with ``params``; results replace any
        previous ones."""
        encoded = None if params is None else [encode(value) for value in _as_sequence(params)]
        statements = compile_statements(sql, encoded)
        self._rows, self.description, self.rowcount = [], None, -1
        for text, parameters in statements:
            self._run(text, parameters)

    def insert_rows(self, sql: str, rows: Sequence[Sequence[Any]], template: str | None = None):
        """``psycopg2.extras.execute_values`` over the Data API: ``sql`` has one ``%s`` where
        the ``VALUES`` list goes; rows are sent as multi-row statements that each fit in a
        request. ``rowcount`` is the total."""
        if sql.count("%s") != 1:
            raise ValueError("insert_rows needs exactly one %s placeholder, for the VALUES list")
        total, page, page_bytes = 0, [], 0
        budget = REQUEST_BUDGET_BYTES - len(sql.encode())
        for row in rows:
            encoded = [encode(value) for value in row]
            # Each value also costs its name, its placeholder (maybe a CAST) and JSON notation.
            size = sum(p.size for p in encoded) + _PARAM_OVERHEAD * len(encoded)
            if size > budget:
                raise DataApiError(
                    f"one row of {size} bytes does not fit in a Data API request "
                    f"({MAX_REQUEST_BYTES} bytes at most)",
                    code="statement_too_large",
                )
            if page and (page_bytes + size > budget or len(page) >= MAX_ROWS_PER_INSERT):
                total += self._insert_page(sql, page, template)
                page, page_bytes = [], 0
            page.append(encoded)
            page_bytes += size
        if page:
            total += self._insert_page(sql, page, template)
        self._rows, self.description, self.rowcount = [], None, total

    def _insert_page(self, sql: str, page: list[list[_Param]], template: str | None) -> int:
        row_template = template or "(" + ", ".join(["%s"] * len(page[0])) + ")"
        before, after = sql.split("%s")
        text = before + ", ".join([row_template] * len(page)) + after
        statements = compile_statements(text, [p for row in page for p in row])
        updated = 0
        for statement, parameters in statements:
            self._run(statement, parameters)
            updated += max(self.rowcount, 0)
        return updated

    def _run(self, sql: str, parameters: list[dict[str, Any]]) -> None:
        request: dict[str, Any] = {"sql": sql, "includeResultMetadata": True}
        if parameters:
            request["parameters"] = parameters
        if self.transaction_id:
            request["transactionId"] = self.transaction_id
        size = len(json.dumps(request))
        if size > REQUEST_BUDGET_BYTES:
            raise DataApiError(
                f"a {size}-byte statement does not fit in a Data API request "
                f"({MAX_REQUEST_BYTES} bytes at most): {_head(sql)}",
                code="statement_too_large",
            )
        response = self.db.call("execute_statement", **request)
        columns = response.get("columnMetadata") or []
        types = [str(c.get("typeName") or "").lower() for c in columns]
        records = response.get("records")
        if records is not None:
            types += [""] * max(0, len(records[0]) - len(types)) if records else []
            self._rows = [
                tuple(decode(field, types[i]) for i, field in enumerate(r)) for r in records
            ]
            self.description = tuple(
                (c.get("name") or c.get("label"), c.get("typeName"), None, None, None, None, None)
                for c in columns
            )
        updated = int(response.get("numberOfRecordsUpdated") or 0)
        self.rowcount = updated if updated or records is None else len(records)

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._rows.pop(0) if self._rows else None

    def fetchall(self) -> list[tuple[Any, ...]]:
        rows, self._rows = self._rows, []
        return rows

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self.fetchall())


# -- parameters ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Param:
    """One bound value as the Data API takes it, and the SQL cast it needs (if any)."""

    value: dict[str, Any]
    type_hint: str | None = None
    cast: str | None = None

    @property
    def size(self) -> int:
        return len(json.dumps(self.value))  # as botocore sends it: ASCII, non-ASCII escaped


def encode(value: Any) -> _Param:
    """A Python value as a Data API ``Field`` (+ typeHint, + the cast SQL must apply)."""
    if value is None:
        return _Param({"isNull": True})
    if isinstance(value, bool | np.bool_):
        return _Param({"booleanValue": bool(value)})
    if isinstance(value, int | np.integer):
        number = int(value)
        if -(2**63) <= number < 2**63:
            return _Param({"longValue": number})
        return _Param({"stringValue": str(number)}, "DECIMAL")
    if isinstance(value, float | np.floating):
        number = float(value)
        if math.isfinite(number):
            return _Param({"doubleValue": number})
        text = "NaN" if math.isnan(number) else ("Infinity" if number > 0 else "-Infinity")
        return _Param({"stringValue": text}, cast="double precision")
    if isinstance(value, str):
        return _Param({"stringValue": value})
    if isinstance(value, Json):
        return _Param({"stringValue": value.dumps(value.adapted)}, "JSON")
    if isinstance(value, Decimal):
        return _Param({"stringValue": str(value)}, "DECIMAL")
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return _Param({"stringValue": value.strftime("%Y-%m-%d %H:%M:%S.%f")}, "TIMESTAMP")
    if isinstance(value, dt.date):
        return _Param({"stringValue": value.isoformat()}, "DATE")
    if isinstance(value, dt.time):
        return _Param({"stringValue": value.isoformat()}, "TIME")
    if isinstance(value, uuid.UUID):
        return _Param({"stringValue": str(value)}, "UUID")
    if isinstance(value, bytes | bytearray | memoryview):
        return _Param({"blobValue": bytes(value)})
    if hasattr(value, "to_numpy"):  # pgvector's Vector
        value = value.to_numpy()
    if isinstance(value, np.ndarray):
        if value.ndim != 1:
            raise TypeError(f"only 1-D arrays bind as a vector, not shape {value.shape}")
        return _Param({"stringValue": vector_literal(value)}, cast="vector")
    if isinstance(value, list):
        literal, cast = _array_literal(value)
        return _Param({"stringValue": literal}, cast=cast)
    raise TypeError(
        f"cannot send a {type(value).__name__} through the Data API; "
        "wrap dicts in psycopg2.extras.Json and pass arrays as lists"
    )


def vector_literal(vector: np.ndarray) -> str:
    """pgvector's text form, ``[0.1,0.2,...]``, with every float32 exactly representable."""
    return "[" + ",".join(f"{x:.9g}" for x in np.asarray(vector, dtype=np.float32).tolist()) + "]"


def _array_literal(values: list[Any]) -> tuple[str, str]:
    """A PostgreSQL array literal for a flat list, and the array type to cast it to."""
    present = [v for v in values if v is not None]
    if all(isinstance(v, bool) for v in present) and present:
        element, cast = (lambda v: "true" if v else "false"), "boolean[]"
    elif all(isinstance(v, int) and not isinstance(v, bool) for v in present) and present:
        element, cast = str, "bigint[]"
    elif all(isinstance(v, int | float) and not isinstance(v, bool) for v in present) and present:
        element, cast = repr, "double precision[]"
    elif all(isinstance(v, str) for v in present):
        element, cast = _quoted_element, "text[]"
    else:
        raise TypeError("lists bind as arrays of one scalar type (str, int, float or bool)")
    items = ("NULL" if v is None else element(v) for v in values)
    return "{" + ",".join(items) + "}", cast


def _quoted_element(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _as_sequence(params: Any) -> Sequence[Any]:
    if isinstance(params, dict):
        raise ValueError("named %(name)s parameters are not supported; pass a sequence")
    return list(params)


# -- SQL ----------------------------------------------------------------------------------------


def compile_statements(
    sql: str, params: Sequence[_Param] | None
) -> list[tuple[str, list[dict[str, Any]]]]:
    """Psycopg2-style SQL as Data API statements: ``(sql, parameters)``, one per statement.

    With ``params`` None the text is taken as it is (no ``%`` processing, as in psycopg2);
    otherwise each ``%s`` becomes ``:pN`` (wrapped in the value's cast) and ``%%`` becomes ``%``.
    """
    statements: list[tuple[str, list[dict[str, Any]]]] = []
    out: list[str] = []
    bound: list[dict[str, Any]] = []
    used = 0
    i, n = 0, len(sql)

    def finish() -> None:
        text = "".join(out).strip()
        if text:
            statements.append((text, list(bound)))
        out.clear()
        bound.clear()

    while i < n:
        c = sql[i]
        if c == "'" or c == '"':
            end = _end_of_quoted(sql, i)
            quoted = sql[i:end]
            if params is not None:
                if "%s" in quoted.replace("%%", ""):
                    raise ValueError(
                        f"a %s placeholder inside a quoted literal is not supported: {_head(sql)}"
                    )
                quoted = quoted.replace("%%", "%")
            out.append(quoted)
            i = end
        elif c == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            end = n if end < 0 else end
            out.append(sql[i:end])
            i = end
        elif c == "/" and sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append(sql[i:end])
            i = end
        elif c == "$" and (match := re.match(r"\$([A-Za-z_]\w*)?\$", sql[i:])):
            tag = match.group(0)
            end = sql.find(tag, i + len(tag))
            end = n if end < 0 else end + len(tag)
            out.append(sql[i:end])
            i = end
        elif c == "%" and params is not None:
            directive = sql[i + 1 : i + 2]
            if directive == "%":
                out.append("%")
            elif directive == "s":
                if used >= len(params):
                    raise ValueError(f"more %s placeholders than parameters: {_head(sql)}")
                param = params[used]
                used += 1
                name = f"p{used}"
                out.append(f"CAST(:{name} AS {param.cast})" if param.cast else f":{name}")
                entry: dict[str, Any] = {"name": name, "value": param.value}
                if param.type_hint:
                    entry["typeHint"] = param.type_hint
                bound.append(entry)
            elif directive == "(":
                raise ValueError("named %(name)s placeholders are not supported; use %s")
            else:
                raise ValueError(f"unsupported format character {directive!r}; write %% for %")
            i += 2
        elif c == ";":
            finish()
            i += 1
        else:
            out.append(c)
            i += 1
    finish()
    if params is not None and used != len(params):
        raise ValueError(f"{len(params)} parameters for {used} %s placeholders: {_head(sql)}")
    return statements


def _end_of_quoted(sql: str, start: int) -> int:
    """Index just past the literal or quoted identifier opening at ``start``."""
    quote = sql[start]
    escapes = quote == "'" and start > 0 and sql[start - 1] in "eE"
    i = start + 1
    while i < len(sql):
        if escapes and sql[i] == "\\":
            i += 2
            continue
        if sql[i] == quote:
            if sql.startswith(quote * 2, i):
                i += 2
                continue
            return i + 1
        i += 1
    raise ValueError(f"unterminated quoted text in SQL: {_head(sql)}")


def _head(sql: str) -> str:
    text = " ".join(sql.split())
    return text if len(text) <= 120 else text[:117] + "..."


# -- results ------------------------------------------------------------------------------------


def decode(field: dict[str, Any], type_name: str = "") -> Any:
    """A Data API result ``Field`` as the Python value psycopg2 would have returned."""
    if field.get("isNull"):
        return None
    if "arrayValue" in field:
        return _decode_array(field["arrayValue"])
    for key in ("booleanValue", "longValue", "doubleValue"):
        if key in field:
            return field[key]
    if "blobValue" in field:
        return bytes(field["blobValue"])
    text = field.get("stringValue")
    if text is None:
        return None
    base = type_name.strip('"').lower()
    if base == "vector":
        return np.asarray(json.loads(text), dtype=np.float32)
    if base in ("json", "jsonb"):
        return json.loads(text)
    if base in ("numeric", "decimal"):
        return Decimal(text)
    if base in ("timestamptz", "timestamp with time zone"):
        return _timestamp(text).replace(tzinfo=dt.UTC)
    if base in ("timestamp", "timestamp without time zone"):
        return _timestamp(text)
    if base == "date":
        return dt.date.fromisoformat(text)
    return text


def _decode_array(array: dict[str, Any]) -> list[Any]:
    if "arrayValues" in array:
        return [_decode_array(inner) for inner in array["arrayValues"]]
    for key in ("booleanValues", "longValues", "doubleValues", "stringValues"):
        if key in array:
            return list(array[key])
    return []


def _timestamp(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text.replace(" ", "T", 1))
    return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value


# -- errors -------------------------------------------------------------------------------------


def _is_resuming(exc: BaseException) -> bool:
    if not isinstance(exc, ClientError):
        return False
    error = exc.response.get("Error", {})
    code, message = error.get("Code", ""), str(error.get("Message", "")).lower()
    if code == "DatabaseResumingException":
        return True
    return code == "BadRequestException" and any(m in message for m in _RESUMING_MESSAGES)


def _error(exc: ClientError, operation: str, sql: str | None) -> DataApiError:
    error = exc.response.get("Error", {})
    code, message = error.get("Code", "Unknown"), error.get("Message", "")
    where = f" running {_head(sql)}" if sql else ""
    if _is_resuming(exc):
        return DatabaseResuming(
            f"Aurora is still resuming from auto-pause ({code}: {message}); the request was not "
            "run — retry in a few seconds"
        )
    if code in ("AccessDeniedException", "ForbiddenException", "SecretsErrorException"):
        hint = "; check the function's rds-data and secretsmanager:GetSecretValue permissions"
    elif code == "HttpEndpointNotEnabledException":
        hint = "; enable the Data API on the cluster (enable_http_endpoint)"
    else:
        hint = ""
    return DataApiError(f"RDS Data API {operation} failed{where}: {code}: {message}{hint}")
