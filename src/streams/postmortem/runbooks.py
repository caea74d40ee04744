"""Where a report's runbook links point. Alerts carry repo-relative paths
(``deploy/runbooks/data_quality.md``), and a relative link breaks as soon as the
report is opened from anywhere but the repository's root, so every link is absolute:
joined to ``--runbook-base`` when given, else the runbook of a local checkout (the
working directory's, then the one this package runs from) as a ``file://`` address.
A path found in neither is shown, not linked; only web and file addresses are linked.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

#: The checkout this package runs from (src/streams/postmortem/ is three below it).
PACKAGE_CHECKOUT = Path(__file__).resolve().parents[3]


def local_roots() -> list[Path]:
    """Where repo-relative runbook paths are looked for, first match wins."""
    return [Path.cwd(), PACKAGE_CHECKOUT]


def runbook_link(
    url: str | None, base: str | None = None, roots: Sequence[Path] | None = None
) -> str | None:
    """The runbook's absolute address, or None when it cannot be linked.

    >>> runbook_link("deploy/runbooks/gpu.md", "https://example.org/repo/blob/main/")
    'https://example.org/repo/blob/main/deploy/runbooks/gpu.md'
    >>> runbook_link("javascript:alert(1)") is None
    True
    """
    if not url:
        return None
    scheme = urlsplit(url).scheme
    if scheme:
        return url if scheme in ("http", "https", "file") else None
    if base:
        return base.rstrip("/") + "/" + url.lstrip("/")
    relative = PurePosixPath(url)
    if relative.is_absolute() or ".." in relative.parts:
        return None
    for root in local_roots() if roots is None else roots:
        path = (root / relative).resolve()
        if path.is_file():
            return path.as_uri()
    return None


def runbook_name(url: str) -> str:
    """What a link shows: the file name (``data_quality.md``)."""
    return url.rstrip("/").rsplit("/", 1)[-1]
