"""Local stand-ins for the mail relay and Alibaba Cloud SMS, run in a child process.

Used by bench/escalation.py: `python bench/_providers.py` starts

- an SMTP server (aiosmtpd) that accepts every message and notes its Message-ID, and
- an HTTP server speaking Alibaba's SendSms RPC API (version 2017-05-25) that checks every
  request as the POP gateway does: the fixed parameters, the HMAC-SHA1 signature (computed
  here independently, from Alibaba's documented recipe), a Timestamp within 15 minutes of
  now, a SignatureNonce never seen before and a mobile number; it notes each OutId.

Both run on free loopback ports in this process, away from the benchmark's GIL: the real
providers are remote too. Protocol on stdin/stdout, one JSON document a line: the first line
out is {"smtp": port, "sms": port}; then "collect" answers with everything received since
the last collect ({"smtp": [[message_id, rcpt, t]], "sms": [[out_id, phone, t]],
"rejected": [...]}, t = time.time() on arrival); "stop" (or end of input) shuts down.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
import urllib.parse
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from plugins.sms_notify.testing import fixed_params, reference_signature

KEY_ID = "LTAI-bench-key"
SECRET = "bench-secret/with+odd*chars"
SIGN = "铭升科技"
REQUIRED = fixed_params(KEY_ID, SIGN)
CLOCK_SKEW_S = 15 * 60  # Alibaba refuses a Timestamp further off than this


class Log:
    """What the servers received, shared by their threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.smtp: list[list[Any]] = []
        self.sms: list[list[Any]] = []
        self.rejected: list[str] = []
        self.nonces: set[str] = set()

    def collect(self) -> dict[str, Any]:
        with self.lock:
            out = {"smtp": self.smtp, "sms": self.sms, "rejected": self.rejected}
            self.smtp, self.sms, self.rejected = [], [], []
            return out


LOG = Log()


# --- SMTP ----------------------------------------------------------------------------------------


class Mailbox:
    """aiosmtpd handler: accept everything, keep the Message-ID and arrival time."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        headers = BytesHeaderParser().parsebytes(envelope.content)
        arrived = time.time()
        with LOG.lock:
            LOG.smtp.append([str(headers["Message-ID"]), ",".join(envelope.rcpt_tos), arrived])
        return "250 2.0.0 Ok: queued"


# --- Alibaba SendSms -------------------------------------------------------------------------


def problem(params: dict[str, str]) -> tuple[str, str] | None:
    for name, value in REQUIRED.items():
        if params.get(name) != value:
            return "MissingParameter", f"{name} is {params.get(name)!r}"
    for name in ("SignatureNonce", "Timestamp", "PhoneNumbers", "TemplateCode", "Signature"):
        if not params.get(name):
            return "MissingParameter", name
    try:
        stamp = datetime.strptime(params["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return "InvalidTimeStamp.Format", params["Timestamp"]
    if abs(time.time() - stamp.timestamp()) > CLOCK_SKEW_S:
        return "InvalidTimeStamp.Expired", params["Timestamp"]
    unsigned = {k: v for k, v in params.items() if k != "Signature"}
    if reference_signature(unsigned, SECRET) != params["Signature"]:
        return "SignatureDoesNotMatch", "Specified signature is not matched"
    phone = params["PhoneNumbers"]
    if not (phone.isdigit() and 8 <= len(phone) <= 15):
        return "isv.MOBILE_NUMBER_ILLEGAL", phone
    try:
        variables = json.loads(params.get("TemplateParam", ""))
    except ValueError:
        return "isv.INVALID_JSON_PARAM", "TemplateParam"
    if not isinstance(variables, dict):
        return "isv.INVALID_JSON_PARAM", "TemplateParam"
    return None


class SmsHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive for a client that reuses its connection
    # headers and body go out as two writes: without TCP_NODELAY a keep-alive client waits
    # for the delayed ACK (40 ms) before it sees the body
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        query = urllib.parse.urlsplit(self.path).query
        params = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
        found = problem(params)
        with LOG.lock:
            if found is None and params["SignatureNonce"] in LOG.nonces:
                found = ("SignatureNonceUsed", "nonce used")
            if found is None:
                LOG.nonces.add(params["SignatureNonce"])
                LOG.sms.append([params.get("OutId", ""), params["PhoneNumbers"], time.time()])
            else:
                LOG.rejected.append(f"{found[0]}: {found[1]} (OutId {params.get('OutId')})")
        if found is None:
            status, body = 200, {"Code": "OK", "Message": "OK", "BizId": "9006^1", "RequestId": "R"}
        else:
            status, body = 400, {"Code": found[0], "Message": found[1], "RequestId": "R"}
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


class SmsServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


def main() -> int:
    with socket.socket() as probe:  # aiosmtpd checks readiness by connecting: no port 0
        probe.bind(("127.0.0.1", 0))
        smtp_port = probe.getsockname()[1]
    controller = Controller(Mailbox(), hostname="127.0.0.1", port=smtp_port)
    controller.start()
    sms = SmsServer(("127.0.0.1", 0), SmsHandler)
    thread = threading.Thread(target=sms.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    print(json.dumps({"smtp": smtp_port, "sms": sms.server_address[1]}), flush=True)
    try:
        for line in sys.stdin:
            command = line.strip()
            if command == "collect":
                print(json.dumps(LOG.collect(), ensure_ascii=False), flush=True)
            elif command == "stop":
                break
    finally:
        sms.shutdown()
        sms.server_close()
        controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
