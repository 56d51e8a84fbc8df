"""HTML bodies to plain text, the way a reader sees them (lexbor through selectolax).

Block elements become line breaks, and quoted replies (<blockquote>) become "> "
lines, as a plain-text client would show them, so that the quote splitter reads
HTML and plain-text mail alike.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser

_BLOCKS = "p, div, br, tr, li, h1, h2, h3, h4, h5, h6, blockquote, hr, table, pre"
_BLANKS = re.compile(r"\n[ \t\xa0]*\n(?:[ \t\xa0]*\n)+")
_LINE_EDGES = re.compile(r" ?\n ?")
_SPACES = re.compile(r"[ \t\xa0\u200b\u200e\u200f]+")


def html_to_text(html: str) -> str:
    tree = LexborHTMLParser(html)
    for node in tree.css("script, style, head, title"):
        node.decompose()
    # A link's target is text the reader can see by hovering: keep the addresses and
    # profiles that a name links to ("email <a href=mailto:...>Paul Kim</a>").
    for node in tree.css('a[href^="mailto:"], a[href*="linkedin."]'):
        href = (node.attributes.get("href") or "").strip()
        target = href[7:].split("?", 1)[0] if href.lower().startswith("mailto:") else href
        if target and target.lower() not in node.text(deep=True).lower():
            node.insert_after(f" <{target}>" if "@" in target and "/" not in target else f" ({target})")
    for node in tree.css(_BLOCKS):  # one pass over the tree for all block tags
        node.insert_before("\n")
        if node.tag != "br":
            node.insert_after("\n")
    # Innermost first, so that a quote inside a quote gets "> > ".
    for node in reversed(tree.css("blockquote")):
        inner = node.text(separator="", deep=True).strip("\n")
        node.replace_with("\n" + "\n".join(f"> {line}" for line in inner.split("\n")) + "\n")
    root = tree.body or tree.root
    if root is None:
        return ""
    text = root.text(separator="", deep=True)
    # Whole-text substitutions: a regex call a line costs more than the HTML parse.
    text = _LINE_EDGES.sub("\n", _SPACES.sub(" ", text))
    return _BLANKS.sub("\n\n", text).strip()
