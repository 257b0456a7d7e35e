"""The console summary: a block per requirement that failed or warned, then the rest in counts.

A vendor's CI log should say, without scrolling and without a traceback, which rule broke, what
happened, what the rule expects and which request showed it (with a curl line to replay it).
Every line fits the terminal (`width` columns): prose is wrapped between words, URLs and curl
commands are continued with ` \\`. Passed and not-applicable requirements are counted, not listed
(the JSON and HTML reports list them all, with the whole evidence).
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Sequence
from typing import Any

from conformance import redaction
from conformance.outcomes import NOT_SELECTED, OUTCOMES
from conformance.reports import evidence_of, scrubbed, statement_of, verdict_text

__all__ = ["summary_lines", "verdict_line"]

_LABEL = {"failed": "FAIL", "warning": "WARN", "skipped": "SKIP"}
_INDENT = "  "
_MIN_WIDTH = 40  # below this not even a requirement id and its level fit with an indent
# How much of each part of a block the console shows; the reports carry the rest.
_MESSAGE_LINES = 6
_STATEMENT_LINES = 3
_BODY_LINES = 2
_CURL_LINES = 6
_EVIDENCE_ITEMS = 3
_MORE = "..."
_CONTINUED = " \\"
_MIN_CUT = 12  # a cut piece starts on the current line only if this much of it fits there


# -- wrapping ---------------------------------------------------------------------------------
def _wrap(
    text: str, *, width: int, first: str, rest: str, max_lines: int | None = None
) -> list[str]:
    """`text` wrapped between words; only a word longer than a whole line is split."""
    wrapper = textwrap.TextWrapper(
        width=width,
        initial_indent=first,
        subsequent_indent=rest,
        break_long_words=True,
        break_on_hyphens=False,  # keep ids such as ORD-001 and header names whole
        max_lines=max_lines,
        placeholder=" " + _MORE,
    )
    return wrapper.wrap(text) or [first.rstrip()]


def _wrap_paragraphs(text: str, *, width: int, first: str, rest: str, max_lines: int) -> list[str]:
    """Each line of `text` wrapped on its own (a message's lines mean something), at most
    `max_lines` in all, the last ending in `...` when some were left out."""
    paragraphs = [" ".join(line.split()) for line in text.splitlines()]
    paragraphs = [paragraph for paragraph in paragraphs if paragraph] or [""]
    lines: list[str] = []
    for paragraph in paragraphs:
        lines += _wrap(paragraph, width=width, first=first if not lines else rest, rest=rest)
    if len(lines) <= max_lines:
        return lines
    kept = lines[:max_lines]
    kept[-1] = _fit(kept[-1] + " " + _MORE, width)
    return kept


def _fit(line: str, width: int) -> str:
    """`line` on one line of `width`, shortened at a word boundary with `...` if it must be."""
    if len(line) <= width:
        return line
    room = width - len(_MORE) - 1
    cut = line.rfind(" ", 0, room + 1)
    head = line[:cut] if cut > room // 2 else line[:room]
    return head.rstrip() + " " + _MORE


def _cut(piece: str, room: int, marks: str = "/&?,") -> tuple[str, str]:
    """`piece` cut to at most `room` characters, after one of `marks` when one is near the end."""
    cut = max(piece.rfind(mark, room // 2, room) for mark in marks)
    cut = cut + 1 if cut > 0 else room
    return piece[:cut], piece[cut:]


def _excerpt(text: str, *, width: int, first: str, rest: str, max_lines: int) -> list[str]:
    """The first lines of a body, cut between words or after a `,` (JSON often has no spaces),
    the last ending in `...` when the body goes on."""
    text = " ".join(text.split())
    lines: list[str] = []
    while text:
        prefix = first if not lines else rest
        room = width - len(prefix)
        if len(text) <= room:
            lines.append(prefix + text)
            break
        if len(lines) == max_lines - 1:
            head, _ = _cut(text, room - len(_MORE) - 1, marks=" ,")
            lines.append(f"{prefix}{head.rstrip()} {_MORE}")
            break
        head, text = _cut(text, room, marks=" ,")
        lines.append(prefix + head.rstrip())
        text = text.lstrip()
    return lines or [first.rstrip()]


def _continued(
    pieces: Iterable[str], *, width: int, first: str, rest: str, mark: str = _CONTINUED
) -> list[str]:
    """`pieces` joined by spaces, as many per line as fit, each line but the last ending in
    `mark` (` \\`: how a shell continues a command, and how a long URL reads as one). A piece
    longer than a whole line is cut, starting on the line where it comes."""
    lines: list[str] = []
    current = ""

    def room() -> int:
        return width - len(rest if lines else first) - len(mark)

    for piece in pieces:
        while piece:
            space = room() - (len(current) + 1 if current else 0)
            if len(piece) <= space:
                current = f"{current} {piece}" if current else piece
                break
            if current and (len(piece) <= _room_on_new_line(width, rest, mark) or space < _MIN_CUT):
                lines.append(current)  # the piece fits on a line of its own, or little is left
                current = ""
                continue
            head, piece = _cut(piece, space)
            lines.append(f"{current} {head}" if current else head)
            current = ""
    lines.append(current)
    prefixed = [(first if index == 0 else rest) + line for index, line in enumerate(lines)]
    return [line + mark for line in prefixed[:-1]] + prefixed[-1:]


def _room_on_new_line(width: int, rest: str, mark: str) -> int:
    return width - len(rest) - len(mark)


def _shell_words(command: str) -> list[str]:
    """The words of a shell command with their quotes kept (`'a b'` stays one word)."""
    words: list[str] = []
    current: list[str] = []
    quote = ""
    escaped = False
    for char in command:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\" and quote != "'":
            current.append(char)
            escaped = True
        elif quote:
            current.append(char)
            quote = "" if char == quote else quote
        elif char in "'\"":
            current.append(char)
            quote = char
        elif char.isspace():
            if current:
                words.append("".join(current))
                current = []
        else:
            current.append(char)
    if current:
        words.append("".join(current))
    return words


def _curl_pieces(command: str) -> list[str]:
    """The curl command's words, an option kept with its value (`-H 'Accept: x'` stays whole)."""
    pieces: list[str] = []
    for word in _shell_words(command):
        if pieces and pieces[-1].startswith("-") and " " not in pieces[-1]:
            pieces[-1] += " " + word
        else:
            pieces.append(word)
    return pieces


# -- one requirement ----------------------------------------------------------------------------
def _evidence_lines(item: dict[str, Any], width: int) -> list[str]:
    request, response = item["request"], item["response"]
    lines = _continued(
        [request["method"] or "?", request["url"] or "(no URL)"],
        width=width,
        first=_INDENT + "> ",
        rest=_INDENT + "    ",
    )
    if response is None:
        lines.append(_INDENT + "< no response")
    else:
        status = f"{_INDENT}< {response['status']} "
        body = str(response["body"] or "(empty body)")
        lines += _excerpt(
            body, width=width, first=status, rest=" " * len(status), max_lines=_BODY_LINES
        )
    if item["curl"]:
        lines += _curl_lines(item["curl"], width)
    return lines


def _curl_lines(command: str, width: int) -> list[str]:
    """The curl command when it can be shown whole, broken only between its words (so a person
    can paste it); otherwise one line saying where it is whole: a command cut inside a quoted
    body would not run."""
    pieces = _curl_pieces(command)
    longest = _room_on_new_line(width, _INDENT * 3, _CONTINUED)
    curl = _continued(pieces, width=width, first=_INDENT, rest=_INDENT * 3)
    if len(curl) <= _CURL_LINES and all(len(piece) <= longest for piece in pieces):
        return curl
    note = (
        f"replay: a curl command of {len(command):,} characters, whole in the JSON and HTML reports"
    )
    return [_fit(_INDENT + note, width)]


def _attention_block(entry: dict[str, Any], width: int) -> list[str]:
    """What a person needs to act on one failed or warning requirement."""
    label = _LABEL[entry["outcome"]]
    lines = _wrap(
        f"{label} {entry['id']} [{entry['level']}] {entry['title']}",
        width=width,
        first="",
        rest=_INDENT,
    )
    labelled = {"happened: ": entry["message"], "expected: ": statement_of(entry["id"])}
    limits = {"happened: ": _MESSAGE_LINES, "expected: ": _STATEMENT_LINES}
    for label_text, text in labelled.items():
        if text:
            lines += _wrap_paragraphs(
                text,
                width=width,
                first=_INDENT + label_text,
                rest=_INDENT + " " * len(label_text),
                max_lines=limits[label_text],
            )
    evidence = evidence_of(entry)
    for item in evidence[:_EVIDENCE_ITEMS]:
        lines += _evidence_lines(item, width)
    if len(evidence) > _EVIDENCE_ITEMS:
        more = len(evidence) - _EVIDENCE_ITEMS
        lines.append(_fit(f"{_INDENT}(+{more} more requests in the JSON and HTML reports)", width))
    return lines


# -- the summary ----------------------------------------------------------------------------------
def verdict_line(report: dict[str, Any]) -> str:
    """One line: the verdict, the profiles and the number of requests (may exceed a terminal's
    width; `summary_lines` wraps it)."""
    verdict = verdict_text(report["verdict"])
    if report["verdict"] == "partial":
        verdict += " (not a certificate: checks were left out on purpose)"
    return (
        f"verdict: {verdict}; profiles {', '.join(report['profiles']) or '(none)'};"
        f" {report['requests_made']} requests made"
    )


def _totals(report: dict[str, Any], width: int) -> list[str]:
    summary = report["summary"]
    # Every outcome, in the fixed order, even one an older report's summary lacks.
    names = list(OUTCOMES) + [name for name in summary if name not in OUTCOMES]
    counts = [f"{summary.get(name, 0)} {name.replace('_', ' ')}," for name in names]
    counts[-1] = counts[-1].rstrip(",") + ";"
    pieces = ["totals:", *counts, f"{len(report.get('not_tested', []))} not tested"]
    # A count stays whole ("36 not applicable"), so the line wraps between counts only.
    return _continued(pieces, width=width, first="", rest=_INDENT, mark="")


def _not_exercised_line(entries: Sequence[dict[str, Any]]) -> str:
    ids = ", ".join(entry["id"] for entry in entries)
    return (
        f"NOT EXERCISED {len(entries)} requirement{'s' if len(entries) != 1 else ''}"
        f" (the run never met what they judge; not blocking): {ids}"
    )


def summary_lines(
    report: dict[str, Any], *, errors: Sequence[str] = (), width: int = 100
) -> list[str]:
    """The end-of-run summary for a terminal or CI log, no line longer than `width`."""
    width = max(width, _MIN_WIDTH)
    report = scrubbed(report)
    entries = report["requirements"]
    lines = ["", "== conformance: requirements =="]
    for outcome in ("failed", "warning"):
        for entry in entries:
            if entry["outcome"] == outcome:
                lines += ["", *_attention_block(entry, width)]
    # An --only run leaves most requirements unselected; one count says so better than a line each.
    skipped = [e for e in entries if e["outcome"] == "skipped" and e["message"] != NOT_SELECTED]
    unselected = [e for e in entries if e["outcome"] == "skipped" and e["message"] == NOT_SELECTED]
    unexercised = [e for e in entries if e["outcome"] == "not_exercised"]
    if skipped or unselected or unexercised:
        lines.append("")
    for entry in skipped:
        text = f"SKIP {entry['id']} [{entry['level']}] {entry['title']}: {entry['message']}"
        lines.append(_fit(" ".join(text.split()), width))
    if unexercised:
        lines += _wrap(_not_exercised_line(unexercised), width=width, first="", rest=_INDENT)
    if unselected:
        lines.append(f"({len(unselected)} requirements not selected by --only)")
    lines.append("")
    lines += _totals(report, width)
    for error in errors:
        lines += _wrap_paragraphs(
            f"ERROR a check module could not be collected: {redaction.scrub(error)}",
            width=width,
            first="",
            rest=_INDENT,
            max_lines=4,
        )
    lines += _wrap(verdict_line(report), width=width, first="", rest=_INDENT)
    return [redaction.scrub(line) for line in lines]
