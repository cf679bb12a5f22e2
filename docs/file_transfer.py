#!/usr/bin/env python3
"""SockScope verified file transfer (docs/file-transfer.md) in plain Python.

Send:    python3 file_transfer.py send HOST PORT FILE
Receive: python3 file_transfer.py recv PORT FOLDER      (one file, then exit)
"""
import hashlib, json, os, socket, sys

def send(host, port, path):
    data = open(path, "rb").read()
    s = socket.create_connection((host, int(port))); f = s.makefile("rwb")
    header = {"name": os.path.basename(path), "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    f.write(b"SOCKSCOPE-FILE 1\n" + json.dumps(header).encode() + b"\n"); f.flush()
    offer = json.loads(f.readline())
    start = offer["offset"] if offer["offset"] and hashlib.sha256(data[:offer["offset"]]).hexdigest() == offer["part_sha256"] else 0
    f.write(json.dumps({"start": start}).encode() + b"\n" + data[start:]); f.flush()
    verdict = json.loads(f.readline()); print(verdict); return 0 if verdict.get("ok") else 1

def recv(port, folder):
    server = socket.create_server(("", int(port))); conn, _ = server.accept(); f = conn.makefile("rwb")
    assert f.readline() == b"SOCKSCOPE-FILE 1\n", "not a SockScope transfer"
    header = json.loads(f.readline())
    name = os.path.basename(header["name"].replace("\\", "/")) or "received.bin"
    f.write(json.dumps({"offset": 0, "part_sha256": ""}).encode() + b"\n"); f.flush()
    start = json.loads(f.readline())["start"]
    data = f.read(header["size"] - start)
    ok = len(data) == header["size"] and hashlib.sha256(data).hexdigest() == header["sha256"]
    if ok:
        open(os.path.join(folder, name), "xb").write(data)
    f.write(json.dumps({"ok": ok, "name": name} if ok else {"ok": False, "error": "size or SHA-256 mismatch"}).encode() + b"\n"); f.flush()
    return 0 if ok else 1

if __name__ == "__main__":
    sys.exit(send(*sys.argv[2:5]) if sys.argv[1] == "send" else recv(*sys.argv[2:4]))
