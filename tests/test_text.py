"""Text from outside shown safely in Markdown (metrics.text): `plain_markdown` shows any
text literally, `safe_markdown` keeps a small subset and links only to allowed hosts.

What the browser draws from these strings is checked in
tests/browser/test_markdown_injection.py (Streamlit's own renderer); here the strings
themselves are checked, against a small reader of the Markdown they are written in.
"""

from __future__ import annotations

import os
import re
import urllib.parse
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from metrics.definitions.board_files import BoardFile
from metrics.text import WORD_JOINER, allowed_url, plain_markdown, safe_markdown

ROOT = Path(__file__).resolve().parents[1]
# HOSTILE_SCALE=50 hunts harder (as in test_hostile_input.py).
EXAMPLES = int(400 * float(os.environ.get("HOSTILE_SCALE", "1")))
HOSTS = ("www.england.nhs.uk", "digital.nhs.uk")
J = WORD_JOINER  # invisible; breaks URL patterns in text (see metrics.text)

# Pieces a hostile tester would combine: Markdown and HTML syntax, URL parts, our hosts.
FRAGMENTS = [
    "[", "]", "(", ")", "!", "<", ">", "`", "``", "*", "**", "_", "__", "~", "|", "#", "$",
    "&", "&lt;", "&#106;", ";", ":", "::", "/", "//", "\\", "@", "=", "-", "+", "1.", " ",
    "  ", "\t", "\n", "\n\n", "\n- ", "\n* ", "\n1. ", "\n> ", "\n    ", "\n===", "\n---",
    "https://", "http://", "HTTPS://", "www.", "javascript:", "data:", "mailto:", "evil",
    "evil.example", ".example", "digital.nhs.uk", "www.england.nhs.uk", "/path", "?q=1",
    "#frag", "%2F", "alert(1)", "[x](", "](", "![p](", "[r]: ", "[a][r]", "<img src=x>",
    ":red[", ":streamlit:", ":material_home:", ":smile:", "x@evil.example", "word", "é",
    "\u200b", WORD_JOINER,
]  # fmt: skip
hostile_text = st.one_of(
    st.text(max_size=60),
    st.lists(st.sampled_from(FRAGMENTS), max_size=25).map("".join),
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=6)), max_size=20).map("".join),
)

# Every ASCII punctuation character, as CommonMark defines it (any may be escaped).
PUNCTUATION = r"!-/:-@\[-`{-~"
ESCAPE = re.compile(rf"\\([{PUNCTUATION}])")
# Streamlit's renderer (GFM autolink literals, from mdast-util-gfm-autolink-literal) links
# these in text after escapes are resolved; copied from its source.
AUTOLINK_URL = re.compile(r"(https?://|www(?=\.))([-.\w]+)", re.IGNORECASE | re.ASCII)
AUTOLINK_EMAIL = re.compile(r"([-.\w+]+)@([-\w]+(?:\.[-\w]+)+)", re.ASCII)
SHORTCODE = re.compile(r":[\w+-][\w+-]*:", re.ASCII)
ENTITY = re.compile(r"&(#\d+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")  # decoded if bare


def read_back(markdown: str) -> str:
    """The text a reader sees in escaped Markdown: escapes resolved, joiners dropped."""
    return ESCAPE.sub(r"\1", markdown).replace(WORD_JOINER, "")


def unescaped(markdown: str, characters: str) -> list[int]:
    """Positions of `characters` not escaped by a backslash (an escaped backslash does
    not escape what follows it)."""
    found, position = [], 0
    while position < len(markdown):
        char = markdown[position]
        if char == "\\" and position + 1 < len(markdown):
            position += 2
            continue
        if char in characters:
            found.append(position)
        position += 1
    return found


def text_runs(markdown: str) -> str:
    """The literal text of escaped Markdown (as the renderer's text nodes hold it)."""
    return ESCAPE.sub(r"\1", markdown)


# ------------------------------------------------------------------------- plain_markdown


@pytest.mark.parametrize(
    "text",
    [
        "[Session expired - sign in again](https://evil.example/login)",
        "![p](https://evil.example/t.png)",
        "[x](javascript:alert(1))",
        "<img src=x onerror=alert(2)>",
        "[a][r]\n\n[r]: https://evil.example",
        "https://evil.example/x and www.evil.example and someone@evil.example",
        ":red[coloured] :streamlit: $x^2$ ~~struck~~ | a | b |",
        "# heading\n- item\n1. item\n> quote\n===",
    ],
)
def test_plain_markdown_escapes_hostile_markup(text: str) -> None:
    shown = plain_markdown(text)
    assert unescaped(shown, "[]()<>!`*_$~|#") == []
    assert read_back(shown) == text
    plain_text = text_runs(shown)
    assert not AUTOLINK_URL.search(plain_text), plain_text
    assert not AUTOLINK_EMAIL.search(plain_text), plain_text
    assert not SHORTCODE.search(plain_text), plain_text


def test_plain_markdown_keeps_ordinary_text_readable() -> None:
    # Only what Markdown would act on is escaped, so figures and dates read as written.
    assert plain_markdown("£71.20m in 2019/20, 12.5% - up") == "£71.20m in 2019/20, 12.5% - up"
    assert plain_markdown("Black or Black British") == "Black or Black British"
    assert plain_markdown("1. first") == "1\\. first"
    assert plain_markdown("- dash") == "\\- dash"
    assert plain_markdown("A&E &amp;") == "A&E \\&amp;"


@given(hostile_text)
@settings(max_examples=EXAMPLES, deadline=None)
def test_plain_markdown_shows_any_text_literally(text: str) -> None:
    shown = plain_markdown(text)
    # Nothing can open a link, an image, raw HTML, code, emphasis, maths or a table...
    assert unescaped(shown, "[]()<!`*_$~|{}") == [], shown
    # ...nothing starts a block (list, heading, quote, setext underline, ordered item)...
    for line in shown.split("\n"):
        stripped = line.lstrip(" \t")
        assert not re.match(r"[-+=>#*]|\d+[.)]", stripped), line
    # ...no character reference is decoded, no directive or bare URL is picked up...
    assert [p for p in unescaped(shown, "&") if ENTITY.match(shown, p)] == [], shown
    # (a directive's name starts with an ASCII letter)
    directives = [p for p in unescaped(shown, ":") if re.match(r"[A-Za-z]", shown[p + 1 :])]
    assert directives == [], shown
    plain_text = text_runs(shown)
    assert not AUTOLINK_URL.search(plain_text), plain_text
    assert not AUTOLINK_EMAIL.search(plain_text), plain_text
    assert not SHORTCODE.search(plain_text), plain_text
    # ...and it reads back exactly as written (line endings normalised).
    written = text.replace("\r\n", "\n").replace("\r", "\n").replace(WORD_JOINER, "")
    assert read_back(shown) == written


# ------------------------------------------------------------------------- safe_markdown


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("**bold** and *italic* and _italic_", "**bold** and *italic* and *italic*"),
        ("`code [x](https://evil.example)`", "`code [x](https://evil.example)`"),
        ("one\ntwo\n\nthree", "one two\n\nthree"),
        ("- a\n- b\n  more", "- a\n- b more"),
        ("[MDC](https://www.england.nhs.uk/mdc/)", "[MDC](https://www.england.nhs.uk/mdc/)"),
        ("[x](HTTPS://Digital.NHS.uk/a?b=1&c=2)", "[x](https://digital.nhs.uk/a?b=1\\&c=2)"),
        ("![chart](https://evil.example/t.png)", "chart"),
        ("[click](https://evil.example/login)", "click"),
        ("[click](http://digital.nhs.uk/)", "click"),
        ("[click](https://digital.nhs.uk@evil.example/)", "click"),
        ("[click](https://digital.nhs.uk.evil.example/)", "click"),
        ("[click](https://digital.nhs.uk:8443/)", "click"),
        ("[click](//digital.nhs.uk/)", "click"),
        ("[click](javascript:alert(1))", "\\[click\\]\\(javascript\\:alert\\(1\\)\\)"),
        ("[click](data:text/html,x)", "click"),
        ("<img src=x onerror=alert(2)>", "\\<img src=x onerror=alert\\(2\\)\\>"),
        ("<https://evil.example/>", f"https:{J}//evil.example/"),
        ("<https://digital.nhs.uk/a>", f"[https:{J}//digital.nhs.uk/a](https://digital.nhs.uk/a)"),
        ("[a][r]\n\n[r]: https://evil.example", f"\\[a\\]\\[r\\]\n\n\\[r\\]: https:{J}//evil.example"),  # noqa: E501
        ("# not a heading", "\\# not a heading"),
        ("    not code", "not code"),
    ],
)  # fmt: skip
def test_safe_markdown_subset(text: str, expected: str) -> None:
    assert safe_markdown(text, HOSTS) == expected


def test_safe_markdown_links_nothing_without_an_allow_list() -> None:
    assert safe_markdown("[MDC](https://www.england.nhs.uk/mdc/)") == "MDC"


# An inline link as safe_markdown writes it: an escaped label, then a plain destination.
LINK = re.compile(r"\[((?:\\.|[^\\\[\]])*)\]\(([^()\s]*)\)")


def links_in(markdown: str) -> list[str]:
    """Every inline link destination in `markdown` (outside code spans), as CommonMark
    would read them from the output of safe_markdown; fails on constructs that
    safe_markdown never writes (an unescaped `<`, `!`, or a bracket that is not a link)."""
    destinations: list[str] = []
    position = 0
    while position < len(markdown):
        char = markdown[position]
        if char == "\\":
            position += 2
            continue
        if char == "`":
            fence = re.match(r"`+", markdown[position:]).group(0)
            end = markdown.find(fence, position + len(fence))
            assert end != -1, f"unclosed code span in {markdown!r}"
            position = end + len(fence)
            continue
        assert char not in "<!]()", f"unescaped {char!r} at {position} in {markdown!r}"
        if char == "[":
            match = LINK.match(markdown, position)
            assert match, f"a bracket that is not a link at {position} in {markdown!r}"
            assert links_in(match.group(1)) == [], "a link inside a link label"
            destinations.append(match.group(2))
            position = match.end()
            continue
        position += 1
    return destinations


def outside_links_and_code(markdown: str) -> str:
    without_links = LINK.sub(" ", markdown)
    return re.sub(r"(`+).*?\1", " ", without_links)


@given(hostile_text, st.sampled_from([(), HOSTS, ("digital.nhs.uk",)]))
@settings(max_examples=EXAMPLES, deadline=None)
def test_safe_markdown_never_links_elsewhere(text: str, hosts: tuple[str, ...]) -> None:
    shown = safe_markdown(text, hosts)
    for destination in links_in(shown):
        url = urllib.parse.urlsplit(destination.replace("\\&", "&"))
        assert url.scheme == "https", destination
        assert url.hostname in hosts and url.netloc == url.hostname, destination
        assert "\\" not in destination.replace("\\&", ""), destination
    # No reference definition, image, raw HTML or bare URL to another host survives.
    assert not re.search(r"^\s*\[[^\]]*\]:", shown, re.MULTILINE)
    outside = outside_links_and_code(shown)
    assert [p for p in unescaped(outside, "&") if ENTITY.match(outside, p)] == [], shown
    plain_text = text_runs(outside)
    assert not AUTOLINK_URL.search(plain_text), plain_text
    assert not AUTOLINK_EMAIL.search(plain_text), plain_text
    for line in shown.split("\n"):
        assert not re.match(r"\s*([+=>#]|\d+[.)]|\*\s|-(?!\s))", line), line


@given(st.text(max_size=80))
@settings(max_examples=EXAMPLES, deadline=None)
def test_allowed_url_is_https_on_an_allowed_host(url: str) -> None:
    rebuilt = allowed_url(url, HOSTS)
    if rebuilt is not None:
        parts = urllib.parse.urlsplit(rebuilt.replace("\\&", "&"))
        assert parts.scheme == "https" and parts.netloc in HOSTS


# ------------------------------------------------------------------------- one way to do it


def test_pages_escape_through_the_one_function() -> None:
    """No page or UI module keeps an escaping function of its own (there used to be two):
    components.plain is the short name pages use, and it is plain_markdown."""
    from metrics.ui import components

    assert components.plain("[x](y) www.a.b") == plain_markdown("[x](y) www.a.b")
    modules = [*(ROOT / "pages").glob("*.py"), *(ROOT / "metrics" / "ui").glob("*.py")]
    own = [
        path.name
        for path in modules
        if path.name != "components.py"
        and re.search(r"^def plain\(", path.read_text(encoding="utf-8"), re.MULTILINE)
    ]
    assert own == [], f"modules with their own Markdown escaping: {own}"


def test_board_link_hosts_are_host_names() -> None:
    assert BoardFile(link_hosts=["digital.nhs.uk"]).link_hosts == ["digital.nhs.uk"]
    assert BoardFile().link_hosts == []
    for bad in ["https://digital.nhs.uk", "digital.nhs.uk/path", "evil", "*.nhs.uk", ""]:
        with pytest.raises(ValidationError):
            BoardFile(link_hosts=[bad])
