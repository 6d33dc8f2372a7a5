"""Drives calm's POP3 server with Python's poplib, as a mail client would.

Usage: poplib_client.py MODE HOST PORT CAFILE USER PASSWORD OP...
MODE: "stls" (POP3 + STLS) or "ssl" (POP3_SSL). OPs run in order after login:
  stat | list | uidl | capa | retr:N | top:N:L | dele:N | rset | noquit
Prints one JSON object: {"welcome":..., "results":[...]} (bytes decoded as UTF-8).
The certificate is verified against CAFILE; the host name is not checked (127.0.0.1).
"""
import json
import poplib
import ssl
import sys


def context(cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.check_hostname = False
    return ctx


def text(value):
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, (list, tuple)):
        return [text(v) for v in value]
    if isinstance(value, dict):
        return {k: text(v) for k, v in value.items()}
    return value


def main():
    mode, host, port, cafile, user, password, *ops = sys.argv[1:]
    if mode == "ssl":
        pop = poplib.POP3_SSL(host, int(port), context=context(cafile), timeout=10)
    else:
        pop = poplib.POP3(host, int(port), timeout=10)
        pop.stls(context=context(cafile))
    welcome = pop.getwelcome()
    pop.user(user)
    results = [pop.pass_(password)]
    quit_at_end = True
    for op in ops:
        name, *args = op.split(":")
        if name == "noquit":
            quit_at_end = False
        elif name == "capa":
            results.append(sorted(pop.capa().keys()))
        else:
            results.append(getattr(pop, name)(*[int(a) for a in args]))
    if quit_at_end:
        results.append(pop.quit())
    print(json.dumps({"welcome": text(welcome), "results": text(results)}))


if __name__ == "__main__":
    main()
