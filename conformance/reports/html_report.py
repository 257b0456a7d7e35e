"""The HTML certificate: what an ERP team files after certifying a partner, and what the vendor's
engineer reads to fix what failed.

One self-contained page (inline CSS and a small inline script, nothing loaded from anywhere, so
it works offline from a file:// URL; a Content-Security-Policy says so to the browser too). It
states the verdict first (a partial run says it is not a certificate), the target, spec and kit
versions, the profiles, the run id and seed, the dates and the requests made; then the failed and
warning requirements, each with what happened, what the rule expects and the evidence (request,
response, a curl line to replay it); then every other requirement, and those not tested with the
reason. Each requirement id is an anchor; its statement is in the page and the operations it is
about link to the API reference. A filter by outcome and by profile narrows the page. Everything
that came from the target or the catalogue is scrubbed of secrets and HTML-escaped.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import quote

from conformance import redaction
from conformance.catalogue import PROFILES
from conformance.reports import evidence_of, operations_of, scrubbed, statement_of, verdict_text

__all__ = ["DEFAULT_REFERENCE_URL", "render", "write"]

# The Redoc page `nox -s docs` builds; Redoc's anchor of an operation is #operation/<operationId>.
DEFAULT_REFERENCE_URL = "api-reference.html"
# The outcomes in the order a reader needs them; failed and warning get a block each, above.
_ATTENTION = ("failed", "warning")
_OTHERS = ("skipped", "not_exercised", "passed", "not_applicable")
_FILTER_OUTCOMES = (*_ATTENTION, *_OTHERS, "not_tested")
_BODY_LIMIT = 20_000  # characters of a body shown; the JSON report has what the kit kept

_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline';"
    " base-uri 'none'; form-action 'none'"
)

_CSS = """
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:0 auto 3rem;max-width:76rem;
color:#1b1f24;line-height:1.45;padding:0 1.2rem}
[hidden]{display:none!important}
header.banner{margin:1.2rem 0 1rem;padding:1rem 1.4rem;border-radius:.5rem;color:#fff}
header.banner p{margin:.2rem 0}.kicker{font-size:.85rem;letter-spacing:.06em;
text-transform:uppercase;opacity:.9}
header.banner h1{margin:.1rem 0 .3rem;font-size:2rem;letter-spacing:.02em}
.conformant{background:#1a7f37}.not_conformant{background:#cf222e}.partial{background:#6e7781}
h2{margin:2rem 0 .6rem;font-size:1.25rem;border-bottom:1px solid #d0d7de;padding-bottom:.3rem}
dl.facts{display:grid;grid-template-columns:max-content minmax(0,1fr) max-content minmax(0,1fr);
gap:.15rem 1.2rem;margin:0}
@media (max-width:60rem){dl.facts{grid-template-columns:max-content minmax(0,1fr)}}
dl.facts dt{font-weight:600}dl.facts dd{margin:0;overflow-wrap:anywhere}
dl.facts dt.wide{grid-column:1}dl.facts dd.wide{grid-column:2/-1}
.counts{display:flex;flex-wrap:wrap;gap:.4rem;margin:1rem 0}
.chip{border-radius:1rem;padding:.15rem .7rem;font-size:.9rem;font-weight:600;
background:#f6f8fa;border:1px solid #d0d7de}
.chip.failed{background:#ffebe9;border-color:#ff8182}.chip.warning{background:#fff8c5;
border-color:#d4a72c}.chip.passed{background:#dafbe1;border-color:#4ac26b}
#filters{display:flex;flex-wrap:wrap;gap:.3rem 1rem;align-items:center;padding:.6rem .8rem;
background:#f6f8fa;border:1px solid #d0d7de;border-radius:.4rem;position:sticky;top:0;z-index:1}
#filters label{white-space:nowrap;font-size:.9rem}#filters strong{font-size:.9rem}
article.req{border:1px solid #d0d7de;border-left:.35rem solid #cf222e;border-radius:.4rem;
padding:.2rem 1rem .8rem;margin:0 0 1rem}
article.req.warning{border-left-color:#d4a72c}
article.req h3{font-size:1.05rem;margin:.6rem 0 .4rem}
dl.what{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:.3rem 1rem;margin:.4rem 0}
dl.what dt{font-weight:600;color:#57606a}dl.what dd{margin:0}
.message{white-space:pre-wrap;font-family:ui-monospace,SFMono-Regular,Menlo,monospace;
font-size:.85rem;margin:0}
.exchange{display:grid;grid-template-columns:1fr 1fr;gap:.6rem;margin-top:.6rem}
.exchange .wide{grid-column:1/-1}
@media (max-width:60rem){.exchange{grid-template-columns:1fr}}
h4{margin:.2rem 0;font-size:.8rem;text-transform:uppercase;letter-spacing:.05em;color:#57606a}
pre{margin:0;padding:.5rem .7rem;background:#f6f8fa;border:1px solid #d0d7de;border-radius:.3rem;
font-size:.8rem;white-space:pre-wrap;overflow-wrap:anywhere;max-height:20rem;overflow:auto}
pre.curl{background:#1b1f24;color:#e6edf3;border-color:#1b1f24}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border-bottom:1px solid #d0d7de;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.m{white-space:pre-wrap;font-size:.85rem;overflow-wrap:anywhere}
tr:target,article:target{outline:2px solid #0969da;outline-offset:2px}
a.rid{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-weight:600;white-space:nowrap}
.lvl{font-size:.75rem;font-weight:700;border:1px solid currentColor;border-radius:.2rem;
padding:0 .25rem;margin:0 .4rem;vertical-align:.1em}
.o{font-weight:600;white-space:nowrap}.o.passed{color:#1a7f37}.o.failed{color:#cf222e}
.o.warning{color:#9a6700}.o.skipped{color:#8250df}.o.not_exercised{color:#0969da}
.o.not_applicable,.o.not_tested{color:#57606a}
.profile{color:#57606a;font-size:.85rem;font-weight:400}
details summary{cursor:pointer}details p{margin:.3rem 0;color:#424a53}
.ops a{margin-right:.5rem}
footer{margin-top:2rem;color:#57606a;font-size:.85rem}
@media print{#filters{display:none}pre{max-height:none}}
"""

# Progressive enhancement: without scripts the page shows everything and no filter controls.
_SCRIPT = """
(function () {
  var form = document.getElementById("filters");
  form.hidden = false;
  function apply() {
    var shown = {};
    form.querySelectorAll("input[name=outcome]").forEach(function (box) {
      shown[box.value] = box.checked;
    });
    var profile = form.querySelector("select[name=profile]").value;
    document.querySelectorAll("[data-outcome]").forEach(function (item) {
      var keep = shown[item.dataset.outcome] && (!profile || item.dataset.profile === profile);
      item.hidden = !keep;
    });
    document.querySelectorAll("[data-section]").forEach(function (section) {
      section.hidden = !section.querySelector("[data-outcome]:not([hidden])");
    });
  }
  function revealTarget() {
    var id = decodeURIComponent(location.hash.slice(1));
    var target = id && document.getElementById(id);
    if (!target || !target.dataset.outcome) return;
    target.hidden = false;
    var section = target.closest("[data-section]");
    if (section) section.hidden = false;
    var details = target.querySelector("details");
    if (details) details.open = true;
    target.scrollIntoView();
  }
  form.addEventListener("change", apply);
  window.addEventListener("hashchange", revealTarget);
  apply();
  revealTarget();
})();
"""


def _e(value: Any) -> str:
    return escape(redaction.scrub(str(value)), quote=True)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


# -- the head of the page ------------------------------------------------------------------------
def _banner_title(verdict: str) -> str:
    if verdict == "partial":
        return "PARTIAL \N{EM DASH} NOT A CERTIFICATE"
    return verdict_text(verdict)


def _verdict_reason(report: dict[str, Any]) -> str:
    claimed = set(report["profiles"])
    blocking = [
        entry
        for entry in report["requirements"]
        if entry["level"] == "MUST"
        and entry["profile"] in claimed
        and entry["outcome"] in ("failed", "skipped")
    ]
    profiles = ", ".join(report["profiles"]) or "(none)"
    if report["verdict"] == "partial":
        return (
            "This run left checks out on purpose (--only or --no-property-based): it is evidence"
            " of what it checked, not a certificate."
        )
    if report["verdict"] == "conformant":
        return f"Every MUST requirement of the profiles {profiles} was verified."
    failed = sum(1 for entry in blocking if entry["outcome"] == "failed")
    skipped = len(blocking) - failed
    parts = [_plural(failed, "MUST requirement") + " failed"] if failed else []
    parts += [_plural(skipped, "MUST requirement") + " could not be checked"] if skipped else []
    return "; ".join(parts) + f" (profiles {profiles})." if parts else ""


def _facts(report: dict[str, Any]) -> str:
    facts = [
        ("Target", report["target"]["base_url"]),
        # "Certified" only when the verdict says so; otherwise these are what the vendor claimed.
        (
            "Profiles certified" if report["verdict"] == "conformant" else "Profiles claimed",
            ", ".join(report["profiles"]) or "(none)",
        ),
        ("Spec version", report["spec_version"]),
        ("Kit version", report["kit_version"]),
        ("Started", report["started_at"]),
        ("Finished", report["finished_at"]),
        ("Run id", report.get("run_id", "")),
        ("Seed", report.get("seed", "")),
        ("Requests made", report["requests_made"]),
        ("Spec SHA-256", report["spec_sha256"]),  # last: a long line of its own
    ]
    rows = "".join(f"<dt>{_e(name)}</dt><dd>{_e(value)}</dd>" for name, value in facts[:-1])
    name, value = facts[-1]
    rows += f'<dt class="wide">{_e(name)}</dt><dd class="wide">{_e(value)}</dd>'
    return f'<dl class="facts">{rows}</dl>'


def _counts(report: dict[str, Any]) -> str:
    summary = report["summary"]
    names = [name for name in (*_ATTENTION, *_OTHERS) if name in summary]
    chips = [
        f'<span class="chip {_e(name)}">{_e(summary[name])} {_e(name.replace("_", " "))}</span>'
        for name in names
    ]
    chips.append(f'<span class="chip">{len(report.get("not_tested", []))} not tested</span>')
    return f'<div class="counts">{"".join(chips)}</div>'


def _filters(report: dict[str, Any]) -> str:
    counts = _outcome_counts(report)
    boxes = "".join(
        f'<label><input type="checkbox" name="outcome" value="{_e(name)}" checked> '
        f"{_e(name.replace('_', ' '))} ({counts.get(name, 0)})</label>"
        for name in _FILTER_OUTCOMES
    )
    present = {entry["profile"] for entry in report["requirements"]}
    present |= {entry["profile"] for entry in report.get("not_tested", [])}
    ordered = [name for name in PROFILES if name in present] + sorted(present - set(PROFILES))
    options = "".join(f'<option value="{_e(name)}">{_e(name)}</option>' for name in ordered)
    return (
        '<form id="filters" hidden><strong>Show</strong>'
        f'{boxes}<label>profile <select name="profile"><option value="">all</option>'
        f"{options}</select></label></form>"
    )


def _outcome_counts(report: dict[str, Any]) -> dict[str, int]:
    counts: dict[str, int] = {"not_tested": len(report.get("not_tested", []))}
    for entry in report["requirements"]:
        counts[entry["outcome"]] = counts.get(entry["outcome"], 0) + 1
    return counts


# -- one requirement -----------------------------------------------------------------------------
def _id_link(requirement_id: str) -> str:
    return f'<a class="rid" href="#{_e(requirement_id)}">{_e(requirement_id)}</a>'


def _reference_links(requirement_id: str, reference_url: str) -> str:
    operations = operations_of(requirement_id)
    if not operations:
        return ""
    links = " ".join(
        f'<a href="{_e(reference_url)}#operation/{_e(quote(name, safe=""))}">{_e(name)}</a>'
        for name in operations
    )
    return f'<span class="ops">API reference: {links}</span>'


def _pretty_body(body: str | None) -> str:
    if not body:
        return ""
    try:
        text = json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    except ValueError:  # an excerpt cut short, or not JSON: shown as it came
        text = body
    return text if len(text) <= _BODY_LIMIT else text[:_BODY_LIMIT] + "\n..."


def _http_block(first_line: str, headers: dict[str, str], body: str | None) -> str:
    lines = [first_line, *(f"{name}: {value}" for name, value in headers.items())]
    pretty = _pretty_body(body)
    if pretty:
        lines += ["", pretty]
    return f"<pre>{_e(chr(10).join(lines))}</pre>"


def _evidence(entry: dict[str, Any]) -> str:
    blocks = []
    items = evidence_of(entry)
    for number, item in enumerate(items, start=1):
        request, response = item["request"], item["response"]
        label = f" {number}" if len(items) > 1 else ""
        request_html = _http_block(
            f"{request['method']} {request['url']}", request["headers"], request["body"]
        )
        response_html = (
            "<pre>no response</pre>"
            if response is None
            else _http_block(f"HTTP {response['status']}", response["headers"], response["body"])
        )
        curl = (
            f'<div class="wide"><h4>Replay</h4><pre class="curl">{_e(item["curl"])}</pre></div>'
            if item["curl"]
            else ""
        )
        blocks.append(
            f'<div class="exchange"><div><h4>Request{label}</h4>{request_html}</div>'
            f"<div><h4>Response{label}</h4>{response_html}</div>{curl}</div>"
        )
    return "".join(blocks)


def _attention_block(entry: dict[str, Any], reference_url: str) -> str:
    outcome = entry["outcome"]
    statement = statement_of(entry["id"]) or entry["title"]
    references = _reference_links(entry["id"], reference_url)
    return (
        f'<article class="req {_e(outcome)}" id="{_e(entry["id"])}" data-outcome="{_e(outcome)}"'
        f' data-profile="{_e(entry["profile"])}"><h3>{_id_link(entry["id"])}'
        f'<span class="lvl">{_e(entry["level"])}</span><span class="o {_e(outcome)}">'
        f"{_e(outcome)}</span> {_e(entry['title'])} "
        f'<span class="profile">({_e(entry["profile"])})</span></h3>'
        f'<dl class="what"><dt>What happened</dt><dd><p class="message">{_e(entry["message"])}'
        f"</p></dd><dt>Expected</dt><dd>{_e(statement)}"
        f"{'<br>' + references if references else ''}</dd></dl>"
        f"{_evidence(entry)}</article>"
    )


def _statement_details(entry: dict[str, Any], reference_url: str) -> str:
    """The title, opening on the rule's statement and the operations it is about."""
    statement = statement_of(entry["id"])
    references = _reference_links(entry["id"], reference_url)
    if not statement and not references:
        return _e(entry["title"])
    inside = (f"<p>{_e(statement)}</p>" if statement else "") + (
        f"<p>{references}</p>" if references else ""
    )
    return f"<details><summary>{_e(entry['title'])}</summary>{inside}</details>"


def _row(entry: dict[str, Any], outcome: str, last: str, reference_url: str) -> str:
    return (
        f'<tr id="{_e(entry["id"])}" data-outcome="{_e(outcome)}"'
        f' data-profile="{_e(entry["profile"])}"><td>{_id_link(entry["id"])}</td>'
        f"<td>{_e(entry['level'])}</td><td>{_e(entry['profile'])}</td>"
        f"<td>{_statement_details(entry, reference_url)}</td>"
        f'<td class="o {_e(outcome)}">{_e(outcome.replace("_", " "))}</td>'
        f'<td class="m">{_e(last)}</td></tr>'
    )


def _table(rows: list[str], last_column: str) -> str:
    return (
        "<table><thead><tr><th>Id</th><th>Level</th><th>Profile</th><th>Requirement</th>"
        f"<th>Outcome</th><th>{_e(last_column)}</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


# -- the page ------------------------------------------------------------------------------------
def _sections(report: dict[str, Any], reference_url: str) -> str:
    entries = report["requirements"]
    attention = [
        _attention_block(entry, reference_url)
        for outcome in _ATTENTION
        for entry in entries
        if entry["outcome"] == outcome
    ]
    others = [
        _row(entry, outcome, entry["message"], reference_url)
        for outcome in _OTHERS
        for entry in entries
        if entry["outcome"] == outcome
    ]
    not_tested = [
        _row(entry, "not_tested", entry["reason"], reference_url)
        for entry in report.get("not_tested", [])
    ]
    parts = []
    if attention:
        parts.append(
            f"<section data-section><h2>Failed and warning ({len(attention)})</h2>"
            f"{''.join(attention)}</section>"
        )
    else:
        parts.append("<h2>Failed and warning</h2><p>None.</p>")
    if others:
        parts.append(
            f"<section data-section><h2>Other requirements ({len(others)})</h2>"
            f"{_table(others, 'Message')}</section>"
        )
    if not_tested:
        parts.append(
            f"<section data-section><h2>Not tested ({len(not_tested)})</h2><p>No black-box"
            " test can verify these; they do not count toward the verdict.</p>"
            f"{_table(not_tested, 'Why not')}</section>"
        )
    return "\n".join(parts)


def render(report: dict[str, Any], *, reference_url: str = DEFAULT_REFERENCE_URL) -> str:
    """The page; `reference_url` is where the rendered API reference (Redoc) is, relative to
    the page or absolute: operation links go to `<reference_url>#operation/<operationId>`."""
    report = scrubbed(report)
    verdict = str(report["verdict"])
    title = _banner_title(verdict)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Fulfillment API conformance: {_e(title)}</title>
<style>{_CSS}</style></head>
<body>
<header class="banner {_e(verdict)}"><p class="kicker">Fulfillment API conformance</p>
<h1>{_e(title)}</h1><p>{_e(_verdict_reason(report))}</p></header>
{_facts(report)}
{_counts(report)}
{_filters(report)}
{_sections(report, reference_url)}
<footer><p>Conformant means no MUST requirement of a claimed profile failed or was skipped.
A warning is a SHOULD or MAY that failed: it does not block the verdict. Not exercised means
the run never met what the rule judges (for example no 429 was ever sent): it does not block the
verdict either. Secrets are masked (***) in every request, response and command shown.</p>
</footer>
<script>{_SCRIPT}</script>
</body></html>
"""


def write(
    report: dict[str, Any], path: str | Path, *, reference_url: str = DEFAULT_REFERENCE_URL
) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render(report, reference_url=reference_url), encoding="utf-8")
    return target
