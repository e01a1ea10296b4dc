"""A minimal OTLP/HTTP receiver for tests/tests/otel.rs.

No OpenTelemetry collector is published on a registry this project's CI reaches (PyPI, npm,
crates.io, Debian), so the test decodes exports with OpenTelemetry's own protobuf types
(PyPI `opentelemetry-proto`). It accepts POST /v1/traces and /v1/logs (protobuf), and writes
one JSON line per export to standard output: the signal, the decoded message, and the raw body
(base64) so that the test can search the bytes as sent. It prints `listening PORT` first.
"""

import base64
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

SIGNALS = {
    "/v1/traces": ("traces", ExportTraceServiceRequest, ExportTraceServiceResponse),
    "/v1/logs": ("logs", ExportLogsServiceRequest, ExportLogsServiceResponse),
}


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        signal = SIGNALS.get(self.path)
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        if signal is None or self.headers.get("Content-Type") != "application/x-protobuf":
            self.send_response(404)
            self.end_headers()
            return
        name, request_type, response_type = signal
        request = request_type()
        request.ParseFromString(body)
        line = {
            "signal": name,
            "message": MessageToDict(request),
            "raw": base64.b64encode(body).decode(),
            "headers": {k.lower(): v for k, v in self.headers.items()},
        }
        sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()
        reply = response_type().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(f"listening {server.server_address[1]}", flush=True)
server.serve_forever()
