#!/usr/bin/env python3
"""Content filtering's cost: calm with the data-stage content pipeline on vs off, same run.

Two calm instances, identical but for `[content] enabled`, take the same smtp-source load
(new connection per message, 4 KiB, 20 sessions); runs alternate. Prints accept and end-to-end
rates of each and the ratio on/off. SPF/DKIM/DMARC stay off in both (the sender domain is made
up and no DNS may leave the machine); clamd is not configured. What is measured: parsing with
mail-parser, the content rules, Bayes (untrained: no probability), header rendering.

  bench/content_bench.py [--runs 3] [--msgs 5000] [--sessions 20] [--size 4096]
"""
import argparse, os, shutil, statistics, subprocess, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import smtp_bench as sb  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--msgs", type=int, default=5000)
    p.add_argument("--sessions", type=int, default=20)
    p.add_argument("--size", type=int, default=4096)
    p.add_argument("--reuse", action="store_true")
    p.add_argument("--calm", default=os.path.join(sb.ROOT, "target", "release", "calm"))
    a = p.parse_args()
    os.environ["PATH"] += ":/usr/sbin"
    if not shutil.which("smtp-source"):
        sys.exit("smtp-source not found: apt-get install postfix")
    if not os.path.exists(a.calm):
        subprocess.run(["cargo", "build", "--release", "-p", "calm"], cwd=sb.ROOT, check=True)
    work = tempfile.mkdtemp(prefix="calm-content-bench-")
    servers = [sb.Calm(work, a.calm, "content-on"),
               sb.Calm(work, a.calm, "content-off", "enabled = false")]
    results = {s.name: [] for s in servers}
    try:
        for s in servers:
            s.start()
        for i in range(a.runs):
            print(f"run {i + 1}/{a.runs}: {a.msgs} x {a.size} B, {a.sessions} sessions")
            for s in servers:
                results[s.name].append(sb.one_run(s, a))
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(work, ignore_errors=True)
    med = {n: [statistics.median(x[i] for x in r) for i in (0, 1)] for n, r in results.items()}
    print(f"median of {a.runs}:")
    for kind, i in (("accept", 0), ("end-to-end", 1)):
        on, off = med["content-on"][i], med["content-off"][i]
        print(f"  {kind:10}  content on {on:7.0f} msg/s   off {off:7.0f} msg/s   ratio on/off {on / off:5.2f}")


if __name__ == "__main__":
    main()
