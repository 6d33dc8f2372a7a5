#!/usr/bin/env python3
"""Report a message as spam or not spam the way a mail client does, with Python's smtplib and
email packages: forward it as an attachment (message/rfc822) or inline with its full headers,
over implicit TLS with AUTH.

  spam_report.py --port P --user U --password W --to ADDRESS --file MESSAGE [--inline]

Certificates are not verified (calm's development certificate is self-signed). Exits non-zero
on any SMTP error.
"""
import argparse, email, email.policy, smtplib, ssl, sys
from email.message import EmailMessage

p = argparse.ArgumentParser()
p.add_argument("--port", type=int, required=True)
p.add_argument("--user", required=True)
p.add_argument("--password", required=True)
p.add_argument("--to", required=True)
p.add_argument("--file", required=True)
p.add_argument("--inline", action="store_true")
a = p.parse_args()

with open(a.file, "rb") as f:
    raw = f.read()
msg = EmailMessage()
msg["From"], msg["To"], msg["Subject"] = a.user, a.to, "Fwd: report"
if a.inline:
    msg.set_content("Please look at this one.\n\n---------- Forwarded message ----------\n"
                    + raw.decode("utf-8", "replace").replace("\r\n", "\n"))
else:
    msg.set_content("Please look at the attached message.\n")
    msg.add_attachment(email.message_from_bytes(raw, policy=email.policy.SMTP))

ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
try:
    s = smtplib.SMTP_SSL("127.0.0.1", a.port, context=ctx, timeout=20)
    s.login(a.user, a.password)
    refused = s.send_message(msg)
    s.quit()
except smtplib.SMTPException as e:
    print("SMTP error:", repr(e))
    sys.exit(1)
print("refused:", refused)
sys.exit(1 if refused else 0)
