#!/usr/bin/env python3
"""Move every INBOX message to FROM→TO with Python's imaplib over IMAPS (a user's "this is spam"
or "this is not spam").

  imaplib_move.py --port P --user U --password W --from INBOX --to Junk
"""
import argparse, imaplib, ssl, sys

p = argparse.ArgumentParser()
p.add_argument("--port", type=int, required=True)
p.add_argument("--user", required=True)
p.add_argument("--password", required=True)
p.add_argument("--from", dest="source", required=True)
p.add_argument("--to", required=True)
a = p.parse_args()
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
try:
    m = imaplib.IMAP4_SSL("127.0.0.1", a.port, ssl_context=ctx, timeout=20)
    m.login(a.user, a.password)
    m.select(a.source)
    typ, data = m.uid("MOVE", "1:*", a.to)
    print("move", typ, data)
    m.logout()
except (imaplib.IMAP4.error, OSError) as e:
    print("IMAP error:", repr(e))
    sys.exit(1)
