"""A local upstream for the memory and disk benchmarks (ingest.sh, churn.sh).

    python3 benches/rss_upstream.py PORT ITEMS [ROUND_FILE]

/feed/N answers an RSS feed of ITEMS items, each with about 1 KB of text.
With ROUND_FILE, the round written in it is part of every item's link and
title, so each round brings new entries (churn).
"""
import http.server
import socketserver
import sys

PORT, ITEMS = int(sys.argv[1]), int(sys.argv[2])
ROUND_FILE = sys.argv[3] if len(sys.argv) > 3 else None
WORDS = "model training data language vision agent reward policy token layer".split()


def text(n, i):
    return " ".join(WORDS[(n * 7 + i * 3 + k) % len(WORDS)] + str((n + k) % 97) for k in range(140))[:1000]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        n = int(self.path.rsplit("/", 1)[1])
        r = open(ROUND_FILE).read().strip() + "/" if ROUND_FILE else ""
        items = "".join(
            f"<item><title>{r}Feed {n} item {i}: {text(n, i)[:60]}</title>"
            f"<link>https://example.org/{r}{n}/{i}</link><description>{text(n, i)}</description>"
            f"<pubDate>Wed, 07 Oct 2026 {i % 24:02d}:{i % 60:02d}:00 GMT</pubDate></item>"
            for i in range(ITEMS)
        )
        body = (
            '<?xml version="1.0"?><rss version="2.0"><channel><title>f</title>'
            f"<link>https://example.org/</link><description>d</description>{items}</channel></rss>"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


Server(("127.0.0.1", PORT), Handler).serve_forever()
