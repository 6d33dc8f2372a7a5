#!/usr/bin/env python3
"""Send one message to calm with Python's standard smtplib (a client nobody on the team wrote).

  smtplib_send.py --port P --mode plain|starttls|ssl [--user U --password W] --from A --to B [--to C] --subject S

Certificates are not verified (calm's development certificate is self-signed). Prints the final
reply and exits non-zero on any SMTP error.
"""
import argparse, smtplib, ssl, sys
from email.message import EmailMessage

p = argparse.ArgumentParser()
p.add_argument("--port", type=int, required=True)
p.add_argument("--mode", choices=["plain", "starttls", "ssl"], default="plain")
p.add_argument("--user"); p.add_argument("--password")
p.add_argument("--from", dest="sender", required=True)
p.add_argument("--to", action="append", required=True)
p.add_argument("--subject", default="smtplib test")
a = p.parse_args()

ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE

msg = EmailMessage()
msg["From"], msg["To"], msg["Subject"] = a.sender, ", ".join(a.to), a.subject
msg.set_content("Hello from Python smtplib.\nA line with a leading dot follows:\n.hidden\n")

try:
    if a.mode == "ssl":
        s = smtplib.SMTP_SSL("127.0.0.1", a.port, context=ctx, timeout=20)
    else:
        s = smtplib.SMTP("127.0.0.1", a.port, timeout=20)
    s.ehlo("client.example.org")
    if a.mode == "starttls":
        s.starttls(context=ctx)
        s.ehlo("client.example.org")
    if a.user:
        s.login(a.user, a.password)
    refused = s.send_message(msg)
    print("refused:", refused)
    code, text = s.noop()
    s.quit()
except smtplib.SMTPException as e:
    print("SMTP error:", repr(e))
    sys.exit(1)
sys.exit(1 if refused else 0)
