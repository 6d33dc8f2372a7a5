#!/usr/bin/env python3
"""Read a mailbox from calm with Python's standard poplib.

  poplib_check.py --port P --mode stls|ssl --user U --password W [--delete]

Prints `count N`, each message's UIDL and the Subject of the first message; with --delete,
deletes every message and quits (so the deletions are committed). Exits non-zero on any error.
"""
import argparse, poplib, ssl, sys

p = argparse.ArgumentParser()
p.add_argument("--port", type=int, required=True)
p.add_argument("--mode", choices=["stls", "ssl"], required=True)
p.add_argument("--user", required=True)
p.add_argument("--password", required=True)
p.add_argument("--delete", action="store_true")
a = p.parse_args()

ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
try:
    if a.mode == "ssl":
        m = poplib.POP3_SSL("127.0.0.1", a.port, context=ctx, timeout=20)
    else:
        m = poplib.POP3("127.0.0.1", a.port, timeout=20)
        m.stls(context=ctx)
    m.user(a.user)
    m.pass_(a.password)
    count, _ = m.stat()
    print("count", count)
    for line in m.uidl()[1]:
        print("uidl", line.decode())
    if count:
        lines = m.retr(1)[1]
        subject = [l.decode() for l in lines if l.lower().startswith(b"subject:")]
        print("first", subject[0] if subject else "(no subject)")
    if a.delete:
        for i in range(1, count + 1):
            m.dele(i)
    m.quit()
except (poplib.error_proto, OSError) as e:
    print("POP3 error:", repr(e))
    sys.exit(1)
