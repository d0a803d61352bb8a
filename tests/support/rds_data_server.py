"""A local RDS Data API for tests: the REST operations boto3's ``rds-data`` client sends, run on
the embedded PostgreSQL.

A small Starlette app served by uvicorn in a background thread, speaking the wire protocol of
botocore's ``rds-data`` 2018-08-01 model (rest-json): ``POST /Execute``, ``/BatchExecute``,
``/BeginTransaction``, ``/CommitTransaction``, ``/RollbackTransaction``. Point a real client at
it with ``endpoint_url`` (``server.client()`` does).

Faithful where chorus depends on it:

* Parameters are bound server-side with declared types (``PREPARE ... (types) AS ...``):
  ``stringValue`` as ``varchar`` (so a vector sent without ``CAST(... AS vector)`` fails as on
  Aurora), typeHint ``JSON`` → ``jsonb``, ``UUID``, ``TIMESTAMP``, ``DATE``, ``TIME``,
  ``DECIMAL`` → ``numeric``; ``longValue`` → ``bigint``, ``doubleValue`` → ``double precision``,
  ``booleanValue`` → ``boolean``, ``blobValue`` → ``bytea``, ``isNull`` → inferred. Array
  parameters are refused, as by the service. A parameter the SQL names but the request lacks is
  an error. One statement per call: a second statement after ``;`` is refused.
* Records come back as typed fields per PostgreSQL type: integers ``longValue``, floats
  ``doubleValue``, ``bool`` ``booleanValue``, arrays ``arrayValue``, ``bytea`` ``blobValue``,
  SQL NULL ``isNull``, everything else (``text``, ``numeric``, ``json``/``jsonb``, timestamps in
  UTC without offset, ``uuid``, pgvector's ``vector``) ``stringValue`` in PostgreSQL's text
  form; ``columnMetadata`` (name, label, typeName, type) when ``includeResultMetadata``;
  ``numberOfRecordsUpdated`` for INSERT/UPDATE/DELETE, 0 for queries.
* Transactions: ``BeginTransaction`` opens a connection that later calls name by
  ``transactionId``; an unknown id is a ``BadRequestException`` ("Transaction ... is not
  found"), as the service answers. SQL errors are ``DatabaseErrorException`` with the SQLState.
* Limits: a request body above 4 MiB, a response above 1 MiB and a result row above 64 KB are
  refused (``BadRequestException``), as the Data API documents.
* ``resume_failures = N`` makes the next N calls answer ``DatabaseResumingException`` (or, with
  ``resume_style = "communications-link"``, the older ``BadRequestException`` "Communications
  link failure"), as an auto-paused Aurora Serverless v2 does while it wakes up.

Not emulated: SigV4 authentication and IAM (any credentials pass), the secret (``secretArn``
must only equal the server's; the user is the DSN's), ``schema`` (the service ignores it for
PostgreSQL too), ``formatRecordsAs: JSON``, ``resultSetOptions``, ``continueAfterTimeout`` and
statement timeouts, the 3-minute idle expiry of transactions, ``generatedFields``, the exact
wording of the service's error messages, and Aurora itself (this is community PostgreSQL).

Example
-------
    with RdsDataServer(fresh_dsn) as server:
        client = server.client()
        client.execute_statement(resourceArn=server.cluster_arn, secretArn=server.secret_arn,
                                 database=server.database, sql="SELECT 1")
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import secrets
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import boto3
import psycopg2
import psycopg2.extensions
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from support.threaded_server import ThreadedServer

CLUSTER_ARN = "arn:aws:rds:us-east-1:123456789012:cluster:chorus-test"
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!cluster-test-AbCdEf"
MAX_REQUEST_BYTES = 4 * 1024 * 1024
MAX_RESPONSE_BYTES = 1024 * 1024
MAX_ROW_BYTES = 64 * 1024

_HINT_TYPES = {
    "JSON": "jsonb",
    "UUID": "uuid",
    "TIMESTAMP": "timestamp",
    "DATE": "date",
    "TIME": "time",
    "DECIMAL": "numeric",
}
# Types whose text form the server sends as it is (psycopg2 would otherwise parse them).
_TEXT_OIDS = (114, 3802, 1700, 1114, 1184, 1082, 1083, 1266, 1186, 2950)
_RAW_TEXT = psycopg2.extensions.new_type(_TEXT_OIDS, "DATA_API_TEXT", lambda value, cur: value)
# java.sql.Types codes the service reports in columnMetadata.type.
_JDBC_TYPES = {
    "bool": -7,
    "int2": 5,
    "int4": 4,
    "int8": -5,
    "float4": 7,
    "float8": 8,
    "numeric": 2,
    "text": 12,
    "varchar": 12,
    "bpchar": 1,
    "date": 91,
    "time": 92,
    "timestamp": 93,
    "timestamptz": 93,
    "bytea": -2,
}


class DataApiFault(Exception):
    """An error answer: the service's exception name, HTTP status and message."""

    def __init__(self, error_type: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.status = status


@dataclass
class _Transaction:
    conn: Any
    lock: threading.Lock


class RdsDataServer:
    """The Data API for one database of the embedded PostgreSQL, on a free local port.

    Parameters
    ----------
    dsn:
        URI of the database the cluster serves (requests must name it as ``database``).
    cluster_arn, secret_arn:
        What requests must send as ``resourceArn`` / ``secretArn``.
    """

    def __init__(
        self, dsn: str, *, cluster_arn: str = CLUSTER_ARN, secret_arn: str = SECRET_ARN
    ) -> None:
        self.dsn = dsn
        self.database = urlparse(dsn).path.lstrip("/")
        self.cluster_arn = cluster_arn
        self.secret_arn = secret_arn
        self.max_response_bytes = MAX_RESPONSE_BYTES
        self.max_row_bytes = MAX_ROW_BYTES
        self.resume_failures = 0
        self.resume_style = "resuming"
        #: (operation, request body) of every call, in order.
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._transactions: dict[str, _Transaction] = {}
        self._idle: list[Any] = []
        self._lock = threading.Lock()
        self._type_names: dict[int, str] = {}
        self._statements = itertools.count(1)
        self._runner: ThreadedServer | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self) -> Any:
        """A real boto3 ``rds-data`` client bound to this server."""
        return boto3.client(
            "rds-data",
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def operations(self) -> list[str]:
        return [operation for operation, _ in self.calls]

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> RdsDataServer:
        self._runner = ThreadedServer(self._app(), name="test RDS Data API server")
        self.port = self._runner.start()
        return self

    def close(self) -> None:
        if self._runner is not None:
            self._runner.close()
        with self._lock:
            connections = [t.conn for t in self._transactions.values()] + self._idle
            self._transactions.clear()
            self._idle.clear()
        for conn in connections:
            conn.close()

    def __enter__(self) -> RdsDataServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- HTTP ---------------------------------------------------------------------------------

    def _app(self) -> Starlette:
        routes = {
            "/Execute": self._execute,
            "/BatchExecute": self._batch_execute,
            "/BeginTransaction": self._begin,
            "/CommitTransaction": self._commit,
            "/RollbackTransaction": self._rollback,
        }
        return Starlette(
            routes=[
                Route(path, self._endpoint(path.lstrip("/"), handler), methods=["POST"])
                for path, handler in routes.items()
            ]
        )

    def _endpoint(self, operation: str, handler: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            raw = await request.body()
            try:
                if len(raw) > MAX_REQUEST_BYTES:
                    raise DataApiFault(
                        "BadRequestException", f"Request size {len(raw)} exceeds 4 MiB"
                    )
                body = json.loads(raw or b"{}")
                self.calls.append((operation, body))
                self._check_resuming()
                self._check_target(body)
                answer = await run_in_threadpool(handler, body)
                encoded = json.dumps(answer, ensure_ascii=False).encode()
                if len(encoded) > self.max_response_bytes:
                    raise DataApiFault(
                        "BadRequestException",
                        "Database returned more than the allowed response size limit",
                    )
                return Response(encoded, media_type="application/json")
            except DataApiFault as fault:
                return JSONResponse(
                    {"message": fault.message},
                    status_code=fault.status,
                    headers={"x-amzn-ErrorType": fault.error_type},
                )

        return endpoint

    def _check_resuming(self) -> None:
        with self._lock:
            if self.resume_failures <= 0:
                return
            self.resume_failures -= 1
        if self.resume_style == "communications-link":
            raise DataApiFault(
                "BadRequestException",
                "Communications link failure\n\nThe last packet sent successfully to the server"
                " was 0 milliseconds ago. The driver has not received any packets from the server.",
            )
        raise DataApiFault(
            "DatabaseResumingException",
            "The Aurora DB instance chorus-test-1 is resuming after being auto-paused. "
            "Please wait a few seconds and try again.",
        )

    def _check_target(self, body: dict[str, Any]) -> None:
        if body.get("resourceArn") != self.cluster_arn:
            raise DataApiFault(
                "BadRequestException", f"Cluster {body.get('resourceArn')} is not found"
            )
        if body.get("secretArn") != self.secret_arn:
            raise DataApiFault("BadRequestException", "Invalid secret or secret ARN")
        database = body.get("database")
        if database not in (None, "", self.database):
            raise DataApiFault(
                "DatabaseErrorException",
                f'FATAL: database "{database}" does not exist; SQLState: 3D000',
            )

    # -- operations ---------------------------------------------------------------------------

    def _begin(self, body: dict[str, Any]) -> dict[str, Any]:
        conn = self._connect()
        conn.autocommit = False
        transaction_id = base64.b64encode(secrets.token_bytes(96)).decode()
        with self._lock:
            self._transactions[transaction_id] = _Transaction(conn, threading.Lock())
        return {"transactionId": transaction_id}

    def _commit(self, body: dict[str, Any]) -> dict[str, Any]:
        transaction = self._take_transaction(body.get("transactionId"))
        try:
            with transaction.lock:
                transaction.conn.commit()
        except psycopg2.Error as exc:
            raise _database_error(exc) from None
        finally:
            transaction.conn.close()
        return {"transactionStatus": "Transaction Committed"}

    def _rollback(self, body: dict[str, Any]) -> dict[str, Any]:
        transaction = self._take_transaction(body.get("transactionId"))
        with transaction.lock:
            transaction.conn.rollback()
            transaction.conn.close()
        return {"transactionStatus": "Rollback Complete"}

    def _execute(self, body: dict[str, Any]) -> dict[str, Any]:
        sql = _one_statement(body.get("sql") or "")
        parameters = body.get("parameters") or []
        with self._connection(body.get("transactionId")) as cur:
            self._run(cur, sql, parameters)
            answer: dict[str, Any] = {"numberOfRecordsUpdated": _updated(cur)}
            if cur.description is not None:
                answer["records"] = self._records(cur)
                if body.get("includeResultMetadata"):
                    answer["columnMetadata"] = self._metadata(cur)
            return answer

    def _batch_execute(self, body: dict[str, Any]) -> dict[str, Any]:
        sql = _one_statement(body.get("sql") or "")
        sets = body.get("parameterSets") or [[]]
        with self._connection(body.get("transactionId")) as cur:
            for parameters in sets:
                self._run(cur, sql, parameters)
        return {"updateResults": [{"generatedFields": []} for _ in sets]}

    # -- PostgreSQL ---------------------------------------------------------------------------

    def _connect(self) -> Any:
        conn = psycopg2.connect(self.dsn)
        psycopg2.extensions.register_type(_RAW_TEXT, conn)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SET TIME ZONE 'UTC'")
        return conn

    def _take_transaction(self, transaction_id: str | None) -> _Transaction:
        with self._lock:
            transaction = self._transactions.pop(transaction_id or "", None)
        if transaction is None:
            raise DataApiFault("BadRequestException", f"Transaction {transaction_id} is not found")
        return transaction

    def _connection(self, transaction_id: str | None) -> _Cursor:
        if transaction_id:
            with self._lock:
                transaction = self._transactions.get(transaction_id)
            if transaction is None:
                raise DataApiFault(
                    "BadRequestException", f"Transaction {transaction_id} is not found"
                )
            return _Cursor(self, transaction.conn, transaction.lock, pooled=False)
        with self._lock:
            conn = self._idle.pop() if self._idle else None
        return _Cursor(self, conn or self._connect(), None, pooled=True)

    def _release(self, conn: Any) -> None:
        with self._lock:
            self._idle.append(conn)

    def _run(self, cur: Any, sql: str, parameters: list[dict[str, Any]]) -> None:
        names: dict[str, int] = {}
        text = _positional(sql, names)
        supplied: dict[str, tuple[Any, str]] = {}
        for parameter in parameters:
            supplied[str(parameter.get("name", ""))] = _bind(parameter)
        missing = [name for name in names if name not in supplied]
        if missing:
            raise DataApiFault(
                "BadRequestException", f"No value specified for parameter: {missing[0]}"
            )
        try:
            if not names:
                cur.execute(text)
                return
            ordered = sorted(names, key=names.get)
            types = ", ".join(supplied[name][1] for name in ordered)
            statement = f"chorus_data_api_{next(self._statements)}"
            cur.execute(f"PREPARE {statement} ({types}) AS {text}")
            cur.execute(
                f"EXECUTE {statement} ({', '.join(['%s'] * len(ordered))})",
                [supplied[name][0] for name in ordered],
            )
            with cur.connection.cursor() as other:  # leaves ``cur``'s result in place
                other.execute(f"DEALLOCATE {statement}")
        except psycopg2.Error as exc:
            # In a transaction PostgreSQL now refuses everything until the rollback, as Aurora.
            raise _database_error(exc) from None

    def _type_name(self, cur: Any, oid: int) -> str:
        if oid not in self._type_names:
            with cur.connection.cursor() as lookup:
                lookup.execute("SELECT typname FROM pg_type WHERE oid = %s", (oid,))
                row = lookup.fetchone()
            self._type_names[oid] = row[0] if row else "unknown"
        return self._type_names[oid]

    def _metadata(self, cur: Any) -> list[dict[str, Any]]:
        columns = []
        for column in cur.description:
            type_name = self._type_name(cur, column.type_code)
            columns.append(
                {
                    "name": column.name,
                    "label": column.name,
                    "typeName": type_name,
                    "type": _JDBC_TYPES.get(type_name, 2003 if type_name.startswith("_") else 1111),
                    "nullable": 2,
                    "precision": 0,
                    "scale": 0,
                }
            )
        return columns

    def _records(self, cur: Any) -> list[list[dict[str, Any]]]:
        types = [self._type_name(cur, column.type_code) for column in cur.description]
        records = []
        for row in cur.fetchall():
            record = [_field(value, type_name) for value, type_name in zip(row, types, strict=True)]
            size = sum(len(json.dumps(field, ensure_ascii=False).encode()) for field in record)
            if size > self.max_row_bytes:
                raise DataApiFault(
                    "BadRequestException",
                    f"A result row of {size} bytes exceeds the 64 KB row size limit",
                )
            records.append(record)
        return records


class _Cursor:
    """A cursor on a pooled autocommit connection (returned afterwards) or on a transaction's
    connection (held under its lock)."""

    def __init__(self, server: RdsDataServer, conn: Any, lock: Any, *, pooled: bool) -> None:
        self.server, self.conn, self.lock, self.pooled = server, conn, lock, pooled

    def __enter__(self) -> Any:
        if self.lock is not None:
            self.lock.acquire()
        self.cur = self.conn.cursor()
        return self.cur

    def __exit__(self, *exc: object) -> None:
        try:
            self.cur.close()
            if self.pooled:
                self.server._release(self.conn)
        finally:
            if self.lock is not None:
                self.lock.release()


# -- SQL and values ------------------------------------------------------------------------------

_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_][A-Za-z0-9_]*)")


def _scan(sql: str) -> list[tuple[bool, str]]:
    """``sql`` cut into (is_code, text) pieces: quoted literals, identifiers and comments are
    not code."""
    pieces: list[tuple[bool, str]] = []
    i, start, n = 0, 0, len(sql)
    while i < n:
        c = sql[i]
        end = None
        if c in "'\"":
            j = i + 1
            while j < n:
                if sql[j] == c:
                    if j + 1 < n and sql[j + 1] == c:
                        j += 2
                        continue
                    break
                j += 1
            end = j + 1
        elif sql.startswith("--", i):
            j = sql.find("\n", i)
            end = n if j < 0 else j
        elif sql.startswith("/*", i):
            j = sql.find("*/", i + 2)
            end = n if j < 0 else j + 2
        if end is None:
            i += 1
            continue
        pieces.append((True, sql[start:i]))
        pieces.append((False, sql[i:end]))
        i = start = end
    pieces.append((True, sql[start:]))
    return pieces


def _one_statement(sql: str) -> str:
    code = "".join(text for is_code, text in _scan(sql) if is_code)
    parts = [p for p in code.split(";") if p.strip()]
    if len(parts) > 1:
        raise DataApiFault(
            "BadRequestException", "Multistatements aren't supported; send one SQL statement"
        )
    return sql.strip().rstrip(";")


def _positional(sql: str, names: dict[str, int]) -> str:
    """``:name`` parameters as ``$n`` (outside literals), recording each name's position."""

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        names.setdefault(name, len(names) + 1)
        return f"${names[name]}"

    return "".join(_NAMED.sub(number, text) if is_code else text for is_code, text in _scan(sql))


def _bind(parameter: dict[str, Any]) -> tuple[Any, str]:
    """A request parameter as (Python value for psycopg2, the PostgreSQL type it is bound as)."""
    value = parameter.get("value") or {}
    hint = parameter.get("typeHint")
    if len(value) != 1:
        raise DataApiFault("BadRequestException", f"Invalid value for parameter {parameter}")
    kind, raw = next(iter(value.items()))
    if kind == "isNull":
        return None, "unknown"
    if kind == "booleanValue":
        return bool(raw), "boolean"
    if kind == "longValue":
        return int(raw), "bigint"
    if kind == "doubleValue":
        return float(raw), "double precision"
    if kind == "blobValue":
        return psycopg2.Binary(base64.b64decode(raw)), "bytea"
    if kind == "stringValue":
        if hint is not None and hint not in _HINT_TYPES:
            raise DataApiFault("BadRequestException", f"Invalid typeHint {hint}")
        return str(raw), _HINT_TYPES.get(hint, "varchar")
    if kind == "arrayValue":
        raise DataApiFault("BadRequestException", "Array parameters are not supported")
    raise DataApiFault("BadRequestException", f"Unknown value type {kind}")


def _field(value: Any, type_name: str) -> dict[str, Any]:
    """One result value as the Data API's typed ``Field``."""
    if value is None:
        return {"isNull": True}
    if isinstance(value, bool):
        return {"booleanValue": value}
    if isinstance(value, int):
        return {"longValue": value}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, memoryview | bytes):
        return {"blobValue": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, list):
        return {"arrayValue": _array(value)}
    text = str(value)
    if type_name == "timestamptz":
        text = re.sub(r"[+-]\d\d(:\d\d)?$", "", text)  # the session is UTC; no offset is sent
    return {"stringValue": text}


def _array(values: list[Any]) -> dict[str, Any]:
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, list) for v in present):
        return {"arrayValues": [_array(v) for v in values]}
    if present and all(isinstance(v, bool) for v in present):
        return {"booleanValues": values}
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return {"longValues": values}
    if present and all(isinstance(v, float) for v in present):
        return {"doubleValues": values}
    return {"stringValues": [None if v is None else str(v) for v in values]}


def _updated(cur: Any) -> int:
    status = (cur.statusmessage or "").split(" ")[0]
    return max(cur.rowcount, 0) if status in ("INSERT", "UPDATE", "DELETE", "MERGE") else 0


def _database_error(exc: psycopg2.Error) -> DataApiFault:
    message = (exc.diag.message_primary or str(exc)).strip()
    return DataApiFault(
        "DatabaseErrorException", f"ERROR: {message}; SQLState: {exc.pgcode or 'XX000'}"
    )
