"""The HTML certificate: what an ERP team files after certifying a partner.

One self-contained page (inline CSS, no scripts, no external assets) stating the target, the spec
version and hash, the kit version, the profiles certified, the verdict, every requirement with its
outcome and message, the requirements not tested with the reason, and the number of requests
made. Everything that came from the target or the catalogue is HTML-escaped.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from conformance import redaction

__all__ = ["render", "write"]

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:72rem;
color:#1b1f24;line-height:1.4;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{margin-top:2rem;font-size:1.2rem}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border-bottom:1px solid #d0d7de;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}dl{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem}
dt{font-weight:600}dd{margin:0;word-break:break-all}
.verdict{display:inline-block;padding:.4rem .9rem;border-radius:.3rem;font-weight:700;color:#fff}
.conformant{background:#1a7f37}.not_conformant{background:#cf222e}
.o{font-weight:600;white-space:nowrap}.passed{color:#1a7f37}.failed{color:#cf222e}
.warning{color:#9a6700}.skipped{color:#8250df}.not_applicable{color:#57606a}
td.m{white-space:pre-wrap;font-family:ui-monospace,monospace;font-size:.8rem}
"""


def _e(value: Any) -> str:
    return escape(redaction.scrub(str(value)), quote=True)


def render(report: dict[str, Any]) -> str:
    verdict = str(report["verdict"])
    verdict_text = "Conformant" if verdict == "conformant" else "Not conformant"
    summary = ", ".join(f"{_e(count)} {_e(name)}" for name, count in report["summary"].items())
    rows = "\n".join(
        f"<tr><td>{_e(entry['id'])}</td><td>{_e(entry['level'])}</td><td>{_e(entry['profile'])}"
        f"</td><td>{_e(entry['title'])}</td><td class='o {_e(entry['outcome'])}'>"
        f"{_e(entry['outcome'])}</td><td class='m'>{_e(entry['message'])}</td></tr>"
        for entry in report["requirements"]
    )
    not_tested = "\n".join(
        f"<tr><td>{_e(entry['id'])}</td><td>{_e(entry['level'])}</td><td>{_e(entry['profile'])}"
        f"</td><td>{_e(entry['title'])}</td><td>{_e(entry['reason'])}</td></tr>"
        for entry in report.get("not_tested", [])
    )
    facts = [
        ("Target", report["target"]["base_url"]),
        # "Certified" only when the verdict says so; otherwise these are what the vendor claimed.
        (
            "Profiles certified" if report["verdict"] == "conformant" else "Profiles claimed",
            ", ".join(report["profiles"]),
        ),
        ("Spec version", report["spec_version"]),
        ("Spec SHA-256", report["spec_sha256"]),
        ("Kit version", report["kit_version"]),
        ("Started", report["started_at"]),
        ("Finished", report["finished_at"]),
        ("Requests made", report["requests_made"]),
        ("Run id / seed", f"{report.get('run_id', '')} / {report.get('seed', '')}"),
    ]
    facts_html = "".join(f"<dt>{_e(name)}</dt><dd>{_e(value)}</dd>" for name, value in facts)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Fulfillment API conformance: {_e(verdict_text)}</title>
<style>{_CSS}</style></head>
<body>
<h1>Fulfillment API conformance certificate</h1>
<p><span class="verdict {_e(verdict)}">{_e(verdict_text)}</span></p>
<dl>{facts_html}</dl>
<p>Summary: {summary}. Conformant means no MUST requirement of a claimed profile failed or was
skipped.</p>
<h2>Requirements</h2>
<table><thead><tr><th>Id</th><th>Level</th><th>Profile</th><th>Requirement</th><th>Outcome</th>
<th>Message</th></tr></thead>
<tbody>
{rows}
</tbody></table>
<h2>Not tested</h2>
<table><thead><tr><th>Id</th><th>Level</th><th>Profile</th><th>Requirement</th><th>Why not</th>
</tr></thead>
<tbody>
{not_tested}
</tbody></table>
</body></html>
"""


def write(report: dict[str, Any], path: str | Path) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render(report), encoding="utf-8")
    return target
