"""An independent WebSub subscriber for tests/websub.rs: the subscriber of
the `flask-websub` package (PyPI), run on loopback.

    python3 flask_websub_subscriber.py FEED_URL PORT EVENTS_FILE

It discovers the hub and topic from FEED_URL (the Link headers and the
feed's own links), subscribes through flask-websub, and appends one JSON
line to EVENTS_FILE per event: {"event": "success", "mode": ...},
{"event": "error", "reason": ...}, {"event": "notification", "body": ...}.
It runs until killed.
"""

import json
import sys
import tempfile
import threading

from flask import Flask
from flask_websub.subscriber import (
    SQLite3SubscriberStorage,
    SQLite3TempSubscriberStorage,
    Subscriber,
    discover,
)

feed_url, port, events_file = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lock = threading.Lock()


def record(**event):
    with lock, open(events_file, "a") as f:
        f.write(json.dumps(event) + "\n")


db = tempfile.mktemp(suffix=".sqlite3")
app = Flask(__name__)
app.config["SERVER_NAME"] = f"127.0.0.1:{port}"
subscriber = Subscriber(SQLite3SubscriberStorage(db), SQLite3TempSubscriberStorage(db))
app.register_blueprint(subscriber.build_blueprint(url_prefix="/callbacks"))
subscriber.add_success_handler(
    lambda topic, callback, mode: record(event="success", topic=topic, mode=mode)
)
subscriber.add_error_handler(
    lambda topic, callback, reason: record(event="error", topic=topic, reason=str(reason))
)
subscriber.add_listener(
    lambda topic, callback, body: record(
        event="notification", topic=topic, body=body.decode("utf-8", "replace")
    )
)

server = threading.Thread(
    target=lambda: app.run(host="127.0.0.1", port=port, threaded=True, use_reloader=False),
    daemon=True,
)
server.start()

with app.app_context():
    found = discover(feed_url)
    record(event="discovered", **found)
    subscriber.subscribe(**found)

server.join()
