#!/usr/bin/env python3
"""SMTP throughput: calm beside Postfix, same run, same load, printed as a ratio.

Both servers listen on 127.0.0.1 and deliver u@test into a Maildir. Postfix's smtp-source
sends the same load to each (default: 5000 messages of 4 KiB over 20 sessions, a new connection
per message); runs alternate calm/Postfix so both see the same disk weather. Two rates per run:

  accept      messages / wall time of smtp-source (every message got its 250)
  end-to-end  messages / time until all of them are files in the Maildir

  bench/smtp_bench.py [--runs 3] [--msgs 5000] [--sessions 20] [--size 4096] [--reuse]

Needs root (Postfix's virtual delivery runs as a dedicated user), Debian's postfix package
(smtp-source), and a release build of calm (built here if missing). Working data goes under a
temporary directory that is removed afterwards.
"""
import argparse, os, shutil, socket, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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


def count(d):
    try:
        return sum(1 for _ in os.scandir(d))
    except FileNotFoundError:
        return 0


class Calm:
    name = "calm"

    def __init__(self, work, binary, name="calm", content_extra=""):
        self.name = name
        self.dir = os.path.join(work, name)
        os.makedirs(self.dir)
        self.port = free_port()
        with open(os.path.join(self.dir, "calm.toml"), "w") as f:
            f.write(f"""[server]
hostname = "mx.bench.test"
data_dir = "data"
local_domains = ["test"]
lan_networks = ["127.0.0.0/8"]

[[listener]]
name = "mx"
role = "mx"
address = "127.0.0.1:{self.port}"

[limits]
mx_greeting_delay_ms = 0

[policy]
# smtp-source's sender domain is made up; like the Postfix peer, no DNS checks.
dns_lookups = false

[content]
# No SPF/DKIM/DMARC for the made-up sender (Postfix's peer does none either); the content
# rules still score every message.
authenticate = false
{content_extra}

[outbound]
# Nothing here is delivered remotely; never ask a real DNS server.
resolver = "127.0.0.1:9"

[admin]
enabled = false
""")
        self.cfg = os.path.join(self.dir, "calm.toml")
        subprocess.run([binary, "user", "add", "u@test", "--password", "bench", "--config", self.cfg],
                       check=True, capture_output=True)
        self.binary = binary
        self.new_dir = os.path.join(self.dir, "data", "mail", "test", "u", "new")
        self.proc = None

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
        self.etc, self.spool, self.mail = (os.path.join(self.dir, d) for d in ("etc", "spool", "mail"))
        for d in (self.etc, self.spool, self.mail):
            os.makedirs(d)
        self.port = free_port()
        self.new_dir = os.path.join(self.mail, "u", "Maildir", "new")
        self.configure()

    def configure(self):
        subprocess.run(["id", "benchmail"], capture_output=True).returncode == 0 or subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "benchmail"], check=True)
        uid = subprocess.check_output(["id", "-u", "benchmail"], text=True).strip()
        gid = subprocess.check_output(["id", "-g", "benchmail"], text=True).strip()
        shutil.chown(self.mail, "benchmail", "benchmail")
        data = os.path.join(self.dir, "data")
        os.makedirs(data)
        shutil.chown(data, "postfix")
        shutil.copy("/usr/share/postfix/master.cf.dist", os.path.join(self.etc, "master.cf"))
        open(os.path.join(self.etc, "main.cf"), "w").close()
        settings = {
            "compatibility_level": "3.6", "queue_directory": self.spool, "data_directory": data,
            "maillog_file": os.path.join(self.dir, "postfix.log"),
            "maillog_file_prefixes": f"/var, /dev/stdout, {self.dir}",
            "myhostname": "mx.bench.test", "mydomain": "bench.test", "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4", "mydestination": "", "mynetworks": "127.0.0.0/8", "alias_maps": "",
            "alias_database": "", "local_recipient_maps": "", "relayhost": "",
            "smtpd_relay_restrictions": "permit_mynetworks, reject_unauth_destination",
            "virtual_mailbox_domains": "test", "virtual_mailbox_base": self.mail,
            "virtual_mailbox_maps": "inline:{ u@test=u/Maildir/ }", "virtual_uid_maps": f"static:{uid}",
            "virtual_gid_maps": f"static:{gid}", "virtual_minimum_uid": "100",
            "default_transport": "error:no outbound mail from the bench peer", "biff": "no",
            "smtputf8_enable": "no",
        }
        subprocess.run(["postconf", "-c", self.etc, "-e"] + [f"{k} = {v}" for k, v in settings.items()], check=True)
        subprocess.run(["postconf", "-c", self.etc, "-F", "*/*/chroot = n"], check=True)
        subprocess.run(["postconf", "-c", self.etc, "-MX", "smtp/inet"], check=True)
        subprocess.run(["postconf", "-c", self.etc, "-M",
                        f"127.0.0.1:{self.port}/inet = 127.0.0.1:{self.port} inet n - n - - smtpd"], check=True)
        log = os.path.join(self.dir, "postfix.log")
        open(log, "w").close()
        shutil.chown(log, "postfix")

    def start(self):
        subprocess.run(["postfix", "-c", self.etc, "start"], check=True, capture_output=True)
        wait_port(self.port)

    def stop(self):
        subprocess.run(["postfix", "-c", self.etc, "stop"], capture_output=True)


def one_run(server, a):
    shutil.rmtree(server.new_dir, ignore_errors=True)
    os.makedirs(server.new_dir, exist_ok=True)
    if server.name == "postfix":
        # virtual(8) delivers as benchmail: it must own the whole Maildir, not just new/
        for root, dirs, _ in os.walk(server.mail):
            shutil.chown(root, "benchmail", "benchmail")
    cmd = ["smtp-source", "-s", str(a.sessions), "-m", str(a.msgs), "-l", str(a.size), "-f", "a@test", "-t", "u@test"]
    if a.reuse:
        cmd.append("-d")
    cmd.append(f"127.0.0.1:{server.port}")
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    t1 = time.perf_counter()
    if r.returncode != 0:
        print(f"  {server.name}: smtp-source failed: {r.stdout[-300:]} {r.stderr[-300:]}")
    n = count(server.new_dir)
    while n < a.msgs and time.perf_counter() < t1 + 120:
        time.sleep(0.02)
        n = count(server.new_dir)
    t2 = time.perf_counter()
    accept, e2e = a.msgs / (t1 - t0), n / (t2 - t0)
    print(f"  {server.name:8} accept {accept:7.0f} msg/s   end-to-end {e2e:7.0f} msg/s   ({n}/{a.msgs} delivered)",
          flush=True)
    return accept, e2e


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--msgs", type=int, default=5000)
    p.add_argument("--sessions", type=int, default=20)
    p.add_argument("--size", type=int, default=4096)
    p.add_argument("--reuse", action="store_true", help="several messages per connection (smtp-source -d)")
    p.add_argument("--calm", default=os.path.join(ROOT, "target", "release", "calm"))
    a = p.parse_args()
    if not shutil.which("smtp-source") and not os.path.exists("/usr/sbin/smtp-source"):
        sys.exit("smtp-source not found: apt-get install postfix")
    os.environ["PATH"] += ":/usr/sbin"
    if not os.path.exists(a.calm):
        subprocess.run(["cargo", "build", "--release", "-p", "calm"], cwd=ROOT, check=True)
    work = tempfile.mkdtemp(prefix="calm-bench-")
    os.chmod(work, 0o755)  # Postfix daemons run as user postfix and must reach their queue
    servers = [Calm(work, a.calm), Postfix(work)]
    results = {s.name: [] for s in servers}
    try:
        for s in servers:
            s.start()
        for i in range(a.runs):
            print(f"run {i + 1}/{a.runs}: {a.msgs} x {a.size} B, {a.sessions} sessions{', reuse' if a.reuse else ''}")
            for s in servers:
                results[s.name].append(one_run(s, a))
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(work, ignore_errors=True)
    med = {n: [statistics.median(x[i] for x in r) for i in (0, 1)] for n, r in results.items()}
    print(f"median of {a.runs}:")
    for kind, i in (("accept", 0), ("end-to-end", 1)):
        c, pf = med["calm"][i], med["postfix"][i]
        ratio = f"{c / pf:5.2f}" if pf else "n/a (postfix delivered nothing)"
        print(f"  {kind:10}  calm {c:7.0f} msg/s   postfix {pf:7.0f} msg/s   ratio calm/postfix {ratio}")


if __name__ == "__main__":
    main()
