"""Build the passages of the bundled evaluation sets from documentation Debian ships.

Run once per set (the output is committed; questions and qrels are written by hand):

    python bench/data/retrieval/build_corpora.py git-man   # needs the git-man package
    python bench/data/retrieval/build_corpora.py sqlite    # needs the sqlite3-doc package

Passages are sections of the source documents (sub-split at paragraphs near 1,200 characters),
titled with the page they come from, the way documentation sets are usually shaped: many passages
share one title.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGET = 1200

GIT_PAGES = [
    "man1/git-add",
    "man1/git-am",
    "man1/git-apply",
    "man1/git-archive",
    "man1/git-bisect",
    "man1/git-blame",
    "man1/git-branch",
    "man1/git-checkout",
    "man1/git-cherry-pick",
    "man1/git-clean",
    "man1/git-clone",
    "man1/git-commit",
    "man1/git-describe",
    "man1/git-fetch",
    "man1/git-gc",
    "man1/git-grep",
    "man1/git-init",
    "man1/git-merge",
    "man1/git-mv",
    "man1/git-push",
    "man1/git-rebase",
    "man1/git-reflog",
    "man1/git-remote",
    "man1/git-reset",
    "man1/git-restore",
    "man1/git-revert",
    "man1/git-rm",
    "man1/git-shortlog",
    "man1/git-show",
    "man1/git-sparse-checkout",
    "man1/git-stash",
    "man1/git-status",
    "man1/git-submodule",
    "man1/git-switch",
    "man1/git-tag",
    "man1/git-worktree",
    "man5/gitignore",
    "man5/gitattributes",
    "man5/githooks",
    "man7/gitrevisions",
]

SQLITE_PAGES = [
    *(p.stem for p in sorted(Path("/usr/share/doc/sqlite3").glob("lang_*.html"))),
    "pragma",
    "datatype3",
    "autoinc",
    "foreignkeys",
    "wal",
    "json1",
    "windowfunctions",
    "gencol",
    "isolation",
    "inmemorydb",
    "faq",
    "limits",
    "partialindex",
    "expridx",
    "withoutrowid",
    "stricttables",
    "rowidtable",
    "quirks",
    "lockingv3",
    "tempfiles",
]


def _split(text: str) -> list[str]:
    """Paragraph groups of about TARGET characters."""
    paragraphs = [p.strip("\n") for p in re.split(r"\n\s*\n", text) if p.strip()]
    groups: list[str] = []
    current = ""
    for para in paragraphs:
        if current and len(current) + len(para) > TARGET:
            groups.append(current)
            current = ""
        current = f"{current}\n\n{para}" if current else para
    if current:
        groups.append(current)
    return groups


def _dedent(block: str) -> str:
    lines = block.splitlines()
    indent = min((len(s) - len(s.lstrip()) for s in lines if s.strip()), default=0)
    return "\n".join(s[indent:] for s in lines)


def git_man() -> list[dict[str, str]]:
    passages = []
    for page in GIT_PAGES:
        section, name = page.split("/")
        path = Path(f"/usr/share/man/{section}/{name}.{section[-1]}.gz")
        rendered = subprocess.run(
            ["man", "--no-hyphenation", "--no-justification", "-P", "cat", "-l", str(path)],
            capture_output=True,
            text=True,
            env={"MANWIDTH": "100", "PATH": "/usr/bin:/bin"},
            check=True,
        ).stdout
        sections = re.split(r"\n(?=[A-Z][A-Z &-]+\n)", rendered)
        summary = ""
        for block in sections:
            head, _, body = block.partition("\n")
            head = head.strip()
            if head == "NAME":
                summary = " ".join(body.split())
        title = summary or name
        count = 0
        for block in sections:
            head, _, body = block.partition("\n")
            head = head.strip()
            if head in {"NAME", "SYNOPSIS", "GIT", "SEE ALSO", "AUTHOR", "DOCUMENTATION"} or (
                "(" in head and ")" in head
            ):
                continue
            for group in _split(_dedent(body)):
                count += 1
                passages.append(
                    {
                        "_id": f"{name}-{count}",
                        "title": title,
                        "text": f"{head.title()}\n\n{group}",
                    }
                )
    return passages


def sqlite() -> list[dict[str, str]]:
    from bs4 import BeautifulSoup

    passages = []
    for page in SQLITE_PAGES:
        html = Path(f"/usr/share/doc/sqlite3/{page}.html").read_text(encoding="utf-8")
        soup = BeautifulSoup(html, "lxml")
        for junk in soup(["script", "style", "nav"]):
            junk.decompose()
        for menu in soup.select(".menu, .nosearch, .fancy_toc, #toc, .toc"):
            menu.decompose()
        doc_title = " ".join(soup.title.get_text().split()) if soup.title else page
        sections: list[tuple[str, list[str]]] = [("", [])]
        for node in soup.body.find_all(["h1", "h2", "h3", "h", "p", "pre", "li", "dd", "dt", "td"]):
            if node.name in {"h1", "h2", "h3", "h"}:
                heading = " ".join(node.get_text(" ").split())
                sections.append((heading, []))
                continue
            if node.find_parent(["li", "dd", "td", "p", "pre"]) is not None:
                continue
            text = node.get_text(" ") if node.name != "pre" else node.get_text()
            text = text if node.name == "pre" else " ".join(text.split())
            if text.strip():
                sections[-1][1].append(text.strip())
        count = 0
        for heading, paragraphs in sections:
            body = "\n\n".join(paragraphs)
            if len(body) < 80:
                continue
            for group in _split(body):
                count += 1
                text = f"{heading}\n\n{group}" if heading else group
                passages.append({"_id": f"{page}-{count}", "title": doc_title, "text": text})
    return passages


def main() -> None:
    name = sys.argv[1]
    passages = {"git-man": git_man, "sqlite": sqlite}[name]()
    out = HERE / name / "corpus.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as fh:
        for passage in passages:
            fh.write(json.dumps(passage, ensure_ascii=False) + "\n")
    print(f"{out}: {len(passages)} passages, {sum(len(p['text']) for p in passages)} characters")


if __name__ == "__main__":
    main()
