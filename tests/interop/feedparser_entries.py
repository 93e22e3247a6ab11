#!/usr/bin/env python3
"""What Python feedparser (PyPI, installed by `.ci/run`) reads from feed
files: the independent reading `tests/messy.rs` compares feedloom's with.

Usage: feedparser_entries.py FILE...

Prints one JSON object keyed by the path as given; per file:
  bozo            feedparser's flag: the document was not well-formed XML
  bozo_exception  its message, or null
  version         the format feedparser detected ("rss20", "atom10", ...)
  entries         per entry: title (the text a person sees: markup of an
                  html/xhtml title removed, entities decoded), link, id,
                  published and updated (ISO 8601 UTC, or null)

Each file is handed over as bytes, so feedparser sniffs its encoding from
the bytes alone (no HTTP headers), as feedloom is asked to in the test.
"""

import html
import html.parser
import json
import sys
import time

try:
    import feedparser
except ImportError:
    sys.stderr.write(
        "feedparser is not installed: "
        "python3 -m pip install 'feedparser==6.0.11' (.ci/run does)\n"
    )
    sys.exit(3)


class _Text(html.parser.HTMLParser):
    """The text of an HTML fragment, tags dropped."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts = []

    def handle_data(self, data):
        self.parts.append(data)


def visible(detail, value):
    """What a person sees of a text construct: feedparser keeps an html
    title's markup (`<b>v2.4</b>`); a reader shows its text."""
    if value is None:
        return None
    kind = (detail or {}).get("type", "")
    if kind in ("text/html", "application/xhtml+xml"):
        parser = _Text()
        parser.feed(value)
        parser.close()
        return html.unescape("".join(parser.parts))
    return value


def iso(parsed):
    if not parsed:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", parsed)


def read(path):
    with open(path, "rb") as f:
        data = f.read()
    d = feedparser.parse(data)
    exc = d.get("bozo_exception")
    return {
        "bozo": bool(d.get("bozo")),
        "bozo_exception": str(exc) if exc is not None else None,
        "version": d.get("version", ""),
        "entries": [
            {
                "title": visible(e.get("title_detail"), e.get("title")),
                "link": e.get("link"),
                "id": e.get("id"),
                "published": iso(e.get("published_parsed")),
                "updated": iso(e.get("updated_parsed")),
            }
            for e in d.entries
        ],
    }


def main(paths):
    json.dump({p: read(p) for p in paths}, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1:])
