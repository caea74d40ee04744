"""Open a report in headless Chromium (Debian's ``chromium``) and bring back what a
reader would meet: the console messages (Chromium logs each on stderr), and what a
probe script measured once the page had loaded (charts drawn, their axes, whether
a table overflows its box)."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

CHROMIUM = shutil.which("chromium")
NOT_INSTALLED = "chromium not installed (apt-get install chromium; .ci/run installs it)"

#: Runs after the page's own scripts: what Plotly drew, and the boxes of the tables.
PROBE = """<script>
window.addEventListener("load", () => setTimeout(() => {
  const texts = (el, sel) => [...el.querySelectorAll(sel)].map((t) => t.textContent);
  const plots = [...document.querySelectorAll(".js-plotly-plot")].map((p) => ({
    id: p.id,
    svg: p.querySelectorAll("svg.main-svg").length,
    xtitle: texts(p, ".xtitle").join(""),
    ytitle: texts(p, ".ytitle").join(""),
    xticks: texts(p, ".xtick text"),
    bars: p.querySelectorAll(".bars .point").length,
    shades: p.querySelectorAll(".shapelayer path").length,
  }));
  const tables = [...document.querySelectorAll("table")].map((t) => ({
    cls: t.className, id: t.id,
    right: t.getBoundingClientRect().right,
  }));
  const probe = document.createElement("pre");
  probe.id = "probe";
  probe.textContent = JSON.stringify({
    plots, tables, title: document.title,
    pageWidth: document.documentElement.clientWidth,
    scrollWidth: document.documentElement.scrollWidth,
  });
  document.body.appendChild(probe);
}, 200));
</script>"""


@dataclass
class Page:
    console: list[str]  # every console message: errors, warnings and logs alike
    probe: dict[str, Any]


def open_page(page: str, work: Path, width: int = 1280) -> Page:
    """Render ``page`` (HTML text) from a file, as a reader opening it would."""
    assert CHROMIUM, NOT_INSTALLED
    path = work / "page.html"
    path.write_text(page.replace("</body>", PROBE + "</body>", 1), encoding="utf-8")
    argv = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",  # CI runs as root
        "--disable-gpu",
        f"--user-data-dir={work / 'profile'}",
        f"--window-size={width},900",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=20000",
        "--dump-dom",
        path.as_uri(),
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=180, check=False)
    console = [line for line in done.stderr.splitlines() if re.search(r":CONSOLE[:(]\d+", line)]
    found = re.search(r'<pre id="probe">(.*?)</pre>', done.stdout, flags=re.S)
    assert found, f"no probe in the page (exit {done.returncode}): {done.stderr[-2000:]}"
    return Page(console, orjson.loads(html.unescape(found.group(1))))
