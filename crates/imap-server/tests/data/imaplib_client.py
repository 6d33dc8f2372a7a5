"""Drives calm's IMAP server with Python's imaplib, as a mail client would.

Usage: imaplib_client.py MODE HOST PORT CAFILE USER PASSWORD OPS_JSON
MODE: "starttls" (IMAP4 + STARTTLS) or "ssl" (IMAP4_SSL).
OPS_JSON: a JSON list of [method, arg...]; each runs on the logged-in client with
arguments as given (null becomes None, strings are passed as str). Method "uid" takes the
command as its first argument. Prints one JSON object:
{"welcome":..., "capabilities":[...], "results":[[typ, data], ...]} with bytes decoded and
tuples from literal responses flattened to lists.
The certificate is verified against CAFILE; the host name is not checked (127.0.0.1).
"""
import imaplib
import json
import ssl
import sys


def context(cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.check_hostname = False
    return ctx


def text(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, (list, tuple)):
        return [text(v) for v in value]
    return value


def main():
    mode, host, port, cafile, user, password, ops = sys.argv[1:8]
    if mode == "ssl":
        client = imaplib.IMAP4_SSL(host, int(port), ssl_context=context(cafile))
    else:
        client = imaplib.IMAP4(host, int(port))
        client.starttls(ssl_context=context(cafile))
    welcome = text(client.welcome)
    client.login(user, password)
    results = []
    for op in json.loads(ops):
        method, args = op[0], op[1:]
        if method == "append":
            args[-1] = args[-1].encode()
        try:
            typ, data = getattr(client, method)(*args)
            results.append([typ, text(data)])
        except imaplib.IMAP4.error as e:
            results.append(["ERROR", str(e)])
    capabilities = sorted(client.capabilities)
    client.logout()
    print(json.dumps({"welcome": welcome, "capabilities": capabilities, "results": results}))


main()
