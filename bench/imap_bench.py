#!/usr/bin/env python3
"""IMAP throughput and idle-connection memory: calm beside Dovecot, same run, same Maildir.

A deterministic mailbox (default 3000 messages, 1-128 KiB, CRLF files with ,S= sizes, some
multipart with a base64 attachment) is generated once and copied into calm's and Dovecot's
mail location for user u@test. Both servers listen on 127.0.0.1 with implicit TLS (IMAPS,
RFC 8314) and the same self-signed certificate; calm refuses LOGIN without TLS and the
comparison must pay the same TLS cost on both sides.

Load: --clients processes (imaplib, one connection each, no GIL sharing) each run --rounds
rounds of 9 commands on INBOX:

  SELECT; FETCH 20 headers (UID FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS ...]); FETCH
  BODY.PEEK[] twice; UID SEARCH (SUBJECT / FROM / UNSEEN FLAGGED / BODY in turn); STORE
  +/-FLAGS (\\Flagged); APPEND; UID STORE +FLAGS.SILENT (\\Deleted) on the appended message;
  EXPUNGE

so the mailbox ends as it started. ops/s = commands completed / wall time from a common start
barrier until the last client finishes. Runs alternate calm/Dovecot; the median is printed
with the ratio, and the mean latency of each command kind.

Memory: on freshly started servers, --idle connections log in (IMAPS) and stay idle; the
server's memory is read before and after (calm: VmRSS of its one process; Dovecot: the sum
over its master and all child processes, as RSS and as PSS, because Dovecot's processes
share their libraries and a plain RSS sum counts those pages once per process) and divided
by the number of connections.

  bench/imap_bench.py [--runs 3] [--msgs 3000] [--clients 8] [--rounds 60] [--idle 1000]

Needs root (Dovecot's mail processes run as a dedicated user), Debian's dovecot-imapd,
openssl, and a release build of calm (built here if missing). Working data goes under a
temporary directory that is removed afterwards.
"""
import argparse, base64, concurrent.futures, imaplib, multiprocessing, os, random, re, resource, shutil, socket
import ssl, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar "
         "papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu invoice meeting report "
         "budget holiday server backup deploy review").split()
HEADER_FETCH = "(UID FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT DATE MESSAGE-ID)])"
KINDS = ("select", "fetch-headers", "fetch-body", "search", "store", "append", "store-deleted", "expunge")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"nothing listens on 127.0.0.1:{port}")


# ---------------------------------------------------------------- mailbox generation

def text_lines(rng, size):
    out, n = [], 0
    while n < size:
        line = " ".join(rng.choice(WORDS) for _ in range(11))
        out.append(line)
        n += len(line) + 2
    return out


def make_message(rng, i):
    """One deterministic message, CRLF line endings (RFC 5322 §2.1)."""
    size = rng.choice([rng.randint(1024, 4096)] * 14 + [rng.randint(4096, 32768)] * 5 + [rng.randint(32768, 131072)])
    minute = i % 60
    head = [f"From: Sender {i % 50} <sender{i % 50}@example.org>", "To: u@test",
            f"Subject: topic-{i % 100} {' '.join(rng.choice(WORDS) for _ in range(4))}",
            f"Date: Sat, 1 Nov 2025 {10 + i // 3600 % 12:02d}:{minute:02d}:{i % 59:02d} +0000",
            f"Message-ID: <{i}.bench@example.org>", "MIME-Version: 1.0"]
    if i % 10 == 3:
        att = rng.randbytes(size // 2)
        b64 = base64.encodebytes(att).decode().replace("\n", "\r\n")
        head.append('Content-Type: multipart/mixed; boundary="b-%d"' % i)
        body = (f"--b-{i}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
                + "\r\n".join(text_lines(rng, size // 3)) + f"\r\n--b-{i}\r\n"
                "Content-Type: application/octet-stream; name=\"a.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                + b64 + f"--b-{i}--\r\n")
    else:
        head.append("Content-Type: text/plain; charset=utf-8")
        body = "\r\n".join(text_lines(rng, size)) + "\r\n"
    return ("\r\n".join(head) + "\r\n\r\n" + body).encode()


def make_maildir(path, count, seed=1):
    rng = random.Random(seed)
    for d in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(path, d), exist_ok=True)
    for i in range(count):
        data = make_message(rng, i)
        flags = "S" if i % 5 else ""
        if i % 17 == 0:
            flags = "F" + flags
        name = f"{1762000000 + i}.M{i}P1.bench,S={len(data)}:2,{flags}"
        with open(os.path.join(path, "cur", name), "wb") as f:
            f.write(data)


# ---------------------------------------------------------------- servers

def tree_pids(root):
    """root and all its descendants, from /proc."""
    children = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def memory_kib(pids):
    """(sum VmRSS, sum Pss) in KiB over pids that still exist."""
    rss = pss = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/status") as f:
                rss += sum(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
            with open(f"/proc/{p}/smaps_rollup") as f:
                pss += sum(int(l.split()[1]) for l in f if l.startswith("Pss:"))
        except OSError:
            pass
    return rss, pss


class Calm:
    name = "calm"
    user = "u@test"

    def __init__(self, work, binary, cert, key, maildir):
        self.dir = os.path.join(work, "calm")
        os.makedirs(self.dir)
        self.port = free_port()
        self.cfg = os.path.join(self.dir, "calm.toml")
        with open(self.cfg, "w") as f:
            f.write(f"""[server]
hostname = "imap.bench.test"
data_dir = "data"
local_domains = ["test"]

[[listener]]
name = "imaps"
role = "imaps"
address = "127.0.0.1:{self.port}"

[tls]
cert = "{cert}"
key = "{key}"

[admin]
enabled = false

[policy]
dns_lookups = false

[content]
authenticate = false

[outbound]
# Nothing here is delivered remotely; never ask a real DNS server.
resolver = "127.0.0.1:9"
""")
        subprocess.run([binary, "user", "add", self.user, "--password", "bench", "--config", self.cfg],
                       check=True, capture_output=True, cwd=self.dir)
        shutil.copytree(maildir, os.path.join(self.dir, "data", "mail", "test", "u"), dirs_exist_ok=True)
        self.binary, self.proc = binary, None

    def start(self):
        self.proc = subprocess.Popen([self.binary, "serve", "--config", self.cfg], cwd=self.dir,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port)

    def pids(self):
        return [self.proc.pid]

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait(10)


class Dovecot:
    name = "dovecot"
    user = "u@test"

    def __init__(self, work, cert, key, maildir, idle):
        self.dir = os.path.join(work, "dovecot")
        self.mail = os.path.join(self.dir, "mail")
        for d in ("run", "state", "mail"):
            os.makedirs(os.path.join(self.dir, d))
        self.port = free_port()
        if subprocess.run(["id", "benchmail"], capture_output=True).returncode != 0:
            subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "benchmail"],
                           check=True)
        passwd = os.path.join(self.dir, "passwd")
        with open(passwd, "w") as f:
            f.write("u:{PLAIN}bench::::::\n")
        os.chmod(passwd, 0o640)
        shutil.chown(passwd, group="dovecot")
        dst = os.path.join(self.mail, "u", "Maildir")
        shutil.copytree(maildir, dst)
        for root, dirs, files in os.walk(self.mail):
            shutil.chown(root, "benchmail", "benchmail")
            for n in files:
                shutil.chown(os.path.join(root, n), "benchmail", "benchmail")
        self.conf = os.path.join(self.dir, "dovecot.conf")
        self.write_conf(cert, key, passwd, idle)
        self.master = None

    def write_conf(self, cert, key, passwd, idle):
        # Debian's defaults otherwise (high-security login processes, one imap process per
        # connection, mail_fsync = optimized); the limits are raised so --idle connections fit.
        limit = idle + 200
        dh = "ssl_dh = </usr/share/dovecot/dh.pem\n" if os.path.exists("/usr/share/dovecot/dh.pem") else ""
        with open(self.conf, "w") as f:
            f.write(f"""instance_name = calm-bench-dovecot
base_dir = {self.dir}/run
state_dir = {self.dir}/state
protocols = imap
listen = 127.0.0.1
log_path = {self.dir}/dovecot.log
ssl = required
ssl_cert = <{cert}
ssl_key = <{key}
{dh}auth_mechanisms = plain login
first_valid_uid = 100
mail_location = maildir:{self.mail}/%n/Maildir
default_login_user = dovenull
default_internal_user = dovecot
default_process_limit = {limit}
default_client_limit = {3 * limit}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%n {passwd}
}}
userdb {{
  driver = passwd-file
  args = username_format=%n {passwd}
  default_fields = uid=benchmail gid=benchmail home={self.mail}/%n
}}
protocol imap {{
  mail_max_userip_connections = {limit}
}}
service imap-login {{
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.port}
  }}
}}
namespace inbox {{
  inbox = yes
  separator = /
}}
""")

    def start(self):
        subprocess.run(["dovecot", "-c", self.conf], check=True)
        self.master = self.find_master()
        wait_port(self.port)

    def find_master(self):
        """The daemonized master: the process whose command line names our config file."""
        for _ in range(50):
            for d in os.listdir("/proc"):
                try:
                    with open(f"/proc/{d}/cmdline", "rb") as f:
                        argv = f.read().split(b"\0")
                except OSError:
                    continue
                if argv[0].endswith(b"dovecot") and self.conf.encode() in argv:
                    return int(d)
            time.sleep(0.1)
        sys.exit("dovecot did not start: see its log")

    def pids(self):
        return tree_pids(self.master)

    def stop(self):
        if self.master:
            os.kill(self.master, 15)
            for _ in range(40):
                try:
                    os.kill(self.master, 0)
                except ProcessLookupError:
                    return
                time.sleep(0.25)


# ---------------------------------------------------------------- clients

def connect(port, cafile, user):
    ctx = ssl.create_default_context(cafile=cafile)
    m = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=ctx, timeout=120)
    m.login(user, "bench")
    return m


def check(typ, data, what):
    if typ != "OK":
        raise imaplib.IMAP4.error(f"{what}: {typ} {data!r}")
    return data


def one_round(m, rng, r, wid, stats):
    def timed(kind, fn):
        t = time.perf_counter()
        out = fn()
        s = stats[kind]
        s[0] += 1
        s[1] += time.perf_counter() - t
        return out

    n = int(check(*timed("select", lambda: m.select("INBOX")), "SELECT")[0])
    base = rng.randint(1, max(1, min(n, N_BASE) - 20))
    check(*timed("fetch-headers", lambda: m.fetch(f"{base}:{base + 19}", HEADER_FETCH)), "FETCH headers")
    for _ in range(2):
        k = rng.randint(1, min(n, N_BASE))
        d = check(*timed("fetch-body", lambda: m.fetch(str(k), "(BODY.PEEK[])")), "FETCH body")
        if not d or not isinstance(d[0], tuple) or len(d[0][1]) < 100:
            raise imaplib.IMAP4.error(f"FETCH {k} BODY[] returned {str(d)[:80]}")
    crit = [("SUBJECT", f"topic-{rng.randrange(100)}"), ("FROM", f"sender{rng.randrange(50)}@"),
            ("UNSEEN", "FLAGGED"), ("BODY", rng.choice(WORDS) + " " + rng.choice(WORDS))][r % 4]
    if crit[0] == "BODY":
        crit = ("BODY", '"%s"' % crit[1])
    check(*timed("search", lambda: m.uid("SEARCH", *crit)), "SEARCH")
    k = rng.randint(1, min(n, N_BASE))
    op = "+FLAGS" if r % 2 == 0 else "-FLAGS"
    check(*timed("store", lambda: m.store(str(k), op, "(\\Flagged)")), "STORE")
    msg = (f"From: client{wid}@example.org\r\nTo: u@test\r\nSubject: appended {wid}-{r}\r\n"
           f"Message-ID: <{wid}.{r}.{rng.random()}@bench>\r\n\r\n" + "hello imap bench\r\n" * 100).encode()
    d = check(*timed("append", lambda: m.append("INBOX", "(\\Seen)", None, msg)), "APPEND")
    uid = re.search(rb"APPENDUID \d+ (\d+)", d[0] or b"")
    if not uid:
        raise imaplib.IMAP4.error(f"APPEND without APPENDUID: {d!r}")
    check(*timed("store-deleted", lambda: m.uid("STORE", uid.group(1).decode(), "+FLAGS.SILENT", "(\\Deleted)")),
          "UID STORE")
    check(*timed("expunge", lambda: m.expunge()), "EXPUNGE")


N_BASE = 0  # base message count, set in main before the workers fork


def worker(port, cafile, user, rounds, wid, barrier, out):
    stats = {k: [0, 0.0] for k in KINDS}
    errors = []
    rng = random.Random(wid)
    try:
        m = connect(port, cafile, user)
    except Exception as e:  # a client that cannot connect still releases the barrier
        barrier.wait()
        out.put((stats, [f"connect: {e}"]))
        return
    barrier.wait()
    for r in range(rounds):
        try:
            one_round(m, rng, r, wid, stats)
        except Exception as e:
            errors.append(f"round {r}: {str(e)[:160]}")
            if len(errors) > 5:
                break
    try:
        m.logout()
    except Exception:
        pass
    out.put((stats, errors))


def warm_up(server, cafile):
    """First SELECT builds each server's index/uidlist; one BODY search reads every file."""
    m = connect(server.port, cafile, server.user)
    t = time.perf_counter()
    n = int(check(*m.select("INBOX"), "SELECT")[0])
    first = time.perf_counter() - t
    m.uid("SEARCH", "BODY", "zulu")
    m.logout()
    print(f"  {server.name:8} first SELECT {first * 1000:7.0f} ms ({n} messages)", flush=True)
    return n


def load_run(server, a, cafile):
    barrier, out = multiprocessing.Barrier(a.clients + 1), multiprocessing.Queue()
    procs = [multiprocessing.Process(target=worker, args=(server.port, cafile, server.user, a.rounds, w, barrier, out))
             for w in range(a.clients)]
    for p in procs:
        p.start()
    barrier.wait()
    t0 = time.perf_counter()
    results = [out.get() for _ in procs]
    wall = time.perf_counter() - t0
    for p in procs:
        p.join()
    total = {k: [0, 0.0] for k in KINDS}
    errors = []
    for stats, errs in results:
        errors += errs
        for k, (c, s) in stats.items():
            total[k][0] += c
            total[k][1] += s
    ops = sum(c for c, _ in total.values())
    print(f"  {server.name:8} {ops / wall:7.0f} ops/s   ({ops} commands in {wall:5.1f} s, {len(errors)} errors)",
          flush=True)
    for e in errors[:3]:
        print(f"    error: {e}")
    return ops / wall, total


def idle_memory(server, a, cafile):
    time.sleep(1)
    before = memory_kib(server.pids())
    conns, failed = [], 0

    def open_one(_):
        m = connect(server.port, cafile, server.user)
        if a.idle_select:
            m.select("INBOX")
        return m

    with concurrent.futures.ThreadPoolExecutor(a.idle_parallel) as ex:
        for f in [ex.submit(open_one, i) for i in range(a.idle)]:
            try:
                conns.append(f.result())
            except Exception as e:
                failed += 1
                if failed == 1:
                    print(f"    idle connection failed: {str(e)[:160]}")
    time.sleep(2)
    after = memory_kib(server.pids())
    n = len(conns)
    rss, pss = ((after[i] - before[i]) / max(n, 1) for i in (0, 1))
    print(f"  {server.name:8} {n} idle connections ({failed} failed): RSS {before[0] / 1024:6.1f} -> "
          f"{after[0] / 1024:6.1f} MiB = {rss:6.1f} KiB/conn;  PSS {before[1] / 1024:6.1f} -> "
          f"{after[1] / 1024:6.1f} MiB = {pss:6.1f} KiB/conn", flush=True)
    for m in conns:
        try:
            m.shutdown()
        except Exception:
            pass
    return rss, pss


def make_cert(work):
    cert, key = os.path.join(work, "cert.pem"), os.path.join(work, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                    "/CN=imap.bench.test", "-addext", "subjectAltName=IP:127.0.0.1,DNS:imap.bench.test",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    os.chmod(key, 0o600)
    return cert, key


def main():
    global N_BASE
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--msgs", type=int, default=3000, help="messages in the mailbox")
    p.add_argument("--clients", type=int, default=8, help="concurrent IMAP clients (processes)")
    p.add_argument("--rounds", type=int, default=60, help="rounds of 9 commands per client and run")
    p.add_argument("--idle", type=int, default=1000, help="idle connections for the memory figure (0: skip)")
    p.add_argument("--idle-parallel", type=int, default=8, help="connections opened (TLS + LOGIN) at a time")
    p.add_argument("--idle-select", action="store_true", help="idle connections also SELECT INBOX")
    p.add_argument("--calm", default=os.path.join(ROOT, "target", "release", "calm"))
    a = p.parse_args()
    N_BASE = a.msgs
    os.environ["PATH"] += ":/usr/sbin"
    if not shutil.which("dovecot"):
        sys.exit("dovecot not found: apt-get install dovecot-imapd")
    if not os.path.exists(a.calm):
        subprocess.run(["cargo", "build", "--release", "-p", "calm"], cwd=ROOT, check=True)
    # Each idle connection is one socket here and one (calm) or two (Dovecot) in the server.
    need = 4 * a.idle + 1024
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, max(hard, need)))
    work = tempfile.mkdtemp(prefix="calm-imap-bench-")
    os.chmod(work, 0o755)  # Dovecot's mail processes run as benchmail and must reach their Maildir
    servers, results, mem = [], {}, {}
    try:
        cert, key = make_cert(work)
        src = os.path.join(work, "maildir")
        t = time.perf_counter()
        make_maildir(src, a.msgs)
        print(f"mailbox: {a.msgs} messages, {sum(f.stat().st_size for f in os.scandir(os.path.join(src, 'cur'))) >> 20}"
              f" MiB, generated in {time.perf_counter() - t:.1f} s", flush=True)
        servers = [Calm(work, a.calm, cert, key, src), Dovecot(work, cert, key, src, a.idle)]
        for s in servers:
            s.start()
        if a.idle:
            print(f"idle memory: {a.idle} logged-in IMAPS connections{' with INBOX selected' if a.idle_select else ''}")
            for s in servers:
                mem[s.name] = idle_memory(s, a, cert)
        if a.runs:
            print("warm-up:")
        for s in servers[:len(servers) if a.runs else 0]:
            warm_up(s, cert)
        results = {s.name: [] for s in servers}
        for i in range(a.runs):
            print(f"run {i + 1}/{a.runs}: {a.clients} clients x {a.rounds} rounds x 9 commands, {a.msgs} messages")
            for s in servers:
                results[s.name].append(load_run(s, a, cert))
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(work, ignore_errors=True)
    report(results, mem, a)


def report(results, mem, a):
    if a.runs:
        report_ops(results, a)
    if mem:
        (cr, _), (dr, dp) = mem["calm"], mem["dovecot"]
        print(f"  idle memory per connection: calm {cr:.1f} KiB (RSS)   dovecot {dp:.1f} KiB (PSS), {dr:.1f} KiB"
              f" (RSS sum)   ratio dovecot PSS/calm {dp / cr if cr > 0 else float('nan'):.1f}")


def report_ops(results, a):
    med = {n: statistics.median(r[0] for r in runs) for n, runs in results.items()}
    print(f"median of {a.runs}:")
    c, d = med["calm"], med["dovecot"]
    print(f"  ops/s      calm {c:7.0f}   dovecot {d:7.0f}   ratio calm/dovecot {c / d if d else float('nan'):5.2f}")
    print("  mean latency per command kind, ms (all runs):")
    for k in KINDS:
        row = []
        for n in ("calm", "dovecot"):
            cnt = sum(r[1][k][0] for r in results[n])
            row.append(sum(r[1][k][1] for r in results[n]) / cnt * 1000 if cnt else float("nan"))
        print(f"    {k:14} calm {row[0]:7.2f}   dovecot {row[1]:7.2f}")


if __name__ == "__main__":
    main()
