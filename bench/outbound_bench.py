#!/usr/bin/env python3
"""Outbound relay throughput: calm beside Postfix, same run, same load, as a ratio.

Both servers listen on 127.0.0.1, accept mail from loopback (a trusted network for both:
calm's lan_networks, Postfix's mynetworks) for u@sink.test, a domain neither of them serves,
queue it durably and relay it to Postfix's smtp-sink on 127.0.0.1 (calm through a routes file,
`sink.test relay:[127.0.0.1]:PORT`; Postfix through `relayhost = [127.0.0.1]:PORT`). Each
server keeps its own outbound defaults (calm: 10 connections per destination, 100 messages
per connection; Postfix: 20 and connection caching).

Each server relays to its own smtp-sink (same options; it counts with -c and discards).
smtp-source sends N messages (default 5000 x 4 KiB over 20 sessions, a new connection per
message) to the server. Two rates per run:

  accept   messages / wall time of smtp-source (every message got its 250)
  relayed  messages / time from the first connection until smtp-sink has all N

Runs alternate calm/Postfix so both see the same disk weather; medians and ratios at the end.

  bench/outbound_bench.py [--runs 3] [--msgs 5000] [--sessions 20] [--size 4096] [--reuse]

Needs root (smtp-sink drops to user postfix; Postfix itself), Debian's postfix package
(smtp-source, smtp-sink), and a release build of calm (built here if missing). Working data
goes under a temporary directory that is removed afterwards.
"""
import argparse, os, re, shutil, socket, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RCPT = "u@sink.test"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"nothing listens on 127.0.0.1:{port}")


class Calm:
    name = "calm"

    def __init__(self, work, binary):
        self.dir = os.path.join(work, "calm")
        os.makedirs(self.dir)
        self.port, self.sink_port = free_port(), free_port()
        with open(os.path.join(self.dir, "routes"), "w") as f:
            f.write(f"sink.test relay:[127.0.0.1]:{self.sink_port}\n")
        self.cfg = os.path.join(self.dir, "calm.toml")
        with open(self.cfg, "w") as f:
            f.write(f"""[server]
hostname = "mx.bench.test"
data_dir = "data"
local_domains = ["test"]
# smtp-source connects from loopback, which may relay (Postfix's peer: mynetworks).
lan_networks = ["127.0.0.0/8"]

[[listener]]
name = "mx"
role = "mx"
address = "127.0.0.1:{self.port}"

[limits]
mx_greeting_delay_ms = 0

[admin]
enabled = false

[policy]
# smtp-source's sender domain is made up; like the Postfix peer, no DNS checks.
dns_lookups = false

[content]
authenticate = false

[outbound]
# sink.test is routed to smtp-sink; nothing asks a real DNS server.
resolver = "127.0.0.1:9"
routes_file = "routes"
""")
        self.binary, self.proc = binary, None

    def start(self):
        self.proc = subprocess.Popen([self.binary, "serve", "--config", self.cfg], cwd=self.dir,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port)

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait(10)


class Postfix:
    name = "postfix"

    def __init__(self, work):
        self.dir = os.path.join(work, "postfix")
        self.etc, self.spool = os.path.join(self.dir, "etc"), os.path.join(self.dir, "spool")
        for d in (self.etc, self.spool):
            os.makedirs(d)
        self.port, self.sink_port = free_port(), free_port()
        self.configure()

    def configure(self):
        data = os.path.join(self.dir, "data")
        os.makedirs(data)
        shutil.chown(data, "postfix")
        shutil.copy("/usr/share/postfix/master.cf.dist", os.path.join(self.etc, "master.cf"))
        open(os.path.join(self.etc, "main.cf"), "w").close()
        log = os.path.join(self.dir, "postfix.log")
        settings = {
            "compatibility_level": "3.6", "queue_directory": self.spool, "data_directory": data,
            "maillog_file": log, "maillog_file_prefixes": f"/var, /dev/stdout, {self.dir}",
            "myhostname": "mx.bench.test", "mydomain": "bench.test", "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4", "mydestination": "", "mynetworks": "127.0.0.0/8", "alias_maps": "",
            "alias_database": "", "local_recipient_maps": "",
            "smtpd_relay_restrictions": "permit_mynetworks, reject_unauth_destination",
            # Everything goes to the sink; an IP literal in brackets needs no DNS (like calm's route).
            "relayhost": f"[127.0.0.1]:{self.sink_port}", "smtp_dns_support_level": "disabled",
            "biff": "no", "smtputf8_enable": "no",
        }
        subprocess.run(["postconf", "-c", self.etc, "-e"] + [f"{k} = {v}" for k, v in settings.items()], check=True)
        subprocess.run(["postconf", "-c", self.etc, "-F", "*/*/chroot = n"], check=True)
        subprocess.run(["postconf", "-c", self.etc, "-MX", "smtp/inet"], check=True)
        subprocess.run(["postconf", "-c", self.etc, "-M",
                        f"127.0.0.1:{self.port}/inet = 127.0.0.1:{self.port} inet n - n - - smtpd"], check=True)
        open(log, "w").close()
        shutil.chown(log, "postfix")

    def start(self):
        subprocess.run(["postfix", "-c", self.etc, "start"], check=True, capture_output=True)
        wait_port(self.port)

    def stop(self):
        subprocess.run(["postfix", "-c", self.etc, "stop"], capture_output=True)


class Sink:
    """One smtp-sink per server for the whole benchmark, counting (-c) and discarding messages.

    It stays up between runs (a sink that quit after the N-th message would leave that
    message unacknowledged, to be retried into the next run); -c rewrites a counter line
    "sess=S quit=Q mesg=M" after every received message, so a run waits for M to grow by N.
    """

    def __init__(self, work, server):
        self.path = os.path.join(work, f"sink-{server.name}.out")
        self.out = open(self.path, "w")
        self.proc = subprocess.Popen(["smtp-sink", "-u", "postfix", "-c", f"127.0.0.1:{server.sink_port}", "256"],
                                     stdout=self.out, stderr=subprocess.STDOUT)
        wait_port(server.sink_port)

    def count(self):
        with open(self.path, "rb") as f:
            f.seek(max(0, os.path.getsize(self.path) - 200))
            found = re.findall(rb"mesg=(\d+)", f.read())
        return int(found[-1]) if found else 0

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)
        self.out.close()


def one_run(server, sink, a):
    start = sink.count()
    cmd = ["smtp-source", "-s", str(a.sessions), "-m", str(a.msgs), "-l", str(a.size), "-f", "bench@source.test",
           "-t", RCPT]
    if a.reuse:
        cmd.append("-d")
    cmd.append(f"127.0.0.1:{server.port}")
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    t1 = time.perf_counter()
    if r.returncode != 0:
        print(f"  {server.name}: smtp-source failed: {r.stdout[-300:]} {r.stderr[-300:]}")
    n = sink.count() - start
    while n < a.msgs and time.perf_counter() < t1 + a.timeout:
        time.sleep(0.02)
        n = sink.count() - start
    t2 = time.perf_counter()
    accept, relayed = a.msgs / (t1 - t0), n / (t2 - t0)
    print(f"  {server.name:8} accept {accept:7.0f} msg/s   relayed {relayed:7.0f} msg/s   ({n}/{a.msgs} at the sink)",
          flush=True)
    return accept, relayed


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--msgs", type=int, default=5000)
    p.add_argument("--sessions", type=int, default=20)
    p.add_argument("--size", type=int, default=4096)
    p.add_argument("--reuse", action="store_true", help="several messages per connection (smtp-source -d)")
    p.add_argument("--timeout", type=int, default=180, help="seconds to wait for the sink after submission")
    p.add_argument("--calm", default=os.path.join(ROOT, "target", "release", "calm"))
    a = p.parse_args()
    os.environ["PATH"] += ":/usr/sbin"
    for tool in ("smtp-source", "smtp-sink", "postfix"):
        if not shutil.which(tool):
            sys.exit(f"{tool} not found: apt-get install postfix")
    if not os.path.exists(a.calm):
        subprocess.run(["cargo", "build", "--release", "-p", "calm"], cwd=ROOT, check=True)
    work = tempfile.mkdtemp(prefix="calm-outbound-bench-")
    os.chmod(work, 0o755)  # Postfix daemons run as user postfix and must reach their queue
    servers, sinks, results = [], [], {}
    try:
        servers = [Calm(work, a.calm), Postfix(work)]
        results = {s.name: [] for s in servers}
        for s in servers:
            sinks.append(Sink(work, s))
            s.start()
        for i in range(a.runs):
            print(f"run {i + 1}/{a.runs}: {a.msgs} x {a.size} B to {RCPT}, {a.sessions} sessions"
                  f"{', reuse' if a.reuse else ''}")
            for s, sink in zip(servers, sinks):
                results[s.name].append(one_run(s, sink, a))
    finally:
        for s in servers:
            s.stop()
        for k in sinks:
            k.stop()
        shutil.rmtree(work, ignore_errors=True)
    med = {n: [statistics.median(x[i] for x in r) for i in (0, 1)] for n, r in results.items()}
    print(f"median of {a.runs}:")
    for kind, i in (("accept", 0), ("relayed", 1)):
        c, pf = med["calm"][i], med["postfix"][i]
        ratio = f"{c / pf:5.2f}" if pf else "n/a (postfix relayed nothing)"
        print(f"  {kind:8}  calm {c:7.0f} msg/s   postfix {pf:7.0f} msg/s   ratio calm/postfix {ratio}")


if __name__ == "__main__":
    main()
