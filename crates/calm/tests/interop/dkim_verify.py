#!/usr/bin/python3
"""Verify the DKIM signature of a message file with dkimpy (Debian python3-dkim), an oracle
nobody here wrote. The public key record is given on the command line instead of DNS.

  dkim_verify.py MESSAGE_FILE "v=DKIM1; k=rsa; p=..."

Prints `pass` or `fail` and exits 0 or 1.
"""
import sys
import dkim

message = open(sys.argv[1], "rb").read()
record = sys.argv[2].encode()
ok = dkim.verify(message, dnsfunc=lambda name, timeout=5: record)
print("pass" if ok else "fail")
sys.exit(0 if ok else 1)
