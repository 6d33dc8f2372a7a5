#!/usr/bin/env python3
"""CONDSTORE (RFC 7162) with Python's imaplib over IMAPS: ENABLE CONDSTORE, FETCH
CHANGEDSINCE and STORE UNCHANGEDSINCE on INBOX's first message. Prints what it saw, one
`name value` line each, and fails on anything a client could not rely on.

  imaplib_condstore.py --port P --user U --password W
"""
import argparse, imaplib, re, ssl, sys

p = argparse.ArgumentParser()
p.add_argument("--port", type=int, required=True)
p.add_argument("--user", required=True)
p.add_argument("--password", required=True)
a = p.parse_args()
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE


def check(ok, what):
    if not ok:
        print("FAILED:", what)
        sys.exit(1)


def modseqs(data):
    """{uid: modseq} from FETCH responses."""
    found = {}
    for item in data or []:
        text = item.decode() if isinstance(item, bytes) else ""
        uid, mod = re.search(r"UID (\d+)", text), re.search(r"MODSEQ \((\d+)\)", text)
        if uid and mod:
            found[int(uid.group(1))] = int(mod.group(1))
    return found


try:
    m = imaplib.IMAP4_SSL("127.0.0.1", a.port, ssl_context=ctx, timeout=20)
    m.login(a.user, a.password)
    typ, caps = m.capability()
    check(b"CONDSTORE" in caps[0].split(), f"capabilities {caps}")
    typ, _ = m.enable("CONDSTORE")
    print("enabled", typ, m.response("ENABLED")[1])
    m.select("INBOX")
    highest = int(m.response("HIGHESTMODSEQ")[1][0])
    print("highestmodseq", highest)
    typ, data = m.uid("FETCH", "1:*", "(FLAGS)", f"(CHANGEDSINCE {highest})")
    check(typ == "OK" and modseqs(data) == {}, f"nothing changed since select: {data}")
    typ, data = m.uid("STORE", "1", "+FLAGS", "(\\Flagged)")
    flagged = modseqs(data).get(1, 0)
    check(typ == "OK" and flagged > highest, f"STORE gives a new MODSEQ: {data}")
    print("flagged", flagged)
    typ, data = m.uid("FETCH", "1:*", "(FLAGS)", f"(CHANGEDSINCE {highest})")
    check(modseqs(data) == {1: flagged}, f"CHANGEDSINCE returns the change only: {data}")
    print("changedsince", data)
    typ, data = m.uid("STORE", "1", f"(UNCHANGEDSINCE {highest})", "+FLAGS", "(\\Deleted)")
    modified = m.response("MODIFIED")[1]
    check(typ == "OK" and modified == [b"1"], f"stale UNCHANGEDSINCE refused: {modified}")
    print("modified", modified)
    typ, data = m.uid("STORE", "1", f"(UNCHANGEDSINCE {flagged})", "+FLAGS.SILENT", "(\\Seen)")
    seen = modseqs(data).get(1, 0)
    check(typ == "OK" and m.response("MODIFIED")[1] == [None], "current UNCHANGEDSINCE passes")
    check(seen > flagged, f"MODSEQ grows: {data}")
    typ, data = m.uid("FETCH", "1", "(FLAGS MODSEQ)")
    print("final", data)
    check(b"\\Seen" in data[0] and b"\\Deleted" not in data[0], f"flags: {data}")
    m.logout()
except (imaplib.IMAP4.error, OSError) as e:
    print("IMAP error:", repr(e))
    sys.exit(1)
