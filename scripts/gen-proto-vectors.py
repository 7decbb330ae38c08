#!/usr/bin/env python3
"""Writes test/fixtures/proto-vectors/{uwsgi,scgi,fastcgi}.json: golden byte vectors for the
decoders of src/cgi/, with the events each must give.

Written in Python on purpose: the bytes and the expected events come from a second, independent
reading of the three specifications (and from real nginx bytes in captures/), so a mistake in
the TypeScript decoders cannot make its own expectations. Standard library only.

    python3 scripts/gen-proto-vectors.py

Regenerate only when a vector is added or a specification reading changes; the tests read
the JSON, never this script.
"""

import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "test", "fixtures", "proto-vectors")
CAPTURES = os.path.join(OUT, "captures")


def capture(name):
    with open(os.path.join(CAPTURES, name), "rb") as f:
        return f.read()


def pairs_of(params):
    return [[k, v] for k, v in params]


def head(params, keep_conn=False):
    return {"type": "head", "params": pairs_of(params), "keepConn": keep_conn}


def body(data):
    return {"type": "body", "hex": data.hex()}


END = {"type": "end"}
ABORT = {"type": "abort"}


def reply(data):
    return {"type": "reply", "hex": data.hex()}


def latin1(text):
    return text.encode("latin-1")


# ── uwsgi ────────────────────────────────────────────────────────────────────


def uwsgi_vars(params):
    out = b""
    for k, v in params:
        kb, vb = latin1(k), latin1(v)
        out += struct.pack("<H", len(kb)) + kb + struct.pack("<H", len(vb)) + vb
    return out


def uwsgi_packet(params, modifier1=0, modifier2=0, raw_vars=None):
    block = uwsgi_vars(params) if raw_vars is None else raw_vars
    return struct.pack("<BHB", modifier1, len(block), modifier2) + block


def uwsgi_parse(data):
    """The independent reading: header, variables, the rest is the body."""
    size = struct.unpack("<H", data[1:3])[0]
    at, end, params = 4, 4 + size, []
    while at < end:
        (n,) = struct.unpack("<H", data[at : at + 2])
        key = data[at + 2 : at + 2 + n].decode("latin-1")
        at += 2 + n
        (n,) = struct.unpack("<H", data[at : at + 2])
        params.append((key, data[at + 2 : at + 2 + n].decode("latin-1")))
        at += 2 + n
    return params, data[end:]


def captured_events(params, rest):
    events = [head(params)]
    if rest:
        events.append(body(rest))
    events.append(END)
    return events


GET = [("REQUEST_METHOD", "GET"), ("REQUEST_URI", "/"), ("SERVER_PROTOCOL", "HTTP/1.1")]
POST5 = [("REQUEST_METHOD", "POST"), ("REQUEST_URI", "/up"), ("CONTENT_LENGTH", "5")]


def uwsgi_vectors():
    vectors = []
    for name, title in [
        ("uwsgi-get.bin", "nginx: GET with a query, a UTF-8 path and two Cookie headers"),
        ("uwsgi-post.bin", "nginx: POST of 5 bytes"),
        ("uwsgi-chunked.bin", "nginx: a chunked upload, de-chunked by nginx with CONTENT_LENGTH set"),
    ]:
        data = capture(name)
        params, rest = uwsgi_parse(data)
        vectors.append({"name": title, "source": f"captures/{name}", "hex": data.hex(), "events": captured_events(params, rest)})
    vectors += [
        {"name": "modifier1 30 (manage PATH_INFO) is read as a WSGI request", "hex": uwsgi_packet(GET, modifier1=30).hex(), "events": [head(GET), END]},
        {"name": "modifier2 is ignored", "hex": uwsgi_packet(GET, modifier2=7).hex(), "events": [head(GET), END]},
        {"name": "no variables at all", "hex": uwsgi_packet([]).hex(), "events": [head([]), END]},
        {"name": "an empty CONTENT_LENGTH means no body", "hex": uwsgi_packet(GET + [("CONTENT_LENGTH", "")]).hex(), "events": [head(GET + [("CONTENT_LENGTH", "")]), END]},
        {"name": "a body of CONTENT_LENGTH bytes", "hex": (uwsgi_packet(POST5) + b"hello").hex(), "events": [head(POST5), body(b"hello"), END]},
        {"name": "a value of 300 bytes and latin-1 bytes", "hex": uwsgi_packet(GET + [("HTTP_X_LONG", "\xe9" * 300)]).hex(), "events": [head(GET + [("HTTP_X_LONG", "\xe9" * 300)]), END]},
        {"name": "modifier1 5 (PSGI) is refused", "hex": uwsgi_packet(GET, modifier1=5).hex(), "events": [], "error": "CASK_CGI_PROTOCOL"},
        {"name": "a variable cut short inside the block", "hex": uwsgi_packet([], raw_vars=b"\x0e\x00REQUEST_METHOD\x03").hex(), "events": [], "error": "CASK_CGI_PROTOCOL"},
        {"name": "a variable with an empty name", "hex": uwsgi_packet([], raw_vars=b"\x00\x00\x01\x00x").hex(), "events": [], "error": "CASK_CGI_PROTOCOL"},
        {"name": "CONTENT_LENGTH that is not digits", "hex": uwsgi_packet(GET + [("CONTENT_LENGTH", "5x")]).hex(), "events": [], "error": "CASK_CGI_PROTOCOL"},
        {"name": "bytes after the body", "hex": (uwsgi_packet(POST5) + b"hello!").hex(), "events": [head(POST5), body(b"hello"), END], "error": "CASK_CGI_PROTOCOL"},
        {"name": "variables larger than the limit", "limits": {"maxHeadBytes": 32, "maxParams": 100}, "hex": uwsgi_packet(GET).hex(), "events": [], "error": "CASK_HTTP_HEADERS_TOO_LARGE"},
        {"name": "more variables than the limit", "limits": {"maxHeadBytes": 4096, "maxParams": 2}, "hex": uwsgi_packet(GET).hex(), "events": [], "error": "CASK_HTTP_HEADERS_TOO_LARGE"},
    ]
    return {"requests": vectors}


# ── SCGI ─────────────────────────────────────────────────────────────────────


def scgi_netstring(params):
    block = b"".join(latin1(k) + b"\0" + latin1(v) + b"\0" for k, v in params)
    return str(len(block)).encode() + b":" + block + b","


def scgi_parse(data):
    colon = data.index(b":")
    size = int(data[:colon])
    block = data[colon + 1 : colon + 1 + size]
    fields = block.split(b"\0")[:-1]
    params = [(fields[i].decode("latin-1"), fields[i + 1].decode("latin-1")) for i in range(0, len(fields), 2)]
    return params, data[colon + 2 + size :]


SCGI_GET = [("CONTENT_LENGTH", "0"), ("SCGI", "1")] + GET
SCGI_POST5 = [("CONTENT_LENGTH", "5"), ("SCGI", "1"), ("REQUEST_METHOD", "POST"), ("REQUEST_URI", "/up")]


def scgi_vectors():
    vectors = []
    for name, title in [
        ("scgi-get.bin", "nginx: GET with a query, a UTF-8 path and two Cookie headers"),
        ("scgi-post.bin", "nginx: POST of 5 bytes"),
        ("scgi-chunked.bin", "nginx: a chunked upload, de-chunked by nginx with CONTENT_LENGTH set"),
    ]:
        data = capture(name)
        params, rest = scgi_parse(data)
        vectors.append({"name": title, "source": f"captures/{name}", "hex": data.hex(), "events": captured_events(params, rest)})
    vectors += [
        {"name": "the smallest request", "hex": scgi_netstring(SCGI_GET).hex(), "events": [head(SCGI_GET), END]},
        {"name": "a body of CONTENT_LENGTH bytes", "hex": (scgi_netstring(SCGI_POST5) + b"hello").hex(), "events": [head(SCGI_POST5), body(b"hello"), END]},
        {"name": "an empty value", "hex": scgi_netstring(SCGI_GET + [("HTTP_X_EMPTY", "")]).hex(), "events": [head(SCGI_GET + [("HTTP_X_EMPTY", "")]), END]},
        {"name": "a length that is not digits", "hex": (b"x1:" + scgi_netstring(SCGI_GET)[3:]).hex(), "events": [], "error": "CASK_CGI_PROTOCOL"},
        {"name": "a netstring with no length", "hex": b":,".hex(), "events": [], "error": "CASK_CGI_PROTOCOL"},
        {"name": "a netstring not ended by a comma", "hex": (scgi_netstring(SCGI_GET)[:-1] + b";").hex(), "events": [], "error": "CASK_CGI_PROTOCOL"},
        {"name": "CONTENT_LENGTH is not the first variable", "hex": scgi_netstring([("SCGI", "1"), ("CONTENT_LENGTH", "0")]).hex(), "events": [], "error": "CASK_CGI_PROTOCOL"},
        {"name": "no SCGI variable", "hex": scgi_netstring([("CONTENT_LENGTH", "0"), ("REQUEST_METHOD", "GET")]).hex(), "events": [], "error": "CASK_CGI_PROTOCOL"},
        {"name": "SCGI is not 1", "hex": scgi_netstring([("CONTENT_LENGTH", "0"), ("SCGI", "2")]).hex(), "events": [], "error": "CASK_CGI_PROTOCOL"},
        {"name": "a value not followed by NUL", "hex": (b"23:" + b"CONTENT_LENGTH\x000\x00SCGI\x001" + b",").hex(), "events": [], "error": "CASK_CGI_PROTOCOL"},
        {"name": "bytes after the body", "hex": (scgi_netstring(SCGI_POST5) + b"hello!").hex(), "events": [head(SCGI_POST5), body(b"hello"), END], "error": "CASK_CGI_PROTOCOL"},
        {"name": "a length of ten digits", "hex": b"1234567890:".hex(), "events": [], "error": "CASK_HTTP_HEADERS_TOO_LARGE"},
        {"name": "variables larger than the limit", "limits": {"maxHeadBytes": 16, "maxParams": 100}, "hex": scgi_netstring(SCGI_GET).hex(), "events": [], "error": "CASK_HTTP_HEADERS_TOO_LARGE"},
        {"name": "more variables than the limit", "limits": {"maxHeadBytes": 4096, "maxParams": 2}, "hex": scgi_netstring(SCGI_GET).hex(), "events": [], "error": "CASK_HTTP_HEADERS_TOO_LARGE"},
    ]
    return {"requests": vectors}


# ── FastCGI ──────────────────────────────────────────────────────────────────

BEGIN, ABORT_REQUEST, END_REQUEST, PARAMS, STDIN, STDOUT = 1, 2, 3, 4, 5, 6
GET_VALUES, GET_VALUES_RESULT, UNKNOWN_TYPE = 9, 10, 11


def record(rtype, rid, content=b"", padding=0, version=1):
    return struct.pack(">BBHHBB", version, rtype, rid, len(content), padding, 0) + content + b"\0" * padding


def nv_length(n):
    return bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)


def nv_pairs(params):
    out = b""
    for k, v in params:
        kb, vb = latin1(k), latin1(v)
        out += nv_length(len(kb)) + nv_length(len(vb)) + kb + vb
    return out


def begin(rid, role=1, flags=0):
    return record(BEGIN, rid, struct.pack(">HB5x", role, flags))


def end_request(rid, app_status, protocol_status):
    return record(END_REQUEST, rid, struct.pack(">IB3x", app_status, protocol_status))


def fcgi_request(rid, params, data=b"", flags=0):
    out = begin(rid, flags=flags) + record(PARAMS, rid, nv_pairs(params)) + record(PARAMS, rid)
    if data:
        out += record(STDIN, rid, data)
    return out + record(STDIN, rid)


def fcgi_parse(data):
    """The independent reading of a capture: the events a responder sees, request by request."""
    events, at, params_buf = [], 0, b""
    keep = False
    while at < len(data):
        _, rtype, rid, length, padding, _ = struct.unpack(">BBHHBB", data[at : at + 8])
        content = data[at + 8 : at + 8 + length]
        at += 8 + length + padding
        if rtype == BEGIN:
            keep = bool(content[2] & 1)
            params_buf = b""
        elif rtype == PARAMS and content:
            params_buf += content
        elif rtype == PARAMS:
            params, i = [], 0

            def ln(i):
                if params_buf[i] < 128:
                    return params_buf[i], i + 1
                return struct.unpack(">I", params_buf[i : i + 4])[0] & 0x7FFFFFFF, i + 4

            while i < len(params_buf):
                kl, i = ln(i)
                vl, i = ln(i)
                params.append((params_buf[i : i + kl].decode("latin-1"), params_buf[i + kl : i + kl + vl].decode("latin-1")))
                i += kl + vl
            events.append(head(params, keep))
        elif rtype == STDIN and content:
            events.append(body(content))
        elif rtype == STDIN:
            events.append(END)
    return events


FCGI_GET = GET
FCGI_POST5 = POST5


def fastcgi_vectors():
    vectors = []
    for name, title in [
        ("fastcgi-keep-conn-get-post.bin", "nginx with fastcgi_keep_conn: a GET then a POST on one connection, padded records"),
        ("fastcgi-chunked.bin", "nginx: a chunked upload, de-chunked by nginx with CONTENT_LENGTH set"),
    ]:
        data = capture(name)
        vectors.append({"name": title, "source": f"captures/{name}", "hex": data.hex(), "events": fcgi_parse(data)})
    long_value = "v" * 200
    two_params = record(PARAMS, 1, nv_pairs(FCGI_GET[:2])) + record(PARAMS, 1, nv_pairs(FCGI_GET[2:]))
    vectors += [
        {"name": "a request without KEEP_CONN", "hex": fcgi_request(1, FCGI_GET).hex(), "events": [head(FCGI_GET), END]},
        {"name": "KEEP_CONN, a body, and request ids other than 1", "hex": (fcgi_request(7, FCGI_POST5, b"hello", flags=1) + fcgi_request(300, FCGI_GET, flags=1)).hex(), "events": [head(FCGI_POST5, True), body(b"hello"), END, head(FCGI_GET, True), END]},
        {"name": "params split across records, a 4-byte length, padding everywhere", "hex": (begin(1) + record(PARAMS, 1, nv_pairs(FCGI_GET + [("HTTP_X_LONG", long_value)])[:10], padding=6) + record(PARAMS, 1, nv_pairs(FCGI_GET + [("HTTP_X_LONG", long_value)])[10:], padding=3) + record(PARAMS, 1, padding=7) + record(STDIN, 1, b"abc", padding=5) + record(STDIN, 1, b"de") + record(STDIN, 1, padding=1)).hex(), "events": [head(FCGI_GET + [("HTTP_X_LONG", long_value)]), body(b"abcde"), END]},
        {"name": "GET_VALUES is answered on request id 0", "maxConnections": 500, "hex": record(GET_VALUES, 0, nv_pairs([("FCGI_MPXS_CONNS", ""), ("FCGI_MAX_CONNS", ""), ("FCGI_UNHEARD_OF", "")])).hex(), "events": [reply(record(GET_VALUES_RESULT, 0, nv_pairs([("FCGI_MPXS_CONNS", "0"), ("FCGI_MAX_CONNS", "500")])))]},
        {"name": "an unknown management record gets UNKNOWN_TYPE", "hex": record(99, 0, b"xyz").hex(), "events": [reply(record(UNKNOWN_TYPE, 0, bytes([99]) + b"\0" * 7))]},
        {"name": "the authorizer role is refused, and that request's records ignored", "hex": (begin(1, role=2) + two_params + record(PARAMS, 1) + record(STDIN, 1) + fcgi_request(2, FCGI_GET)).hex(), "events": [reply(end_request(1, 0, 3)), head(FCGI_GET), END]},
        {"name": "a second request while one is in progress gets CANT_MPX_CONN", "hex": (begin(1, flags=1) + record(PARAMS, 1, nv_pairs(FCGI_GET)) + begin(2) + record(PARAMS, 2, nv_pairs(FCGI_POST5)) + record(PARAMS, 1) + record(PARAMS, 2) + record(STDIN, 2, b"hello") + record(STDIN, 1)).hex(), "events": [reply(end_request(2, 0, 1)), head(FCGI_GET, True), END]},
        {"name": "ABORT_REQUEST during the body, then the rest of it ignored", "hex": (begin(1) + record(PARAMS, 1, nv_pairs(FCGI_POST5)) + record(PARAMS, 1) + record(STDIN, 1, b"he") + record(ABORT_REQUEST, 1) + record(STDIN, 1, b"llo") + record(STDIN, 1)).hex(), "events": [head(FCGI_POST5), body(b"he"), ABORT]},
        {"name": "records of an id never begun are ignored", "hex": (record(STDIN, 9, b"zz") + fcgi_request(1, FCGI_GET)).hex(), "events": [head(FCGI_GET), END]},
        {"name": "version 2 is refused", "hex": record(BEGIN, 1, struct.pack(">HB5x", 1, 0), version=2).hex(), "events": [], "error": "CASK_CGI_PROTOCOL"},
        {"name": "BEGIN_REQUEST of 7 bytes", "hex": record(BEGIN, 1, b"\0\x01\0\0\0\0\0").hex(), "events": [], "error": "CASK_CGI_PROTOCOL"},
        {"name": "BEGIN_REQUEST twice for one id", "hex": (begin(1) + begin(1)).hex(), "events": [], "error": "CASK_CGI_PROTOCOL"},
        {"name": "STDIN before the end of PARAMS", "hex": (begin(1) + record(PARAMS, 1, nv_pairs(FCGI_GET)) + record(STDIN, 1, b"x")).hex(), "events": [], "error": "CASK_CGI_PROTOCOL"},
        {"name": "a STDOUT record from the web server", "hex": (begin(1) + record(STDOUT, 1, b"x")).hex(), "events": [], "error": "CASK_CGI_PROTOCOL"},
        {"name": "a name-value pair cut short", "hex": (begin(1) + record(PARAMS, 1, b"\x0e\x03REQUEST_METH") + record(PARAMS, 1)).hex(), "events": [], "error": "CASK_CGI_PROTOCOL"},
        {"name": "a variable with an empty name", "hex": (begin(1) + record(PARAMS, 1, b"\x00\x01x") + record(PARAMS, 1)).hex(), "events": [], "error": "CASK_CGI_PROTOCOL"},
        {"name": "params larger than the limit", "limits": {"maxHeadBytes": 40, "maxParams": 100}, "hex": fcgi_request(1, FCGI_GET).hex(), "events": [], "error": "CASK_HTTP_HEADERS_TOO_LARGE"},
        {"name": "more params than the limit", "limits": {"maxHeadBytes": 4096, "maxParams": 2}, "hex": fcgi_request(1, FCGI_GET).hex(), "events": [], "error": "CASK_HTTP_HEADERS_TOO_LARGE"},
    ]
    responses = [
        {"name": "the end of a response: empty STDOUT, END_REQUEST complete", "encode": "responseEnd", "id": 1, "hex": (record(STDOUT, 1) + end_request(1, 0, 0)).hex()},
        {"name": "END_REQUEST refusing a second request", "encode": "endRequest", "id": 2, "protocolStatus": 1, "hex": end_request(2, 0, 1).hex()},
        {"name": "STDOUT of 65536 bytes is two records", "encode": "stdout", "id": 1, "length": 65536, "fill": "61", "hex": (record(STDOUT, 1, b"a" * 65535) + record(STDOUT, 1, b"a")).hex()},
    ]
    return {"requests": vectors, "responses": responses}


def main():
    for name, build in [("uwsgi", uwsgi_vectors), ("scgi", scgi_vectors), ("fastcgi", fastcgi_vectors)]:
        path = os.path.join(OUT, f"{name}.json")
        with open(path, "w") as f:
            json.dump(build(), f, indent=1)
            f.write("\n")
        print(f"wrote {os.path.relpath(path)}")


if __name__ == "__main__":
    main()
