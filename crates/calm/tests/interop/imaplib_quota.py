#!/usr/bin/env python3
"""Ask for the user's quota with Python's imaplib over IMAPS (RFC 9208 GETQUOTAROOT).

  imaplib_quota.py --port P --user U --password W

Prints `capability QUOTA` or `capability none`, then `quotaroot ROOTS` and `quota QUOTAS`
as imaplib returns them (untagged QUOTAROOT and QUOTA data), then `setquota TYP DATA`.
"""
import argparse, imaplib, ssl, sys

p = argparse.ArgumentParser()
p.add_argument("--port", type=int, required=True)
p.add_argument("--user", required=True)
p.add_argument("--password", required=True)
a = p.parse_args()
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
try:
    m = imaplib.IMAP4_SSL("127.0.0.1", a.port, ssl_context=ctx, timeout=20)
    m.login(a.user, a.password)
    # imaplib keeps the capabilities from before login; ask again.
    typ, caps = m.capability()
    print("capability", "QUOTA" if b" QUOTA " in caps[0] + b" " else "none")
    typ, data = m.getquotaroot("INBOX")
    print("getquotaroot", typ)
    roots, quotas = data
    print("quotaroot", [r.decode() for r in roots if r])
    print("quota", [q.decode() for q in quotas if q])
    typ, data = m.setquota('""', "(STORAGE 999999)")
    print("setquota", typ, data)
    m.logout()
except (imaplib.IMAP4.error, OSError) as e:
    print("IMAP error:", repr(e))
    sys.exit(1)
