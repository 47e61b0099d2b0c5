"""Text from outside the code (configuration, data, the URL) made safe for Markdown.

Streamlit renders almost every string it is given as Markdown: st.markdown and st.caption,
titles and headers, alerts, and also widget labels, radio options, tab and expander
labels, st.metric labels and help tooltips. A title such as
``[Session expired](https://evil.example/login)`` would be drawn as a link there, and
``![p](https://evil.example/t.png)`` would make the browser fetch a picture from another
host. So text that comes from outside goes through one of two functions, and nothing
else:

* `plain_markdown` for names and labels (titles, units, owners, group names, anything
  echoed from the URL): every Markdown character is escaped, so the text reads exactly as
  written and nothing in it is interpreted;
* `safe_markdown` for descriptions an analyst may want to format: a small subset (bold,
  italic, inline code, paragraphs, bullet lists, and links only to https URLs on hosts
  the board's configuration allows, ``link_hosts`` in board.yaml). Everything else is
  shown as text: images become their alt text, raw HTML and reference-style links are
  shown literally, and links to other hosts lose their URL.

Backslash escapes are not enough on their own. Streamlit's renderer turns bare URLs
(``https://...``, ``www....``, ``name@host.tld``) and shortcodes (``:name:``) into links,
icons or pictures *after* escapes are resolved, by matching the text itself (GFM
autolink literals and its own plugins). An invisible word joiner (U+2060) is put inside
each such pattern: the text reads the same, and screen readers ignore it, but the
pattern no longer matches.

This module does not import Streamlit, so it can be tested (and used by exports) alone.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable

WORD_JOINER = "\u2060"

# Characters that mean something to Markdown wherever they stand: emphasis, code, links
# and images, raw HTML, tables, strikethrough, maths ($) and attribute braces. Escaped
# with a backslash, each is shown literally (CommonMark lets any ASCII punctuation be
# escaped). Others matter only in one place, handled below; the rest (. , / - ' " ? % @)
# are left alone, so the Markdown stays readable (as AppTest and screen readers see it).
_ALWAYS = re.compile(r"([\\`*_{}\[\]()<>!|~$#])")
# At the start of a line: list items (- + 1. 1)), setext underlines (=== ---), thematic
# breaks and headings (# is escaped everywhere anyway).
_LINE_START = re.compile(r"^([ \t]*)([-+=])", re.MULTILINE)
_ORDERED_ITEM = re.compile(r"^([ \t]*\d+)([.)])", re.MULTILINE)
# A character reference (&lt; &#60; &#x3c;) would be decoded; a bare & is harmless.
_ENTITY = re.compile(r"&(?=#[0-9]+;|#[xX][0-9a-fA-F]+;|[A-Za-z][A-Za-z0-9]*;)")
# Streamlit's directives (:red[...], :small, :help, ::leaf, :::container) start with a
# colon and a letter.
_DIRECTIVE = re.compile(r":(?=[A-Za-z])")

# Patterns matched in text after escapes are resolved (see the module docstring), each
# broken by a word joiner at the marked position.
_AUTOLINK_BREAKS = (
    re.compile(r"(?<=:)(?=//)"),  # scheme://  (https://, HTTP://, ftp://)
    re.compile(r"(?i)(?<=www)(?=\.)"),  # www.host
    re.compile(r"(?<=@)(?=[-\w])"),  # name@host.tld (mailto: links)
    re.compile(r"(?<=:)(?=[\w+-]+:)"),  # :shortcode: (emoji, :streamlit:, :material_x:)
)


def _break_autolinks(text: str) -> str:
    for pattern in _AUTOLINK_BREAKS:
        text = pattern.sub(WORD_JOINER, text)
    return text


def _escape(text: str) -> str:
    text = _ALWAYS.sub(r"\\\1", text)
    text = _ENTITY.sub(r"\\&", text)
    text = _DIRECTIVE.sub(r"\\:", text)
    text = _LINE_START.sub(r"\1\\\2", text)
    return _ORDERED_ITEM.sub(r"\1\\\2", text)


def plain_markdown(text: object) -> str:
    """`text` as Markdown that shows it literally: nothing in it is interpreted.

    Use it for anything shown as a name or label that did not come from this code:
    titles, units, owners, codes, group and provider names, slide headlines, values
    echoed from the URL. (Where a plain-text element such as st.text is used, or a value
    is shown in a data grid or a select box's options, no escaping is needed.)
    """
    normalised = str(text).replace("\r\n", "\n").replace("\r", "\n")
    return _escape(_break_autolinks(normalised))


# ----------------------------------------------------------------------------- subset

_BULLET = re.compile(r"[-*+][ \t]+(\S.*)")
_BLANK_LINE = re.compile(r"\n[ \t]*\n")

# One inline construct of the subset, leftmost first; the text between matches is plain.
_INLINE = re.compile(
    # inline code: a backtick run, then the same run closing it
    r"(?<!`)(?P<fence>`+)(?!`)(?P<code>.+?)(?<!`)(?P=fence)(?!`)"
    # an image: shown as its alt text
    r"|!\[(?P<alt>[^\[\]\n]*)\]\((?P<image_url>[^()\s]*)(?:\s+\"[^\"\n]*\")?\)"
    # an inline link (a title in quotes is dropped)
    r"|\[(?P<label>[^\[\]\n]+)\]\((?P<url><[^<>\n]*>|[^()\s]+)(?:\s+\"[^\"\n]*\")?\)"
    # an autolink in angle brackets, and a bare URL (trailing punctuation left out)
    r"|<(?P<angle>https?://[^<>\s]+)>"
    r"|(?<![\w/])(?P<bare>https?://[^\s<>]*[^\s<>.,;:!?'\")\]*_])"
    # strong, then emphasis, with * or _ (as CommonMark: no space just inside)
    r"|\*\*(?=\S)(?P<strong>.+?)(?<=\S)\*\*"
    r"|(?<!\w)__(?=\S)(?P<strong_>.+?)(?<=\S)__(?!\w)"
    r"|\*(?=[^\s*])(?P<em>.+?)(?<=[^\s*])\*"
    r"|(?<!\w)_(?=[^\s_])(?P<em_>.+?)(?<=[^\s_])_(?!\w)"
)

# Characters kept as they are in a link's path, query and fragment; anything else (spaces,
# brackets, backslashes, quotes, angle brackets) is percent-encoded.
_URL_SAFE = "/?=&#%:@!$'*+,;~-._"
_HOST = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+")


def normalise_hosts(hosts: Iterable[str]) -> frozenset[str]:
    """Host names as they are compared: lower case, without a trailing dot."""
    return frozenset(h.strip().lower().rstrip(".") for h in hosts if h and h.strip())


def allowed_url(url: str, allowed_hosts: Iterable[str]) -> str | None:
    """`url` rebuilt for a Markdown link if it is https on an allowed host, else None.

    Refused: other schemes (http, javascript:, data:, mailto:, relative links), user
    names or passwords (``https://allowed.example@evil.example``), ports other than 443,
    backslashes and control characters. The result is rebuilt from the parsed host, so
    nothing Markdown decodes later (escapes, entities) can move it to another host.
    """
    hosts = normalise_hosts(allowed_hosts)
    url = url.strip()
    if url.startswith("<") and url.endswith(">"):
        url = url[1:-1].strip()
    if not url or "\\" in url or not url.isprintable() or " " in url:
        return None
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() != "https" or parts.username is not None or parts.password:
        return None
    if port not in (None, 443) or "@" in parts.netloc:
        return None
    host = (parts.hostname or "").rstrip(".")
    if not _HOST.fullmatch(host) or host not in hosts:
        return None
    path = urllib.parse.quote(parts.path or "/", safe=_URL_SAFE)
    query = urllib.parse.quote(parts.query, safe=_URL_SAFE)
    fragment = urllib.parse.quote(parts.fragment, safe=_URL_SAFE)
    rebuilt = urllib.parse.urlunsplit(("https", host, path, query, fragment))
    # `&` is escaped so that no character reference (`&sol;`) is decoded in the URL.
    return rebuilt.replace("&", "\\&")


def _code_span(code: str) -> str:
    """Inline code, fenced by a longer backtick run than any inside it."""
    longest = max((len(run) for run in re.findall(r"`+", code)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if code.startswith(("`", " ")) or code.endswith(("`", " ")) else ""
    return f"{fence}{pad}{code}{pad}{fence}"


def _inline(text: str, hosts: frozenset[str]) -> str:
    """One paragraph or list item: the subset's constructs kept, everything else escaped."""
    out: list[str] = []
    # Text shown as text (including images' alt text and refused links' words) is gathered
    # and escaped in one piece: the renderer sees adjacent text as one, so a pattern such
    # as `www.` could otherwise straddle two escaped pieces and be linked after all.
    words: list[str] = []

    def emit(markdown: str) -> None:
        out.append(plain_markdown("".join(words)))
        words.clear()
        out.append(markdown)

    def link(label: str, url: str) -> None:
        target = allowed_url(url, hosts)
        if target is None:
            words.append(label)
        else:
            emit(f"[{plain_markdown(label)}]({target})")

    position = 0
    for match in _INLINE.finditer(text):
        words.append(text[position : match.start()])
        position = match.end()
        if match.group("code") is not None:
            emit(_code_span(match.group("code")))
        elif match.group("alt") is not None:
            words.append(match.group("alt"))
        elif match.group("label") is not None:
            link(match.group("label"), match.group("url"))
        elif match.group("angle") is not None:
            link(match.group("angle"), match.group("angle"))
        elif match.group("bare") is not None:
            link(match.group("bare"), match.group("bare"))
        elif match.lastgroup in ("strong", "strong_"):
            emit(f"**{_inline(match.group(match.lastgroup), hosts)}**")
        else:  # emphasis, with * or _
            emit(f"*{_inline(match.group(match.lastgroup or 'em'), hosts)}*")
    words.append(text[position:])
    emit("")
    return "".join(out)


def safe_markdown(text: object, allowed_hosts: Iterable[str] = ()) -> str:
    """`text` in a safe subset of Markdown: bold, italic, inline code, paragraphs, bullet
    lists, and links whose URL is https on one of `allowed_hosts`.

    Everything else is shown as text: images become their alt text, links elsewhere
    become their words, raw HTML, headings, quotes, tables and reference-style links are
    shown literally, and bare URLs to other hosts are not linked. Use it for descriptions
    in configuration (metric descriptions and caveats, outcome and domain descriptions).
    """
    hosts = normalise_hosts(allowed_hosts)
    normalised = str(text).replace("\r\n", "\n").replace("\r", "\n")
    blocks: list[str] = []
    for block in _BLANK_LINE.split(normalised):
        # Lines are stripped (an indented line would otherwise be a code block) and a
        # paragraph's lines joined: Markdown shows a single line break as a space anyway.
        paragraph: list[str] = []
        items: list[list[str]] = []
        parts: list[str] = []
        for raw in block.split("\n"):
            line = raw.strip()
            if not line:
                continue
            bullet = _BULLET.fullmatch(line)
            if bullet:
                if paragraph:
                    parts.append(_inline(" ".join(paragraph), hosts))
                    paragraph = []
                items.append([bullet.group(1)])
            elif items:
                items[-1].append(line)  # a continuation of the list item above
            else:
                paragraph.append(line)
        if paragraph:
            parts.append(_inline(" ".join(paragraph), hosts))
        if items:
            parts.append("\n".join("- " + _inline(" ".join(item), hosts) for item in items))
        blocks.extend(parts)
    return "\n\n".join(blocks)


# A value from a URL is echoed back only if it reads like a name; anything else (a
# sentence, a URL, markup) could be someone else's message dressed up as the site's.
_NAME_LIKE = re.compile(r"\w[\w .'/-]{0,59}")


def looks_like_a_name(value: str) -> bool:
    """Whether `value` (from a URL) reads like a name and may be echoed, as plain text."""
    return bool(_NAME_LIKE.fullmatch(value))
