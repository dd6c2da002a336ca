"""The repository stands alone (issue 28 item 5): no file in it cites a document that is not in it or public.
What the validator relies on about Zorora and the ONA platform is written down in docs/platform.md, each fact
with its public source or marked assumed; code, tests and docs cite that page, or the plan's steps by their
numbers (0.1 ... 5.2), never an unpublished file that a user or a future maintainer cannot open."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Built from pieces, so that this file does not name what it looks for.
UNPUBLISHED = re.compile(
    "|".join(
        [
            r"(?<!\w)CONTRACT" + r"(?:\.md|\s*§)",  # an unpublished contract file, by name or by section sign
            r"spec/" + r"000_",  # an unpublished copy of the validation plan
            r"\.\./" + r"shared\b",  # the folder both were kept in, beside the repository
        ]
    )
)
GENERATED = {".git", "__pycache__", ".pytest_cache", ".venv", ".venv-ci", "build", "dist"}


def repository_files():
    for path in sorted(ROOT.rglob("*")):
        parts = path.relative_to(ROOT).parts
        if any(part in GENERATED or part.endswith(".egg-info") for part in parts) or not path.is_file():
            continue
        yield path


def citations_outside(path: Path, root: Path = ROOT):
    text = path.read_bytes().decode("utf-8", errors="replace")
    return [
        f"{path.relative_to(root)}:{text.count(chr(10), 0, m.start()) + 1}: {m.group(0)}"
        for m in UNPUBLISHED.finditer(text)
    ]


def test_nothing_in_the_repository_cites_a_file_outside_it():
    found = [hit for path in repository_files() for hit in citations_outside(path)]
    assert found == [], "cite docs/platform.md (or the plan's step number) instead of:\n  " + "\n  ".join(found)


def test_the_check_catches_what_it_is_for(tmp_path):
    page = tmp_path / "p.md"
    page.write_text(
        "see CONTRACT" + ".md §2, CONTRACT" + " §1 and spec/" + "000_abc.txt in ../" + "shared/\n", encoding="utf-8"
    )
    assert [hit.split(": ", 1)[1] for hit in citations_outside(page, tmp_path)] == [
        "CONTRACT" + ".md",
        "CONTRACT" + " §",
        "spec/" + "000_",
        "../" + "shared",
    ]
    page.write_text(
        "docs/platform.md, the ONA API; plan step 2.2; Zorora `docs/ZORORA_OPERATIONAL_CONTRACT" + ".md`; "
        "s3 key shared/visible\n",
        encoding="utf-8",
    )
    assert citations_outside(page, tmp_path) == []


def test_the_platform_page_is_linked_for_maintainers():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    maintainers = readme.split("## For maintainers", 1)[1]
    assert "(docs/platform.md)" in maintainers
