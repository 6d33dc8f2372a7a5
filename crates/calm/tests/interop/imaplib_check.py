#!/usr/bin/env python3
"""Read and flag mail in calm with Python's standard imaplib.

  imaplib_check.py --port P --mode starttls|ssl --user U --password W

Logs in, selects INBOX, prints `count N`, the Subject of message 1, marks every message
\\Seen and \\Flagged, appends one message to Sent and prints the APPENDUID answer, then logs out.
Exits non-zero on any IMAP error.
"""
import argparse, imaplib, ssl, sys

p = argparse.ArgumentParser()
p.add_argument("--port", type=int, required=True)
p.add_argument("--mode", choices=["starttls", "ssl"], required=True)
p.add_argument("--user", required=True)
p.add_argument("--password", required=True)
a = p.parse_args()

ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
try:
    if a.mode == "ssl":
        m = imaplib.IMAP4_SSL("127.0.0.1", a.port, ssl_context=ctx, timeout=20)
    else:
        m = imaplib.IMAP4("127.0.0.1", a.port, timeout=20)
        m.starttls(ssl_context=ctx)
    m.login(a.user, a.password)
    typ, data = m.select("INBOX")
    print("count", int(data[0]))
    typ, data = m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    print("first", data[0][1].decode().strip())
    m.store("1:*", "+FLAGS", "(\\Seen \\Flagged)")
    typ, data = m.append("Sent", "(\\Seen)", None, b"Subject: sent copy\r\n\r\nhello\r\n")
    print("append", typ, data[0].decode())
    m.logout()
except (imaplib.IMAP4.error, OSError) as e:
    print("IMAP error:", repr(e))
    sys.exit(1)
