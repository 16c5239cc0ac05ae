#!/usr/bin/env python3
"""Regenerates vv_text.golden and vv_binary.golden: what memcached prints
at -vv for each request of vv_steps.txt, one fresh server per protocol.

    python3 gen_vv.py [/usr/bin/memcached] [port]

Each step's lines follow a "=== name" marker. Connection ids are rewritten
to 24, and the lines memcached prints on connect and close (logged by the
host, not the connection) are left out."""
import ast, os, re, socket, subprocess, sys, tempfile, time

here = os.path.dirname(os.path.abspath(__file__))
memcached = sys.argv[1] if len(sys.argv) > 1 else "/usr/bin/memcached"
port = int(sys.argv[2]) if len(sys.argv) > 2 else 22911

steps = {"text": [], "binary": []}
for line in open(os.path.join(here, "vv_steps.txt")):
    if line.startswith("#") or not line.strip():
        continue
    proto, name, req = line.rstrip("\n").split("\t")
    steps[proto].append((name, ast.literal_eval("b" + req)))

skip = re.compile(r"new auto-negotiating client connection|connection closed\.|server listening|^slab class|^Exiting")
for proto, list_ in steps.items():
    err = tempfile.NamedTemporaryFile("w+", delete=False)
    srv = subprocess.Popen([memcached, "-u", "root", "-p", str(port), "-l", "127.0.0.1", "-vv"],
                           stderr=open(err.name, "a"))
    try:
        time.sleep(0.5)
        s = socket.create_connection(("127.0.0.1", port))
        s.settimeout(0.3)
        for name, req in list_:
            with open(err.name, "a") as f:
                f.write("=== %s\n" % name)
            time.sleep(0.05)
            s.sendall(req)
            time.sleep(0.15)
            try:
                while s.recv(1 << 20):
                    pass
            except socket.timeout:
                pass
        s.close()
        time.sleep(0.2)
    finally:
        srv.terminate()
        srv.wait()
    out = []
    started = False
    for line in open(err.name):
        started = started or line.startswith("=== ")
        if not started or skip.search(line):
            continue
        out.append(re.sub(r"^([<>]?)\d+(:?) ", r"\g<1>24\2 ", line))
    os.unlink(err.name)
    with open(os.path.join(here, "vv_%s.golden" % proto), "w") as f:
        f.writelines(out)
