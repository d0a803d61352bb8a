"""Turn an uploaded file into plain text an ingest worker can chunk.

One entry point, :func:`parse_document`, decides the format from the file's extension, checks that
the bytes really are that format, and extracts readable text with the library made for it. Every
failure — unknown type, binary bytes, empty, oversize, corrupt, encrypted — becomes an
:class:`~.errors.UnsupportedDocument` with a reason, so a batch skips the file and carries on; no
parser library's exception escapes.

:func:`safe_document_name` guards upload names: a name becomes an S3 key, a file name and a
document id, so traversal and control characters are refused up front.

Example::

    parsed = parse_document("guide.md", path.read_bytes())
    parsed.title, parsed.content_type, parsed.metadata
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from .bounded_json import check_depth
from .errors import BadRequest, UnsupportedDocument

__all__ = [
    "DEFAULT_MAX_BYTES",
    "SUPPORTED_EXTENSIONS",
    "ParsedDocument",
    "parse_document",
    "safe_document_name",
]

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
MAX_DOCUMENT_JSON_DEPTH = 200
"""Deeper ``.json``/``.jsonl`` documents are refused (unsupported) before they are parsed."""
"""Largest upload parsed by default (20 MiB): bigger files are skipped, not truncated."""

MAX_NAME_BYTES = 255
"""Longest document name in UTF-8 bytes: the usual file-system limit for one path component."""


@dataclass(frozen=True)
class ParsedDocument:
    """The text of one document, ready to chunk.

    Parameters
    ----------
    text:
        Extracted text with normalised whitespace; paragraphs are separated by a blank line so the
        recursive splitter cuts on them first.
    content_type:
        MIME type of the format the file was parsed as.
    title:
        The document's own title (``<title>``, first heading, PDF/DOCX properties), or ``None``
        when it has none — callers then fall back to the file name.
    metadata:
        JSON-serialisable facts about the source (``pages`` of a PDF, ``columns`` and ``rows`` of a
        CSV, ``encoding`` of a text file ...), safe to store in a jsonb column.
    """

    text: str
    content_type: str
    title: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# entry point


def parse_document(
    filename: str, data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES
) -> ParsedDocument:
    """Extract the text of ``data``, a file called ``filename``.

    Parameters
    ----------
    filename:
        The file's name or path; only its extension (case-insensitive) picks the parser.
    data:
        The whole file.
    max_bytes:
        Files larger than this are refused rather than parsed half-way.

    Returns
    -------
    ParsedDocument

    Raises
    ------
    UnsupportedDocument
        Unknown extension, oversize, empty, binary where text was expected, content that does not
        match the extension, corrupt or encrypted files, or nothing readable after extraction.
        The message names the file and says why.
    """
    name = PurePosixPath(filename.replace("\\", "/")).name or filename
    extension = PurePosixPath(name).suffix.lower()
    fmt = _FORMATS.get(extension)
    if fmt is None:
        supported = ", ".join(sorted(SUPPORTED_EXTENSIONS))
        shown = f"extension {extension!r}" if extension else "no extension"
        raise _unsupported(name, f"unsupported file type ({shown}); supported: {supported}")
    if len(data) > max_bytes:
        raise _unsupported(
            name, f"file too large ({len(data):,} bytes; the limit is {max_bytes:,} bytes)"
        )
    if not data.strip():
        raise _unsupported(name, "empty file")
    content_type, parse = fmt
    try:
        text, title, metadata = parse(data, max_bytes)
    except UnsupportedDocument as exc:
        raise _unsupported(name, exc.message) from exc
    except ImportError:  # a broken deployment, not a bad document: skipping would hide it
        raise
    except Exception as exc:  # a parser library failed on a corrupt file: never let it escape
        reason = f"could not read the file as {content_type} ({type(exc).__name__}: {exc})"
        raise _unsupported(name, reason) from exc
    if not text.strip():
        raise _unsupported(name, "no text could be extracted (the document is empty)")
    return ParsedDocument(text=text, content_type=content_type, title=title, metadata=metadata)


def _unsupported(name: str, reason: str) -> UnsupportedDocument:
    return UnsupportedDocument(f"{name}: {reason}")


# --------------------------------------------------------------------------------------------
# upload names

_DRIVE_PREFIX = re.compile(r"^[A-Za-z]:")
_BIDI_CONTROLS = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def document_id_for(name: str) -> str:
    """A stable document id derived from the document's name within its workspace."""
    return hashlib.sha256(name.encode("utf-8")).hexdigest()[:24]


def safe_document_name(name: str) -> str:
    """Return ``name`` as a clean base name, or refuse it.

    Refuses rather than rewrites: an upload called ``../../etc/passwd`` is a broken or hostile
    client, and silently storing it as ``passwd`` would hide that. The result is NFC-normalised,
    so the same name typed on macOS and Linux maps to the same document.

    Raises
    ------
    BadRequest
        (code ``bad_request``) for empty names, path separators, ``.``/``..``, drive prefixes,
        NUL/control/bidi-override characters, or more than 255 UTF-8 bytes.
    """
    if not isinstance(name, str):
        raise BadRequest("Document name must be a string.")
    cleaned = unicodedata.normalize("NFC", name).strip()
    if not cleaned:
        raise BadRequest("Document name is empty; send the file's base name, e.g. 'report.pdf'.")
    if any(unicodedata.category(ch) == "Cc" or ch in _BIDI_CONTROLS for ch in cleaned):
        raise BadRequest("Document name contains control characters; rename the file.")
    if "/" in cleaned or "\\" in cleaned or _DRIVE_PREFIX.match(cleaned):
        raise BadRequest(
            "Document name must be a base name without directories or drive letters "
            "(no '/', '\\' or 'C:'), e.g. 'report.pdf'."
        )
    if cleaned in {".", ".."}:
        raise BadRequest("Document name cannot be '.' or '..'.")
    if len(cleaned.encode("utf-8")) > MAX_NAME_BYTES:
        raise BadRequest(f"Document name is longer than {MAX_NAME_BYTES} bytes; shorten it.")
    return cleaned


# --------------------------------------------------------------------------------------------
# text decoding and whitespace

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")
_BINARY_SAMPLE_CHARS = 65_536
_BINARY_CONTROL_RATIO = 0.05


def _decode_text(data: bytes) -> tuple[str, str]:
    """Decode a text file, returning ``(text, encoding)``.

    UTF-8 (with or without BOM) and BOM-marked UTF-16/32 first; otherwise a detected legacy
    encoding. Bytes that are not text (NULs, or many control characters) are refused, because
    indexing them would fill the store with noise.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError as exc:
                raise UnsupportedDocument(
                    f"binary content (starts with a {encoding} byte-order mark but does not decode)"
                ) from exc
            _reject_control_heavy(text)
            return text, "utf-8" if encoding == "utf-8-sig" else encoding
    if b"\x00" in data:
        raise UnsupportedDocument("binary content (NUL bytes); this is not a text file")
    try:
        text, encoding = data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        text, encoding = _decode_legacy(data)
    _reject_control_heavy(text)
    return text, encoding


def _decode_legacy(data: bytes) -> tuple[str, str]:
    """Decode non-UTF-8 text with the encoding charset-normalizer finds.

    charset-normalizer cannot tell Western code pages apart on short texts (it picks cp1250 for
    French), so among its equally good guesses cp1252 wins: it is by far the most common legacy
    encoding of documents. Without charset-normalizer, cp1252 then latin-1 (which never fails).
    """
    try:
        import charset_normalizer
    except ImportError:  # pragma: no cover - installed alongside requests in practice
        return _decode_western(data)
    matches = charset_normalizer.from_bytes(data)
    best = matches.best()
    if best is None:
        raise UnsupportedDocument("binary content (no text encoding fits these bytes)")
    for match in matches:
        as_good = match.chaos <= best.chaos and match.coherence >= best.coherence
        if as_good and (
            match.encoding in {"cp1252", "latin_1"} or "cp1252" in match.could_be_from_charset
        ):
            return _decode_western(data)
    return str(best), best.encoding


def _decode_western(data: bytes) -> tuple[str, str]:
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def _reject_control_heavy(text: str) -> None:
    sample = text[:_BINARY_SAMPLE_CHARS]
    if sample and len(_CONTROL_CHARS.findall(sample)) / len(sample) > _BINARY_CONTROL_RATIO:
        raise UnsupportedDocument("binary content (too many control characters for text)")


_LINE_BREAKS = str.maketrans({"\r": "\n", "\x0b": "\n", "\x0c": "\n\n", "\u2028": "\n"})
_INLINE_SPACE = re.compile(r"[^\S\n]+")
_LEADING_SPACE = re.compile(r"^[^\S\n]*")
_MANY_BLANK_LINES = re.compile(r"\n{3,}")


def _normalise(text: str, *, keep_indent: bool = False) -> str:
    """Collapse runs of spaces, keep paragraph breaks (one blank line), strip control characters.

    ``keep_indent`` keeps each line's leading spaces, which carry meaning in Markdown (code
    blocks, nested lists) and plain text.
    """
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n").replace("\u2029", "\n\n").translate(_LINE_BREAKS)
    text = _CONTROL_CHARS.sub("", text)
    lines = []
    for line in text.split("\n"):
        indent = _LEADING_SPACE.match(line).group() if keep_indent else ""  # type: ignore[union-attr]
        body = _INLINE_SPACE.sub(" ", line[len(indent) :]).strip()
        lines.append(indent + body if body else "")
    return _MANY_BLANK_LINES.sub("\n\n", "\n".join(lines)).strip("\n")


# --------------------------------------------------------------------------------------------
# formats. Each parser takes (data, max_bytes) and returns (text, title, metadata).

_Parsed = tuple[str, str | None, dict[str, Any]]


def _parse_text(data: bytes, max_bytes: int) -> _Parsed:
    text, encoding = _decode_text(data)
    return _normalise(text, keep_indent=True), None, {"encoding": encoding}


_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
_FRONT_MATTER_TITLE = re.compile(r"^title:[ \t]*(.+?)[ \t]*$", re.MULTILINE)
_ATX_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$")
_SETEXT_UNDERLINE = re.compile(r"^ {0,3}(?:=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")


def _parse_markdown(data: bytes, max_bytes: int) -> _Parsed:
    """Keep the Markdown as written (headings and lists help both chunking and the LLM)."""
    raw, encoding = _decode_text(data)
    text = _normalise(raw, keep_indent=True)
    return text, _markdown_title(text), {"encoding": encoding}


def _markdown_title(text: str) -> str | None:
    """Title from YAML front matter, else the first ATX or setext heading outside code fences."""
    body = text
    front = _FRONT_MATTER.match(text)
    if front:
        found = _FRONT_MATTER_TITLE.search(front.group(1))
        if found:
            return found.group(1).strip("'\"") or None
        body = text[front.end() :]
    in_fence = False
    lines = body.split("\n")
    for i, line in enumerate(lines):
        if _FENCE.match(line):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        heading = _ATX_HEADING.match(line)
        if heading:
            return heading.group(1).strip()
        next_line = lines[i + 1] if i + 1 < len(lines) else ""
        if line.strip() and _SETEXT_UNDERLINE.match(next_line):
            return line.strip()
    return None


_HTML_DROP = (
    "script",
    "style",
    "nav",
    "noscript",
    "template",
    "svg",
    "iframe",
    "object",
    "canvas",
    "head",
)
_HTML_BLOCKS = (
    "address",
    "article",
    "aside",
    "blockquote",
    "body",
    "caption",
    "dd",
    "details",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "main",
    "ol",
    "p",
    "pre",
    "section",
    "summary",
    "table",
    "ul",
)
_HTML_LINES = ("br", "li", "tr")
_HTML_CELLS = ("td", "th")
# Private-use characters mark structural breaks; the page's own copies are removed first.
_PARAGRAPH_MARK = "\ue000"
_LINE_MARK = "\ue001"
_MARKS = f"{_PARAGRAPH_MARK}{_LINE_MARK}"
_MARK_RUN = re.compile(rf"[^\S\n]*[{_MARKS}][\s{_MARKS}]*")


def _parse_html(data: bytes, max_bytes: int) -> _Parsed:
    """Readable text of a page: scripts, styles and navigation dropped, blocks as paragraphs.

    HTML whitespace is insignificant, so source line breaks are collapsed and breaks come from
    the structure instead (blocks → blank line; ``<br>``, list items, table rows → newline).
    Works without recursion, so deeply nested pages cannot overflow the stack.
    """
    from bs4 import BeautifulSoup
    from bs4.element import NavigableString, PreformattedString

    raw, encoding = _decode_text(data)
    soup = BeautifulSoup(raw, "html.parser")
    title = None
    if soup.title is not None and soup.title.get_text(strip=True):
        title = " ".join(soup.title.get_text().split())
    for tag in soup.find_all(_HTML_DROP):
        tag.decompose()
    for special in soup.find_all(string=lambda s: isinstance(s, PreformattedString)):
        special.extract()  # comments, doctype, CDATA, processing instructions: not page text
    for string in soup.find_all(string=True):
        if type(string) is not NavigableString:
            continue
        value = str(string).translate({ord(mark): None for mark in _MARKS})
        if string.find_parent(["pre", "textarea"]) is None:
            value = re.sub(r"\s+", " ", value)
        string.replace_with(value)
    for tag in soup.find_all(_HTML_CELLS):
        tag.insert_before(" ")
        tag.insert_after(" ")
    for tag in soup.find_all(_HTML_LINES):
        tag.insert_before(_LINE_MARK)
        tag.insert_after(_LINE_MARK)
    for tag in soup.find_all(_HTML_BLOCKS):
        tag.insert_before(_PARAGRAPH_MARK)
        tag.insert_after(_PARAGRAPH_MARK)
    text = _MARK_RUN.sub(
        lambda m: "\n\n" if _PARAGRAPH_MARK in m.group() else "\n", soup.get_text()
    )
    if title is None and (h1 := soup.find("h1")) is not None:
        title = h1.get_text(" ", strip=True) or None
    return _normalise(text), title, {"encoding": encoding}


_PDF_MAGIC = b"%PDF-"
_PDF_EOF = b"%%EOF"


def _parse_pdf(data: bytes, max_bytes: int) -> _Parsed:
    """Page texts joined by blank lines.

    A file without ``%%EOF`` near its end is refused as truncated: pypdf would recover a few
    pages, and indexing half an upload silently is worse than asking for it again.
    """
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError

    if _PDF_MAGIC not in data[:1024]:
        raise UnsupportedDocument("not a PDF (the file does not start with %PDF-)")
    if _PDF_EOF not in data[-1024:]:
        raise UnsupportedDocument("truncated or corrupt PDF (no %%EOF marker at the end)")
    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        try:  # many PDFs are encrypted only against editing, with an empty user password
            decrypted = reader.decrypt("")
        except (DependencyError, FileNotDecryptedError, NotImplementedError) as exc:
            raise UnsupportedDocument(f"encrypted PDF that cannot be opened ({exc})") from exc
        if not decrypted:
            raise UnsupportedDocument(
                "encrypted PDF that needs a password; remove the password and upload it again"
            )
    pages: list[str] = []
    unreadable: list[int] = []
    for number, page in enumerate(reader.pages, start=1):
        try:
            pages.append(_normalise(page.extract_text() or ""))
        except Exception:  # one damaged page should not cost the rest of the document
            unreadable.append(number)
    text = "\n\n".join(page for page in pages if page)
    if not text.strip():
        raise UnsupportedDocument(
            "the PDF has no extractable text (a scanned document needs OCR first)"
        )
    metadata: dict[str, Any] = {"pages": len(reader.pages)}
    if unreadable:
        metadata["unreadable_pages"] = unreadable
    return text, _pdf_title(reader), metadata


def _pdf_title(reader: Any) -> str | None:
    try:
        title = reader.metadata.title if reader.metadata is not None else None
    except Exception:  # malformed info dictionaries are common; a title is optional
        return None
    if not isinstance(title, str):
        return None
    return title.strip() or None


_DOCX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_DOCX_BODY = "word/document.xml"


def _parse_docx(data: bytes, max_bytes: int) -> _Parsed:
    """Paragraphs and table rows in document order; a table row becomes ``cell | cell``."""
    import docx
    from docx.table import Table

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise UnsupportedDocument("not a DOCX file (it is not a zip archive)") from exc
    with archive:
        try:
            body = archive.getinfo(_DOCX_BODY)
        except KeyError as exc:
            raise UnsupportedDocument(
                f"not a DOCX file (the zip archive has no {_DOCX_BODY})"
            ) from exc
    if body.file_size > 10 * max_bytes:  # a zip bomb would exhaust memory in the XML parser
        raise UnsupportedDocument(
            f"DOCX body decompresses to {body.file_size:,} bytes, over 10x the size limit"
        )
    document = docx.Document(io.BytesIO(data))
    blocks: list[str] = []
    paragraphs = tables = 0
    title = document.core_properties.title.strip() or None
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            tables += 1
            blocks.append("\n".join(_docx_table_rows(item)))
        else:
            paragraphs += 1
            blocks.append(item.text)
            style = item.style.name if item.style is not None else ""
            if title is None and style in {"Title", "Heading 1"} and item.text.strip():
                title = item.text.strip()
    text = "\n\n".join(_normalise(block) for block in blocks if block.strip())
    return text, title, {"paragraphs": paragraphs, "tables": tables}


def _docx_table_rows(table: Any) -> Iterator[str]:
    """Yield each non-empty row as one ``cell | cell`` line.

    python-docx repeats a merged cell once per grid column, so a cell that is the same XML
    element as its left neighbour is skipped.
    """
    for row in table.rows:
        cells: list[str] = []
        previous = None
        for cell in row.cells:
            if cell._tc is previous:
                continue
            previous = cell._tc
            value = _INLINE_SPACE.sub(" ", cell.text.replace("\n", " ")).strip()
            if value:
                cells.append(value)
        if cells:
            yield " | ".join(cells)


_CSV_DELIMITERS = ",;\t|"


def _parse_csv(data: bytes, max_bytes: int) -> _Parsed:
    """Each data row becomes one line ``column: value; column: value``.

    Repeating the header on every row makes each chunk self-describing: a chunk cut from the
    middle of the file still says what its numbers are. Empty values are left out.
    """
    raw, encoding = _decode_text(data)
    sample = raw[:65_536]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, _CSV_DELIMITERS)
    except csv.Error:  # a single column, or too irregular to sniff: fall back to commas
        dialect = csv.excel
    reader = csv.reader(io.StringIO(raw, newline=""), dialect)
    try:
        header = next(reader)
    except StopIteration as exc:
        raise UnsupportedDocument("empty CSV file") from exc
    columns = [_one_line(name) or f"column {i}" for i, name in enumerate(header, start=1)]
    lines: list[str] = []
    for row in reader:
        pairs = []
        for i, value in enumerate(row):
            column = columns[i] if i < len(columns) else f"column {i + 1}"
            value = _one_line(value)
            if value:
                pairs.append(f"{column}: {value}")
        if pairs:
            lines.append("; ".join(pairs))
    if not lines:
        raise UnsupportedDocument("CSV file has a header but no data rows")
    metadata = {
        "columns": columns,
        "rows": len(lines),
        "delimiter": dialect.delimiter,
        "encoding": encoding,
    }
    return "\n".join(lines), None, metadata


def _one_line(value: str) -> str:
    return _INLINE_SPACE.sub(" ", value.replace("\n", " ")).strip()


def _parse_json(data: bytes, max_bytes: int) -> _Parsed:
    """Flattened ``path: value`` lines (``user.roles[0]: admin``).

    Paths keep each fact self-describing once chunked. Top-level array items (records) become
    paragraphs of their own, with paths relative to the item.
    """
    raw, encoding = _decode_text(data)
    _check_json_depth(raw)
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise UnsupportedDocument(
            f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from exc
    metadata: dict[str, Any] = {"encoding": encoding}
    if value in ({}, [], None):
        raise UnsupportedDocument("the JSON document is empty")
    if isinstance(value, list):
        metadata["records"] = len(value)
        text = "\n\n".join(_flatten_json(item) for item in value)
    else:
        text = _flatten_json(value)
    return _normalise(text), None, metadata


def _parse_jsonl(data: bytes, max_bytes: int) -> _Parsed:
    """One paragraph per JSON line, flattened like :func:`_parse_json`; blank lines skipped."""
    raw, encoding = _decode_text(data)
    records: list[str] = []
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        _check_json_depth(line)
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UnsupportedDocument(f"invalid JSON on line {number}: {exc.msg}") from exc
        records.append(_flatten_json(value))
    return _normalise("\n\n".join(records)), None, {"encoding": encoding, "records": len(records)}


def _check_json_depth(text: str) -> None:
    """Refuse JSON nested deeper than ``MAX_DOCUMENT_JSON_DEPTH`` before parsing it."""
    try:
        check_depth(text, MAX_DOCUMENT_JSON_DEPTH, what="the JSON document")
    except BadRequest as exc:
        raise UnsupportedDocument(exc.message) from None


def _flatten_json(value: Any) -> str:
    """Render a JSON value as ``path: value`` lines, depth-first, without recursion."""
    lines: list[str] = []
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, dict) and item:
            children = [(f"{path}.{key}" if path else str(key), v) for key, v in item.items()]
            stack.extend(reversed(children))
        elif isinstance(item, list) and item:
            stack.extend(reversed([(f"{path}[{i}]", v) for i, v in enumerate(item)]))
        else:
            rendered = _one_line(item) if isinstance(item, str) else json.dumps(item)
            lines.append(f"{path}: {rendered}" if path else rendered)
    return "\n".join(lines)


_FORMATS: dict[str, tuple[str, Callable[[bytes, int], _Parsed]]] = {
    ".txt": ("text/plain", _parse_text),
    ".md": ("text/markdown", _parse_markdown),
    ".markdown": ("text/markdown", _parse_markdown),
    ".html": ("text/html", _parse_html),
    ".htm": ("text/html", _parse_html),
    ".pdf": ("application/pdf", _parse_pdf),
    ".docx": (_DOCX_CONTENT_TYPE, _parse_docx),
    ".csv": ("text/csv", _parse_csv),
    ".json": ("application/json", _parse_json),
    ".jsonl": ("application/x-ndjson", _parse_jsonl),
}

SUPPORTED_EXTENSIONS: frozenset[str] = frozenset(_FORMATS)
"""Lower-case extensions, with the dot, that :func:`parse_document` reads."""
