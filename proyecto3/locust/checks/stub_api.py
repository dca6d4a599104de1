"""A stand-in for the api, for the Locust checks: POST /tweets answers 202 like the real api
when the body is the statement's JSON (400 otherwise), counts what it accepted per municipality
and weather, and serves the counts at GET /counts."""

import json
import sys
import threading
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MUNIS = {"mixco", "guatemala", "amatitlan", "chinautla"}
WEATHERS = {"sunny", "cloudy", "rainy", "foggy"}
lock = threading.Lock()
counts = Counter()


def valid(b):
    return (isinstance(b, dict) and set(b) == {"municipality", "temperature", "humidity", "weather"}
            and b["municipality"] in MUNIS and b["weather"] in WEATHERS
            and type(b["temperature"]) is int and -50 <= b["temperature"] <= 60
            and type(b["humidity"]) is int and 0 <= b["humidity"] <= 100)


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, code, obj):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path != "/tweets" or self.headers.get("Content-Type", "").split(";")[0] != "application/json":
            return self.reply(415, {"error": "content type"})
        try:
            b = json.loads(body)
        except ValueError:
            return self.reply(400, {"error": "json"})
        if not valid(b):
            return self.reply(400, {"error": "invalid", "body": b})
        with lock:
            counts["total"] += 1
            counts["m:" + b["municipality"]] += 1
            counts["w:" + b["weather"]] += 1
        self.reply(202, {"status": "accepted", "id": str(uuid.uuid4())})

    def do_GET(self):
        with lock:
            self.reply(200, dict(counts))


if __name__ == "__main__":
    ThreadingHTTPServer.request_queue_size = 256  # no SYN retries (1 s stalls) under 10 users
    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    srv.daemon_threads = True
    print(srv.server_address[1], flush=True)
    sys.stdout.close()
    srv.serve_forever()
