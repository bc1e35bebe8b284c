#!/usr/bin/env python3
"""(c) Per-backend memory over one million executes: one connection runs 100 transactions of
10,000 executes; its backend's VmRSS and RssAnon (private memory) are read from /proc after
100,000 and after 1,000,000. Then the peak private memory while one checkpoint seals all those rows
and while parmana.parmana_audit_verify() checks them (bounded by a batch, not by the log's size).
Usage: bench/memory.py HOST PORT [total] [dbname]"""
import sys
import threading
import time

import psycopg


def mem(pid):
    fields = {}
    for line in open(f"/proc/{pid}/status"):
        key, value = line.split(":", 1)
        fields[key] = int(value.split()[0]) if value.strip().endswith("kB") else value.strip()
    return fields["VmRSS"], fields["RssAnon"]


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    total = int(sys.argv[3]) if len(sys.argv) > 3 else 1_000_000
    dbname = sys.argv[4] if len(sys.argv) > 4 else "bench"
    batch = min(10_000, total // 10)
    with psycopg.connect(host=host, port=port, user="postgres", dbname=dbname, autocommit=True) as c:
        pid = c.info.backend_pid
        samples = {}
        for b in range(total // batch):
            c.execute(
                "SELECT count(parmana.parmana_execute('m-' || %s || '-' || g, 'loan-approval', '1.0.0', "
                "'{\"credit_score\": 720, \"loan_amount\": 1}')) FROM generate_series(1, %s) g", (b, batch))
            done = (b + 1) * batch
            if done in (batch, total // 10, total):
                samples[done] = mem(pid)
                print(f"after {done:>9,} executes: VmRSS {samples[done][0]:,} kB, RssAnon {samples[done][1]:,} kB", flush=True)
        tenth, full = samples[total // 10], samples[total]
        print(f"growth from {total // 10:,} to {total:,}: VmRSS {full[0] / tenth[0] - 1:+.1%}, RssAnon {full[1] / tenth[1] - 1:+.1%}")
        c.execute("SELECT parmana.parmana_checkpoint()")  # the watermark the next call seals up to
        for statement in ("SELECT parmana.parmana_checkpoint()->'sealed'->>'rowCount'", "SELECT count(*) FROM parmana.parmana_audit_verify()"):
            result, peak = peak_private_memory(c, pid, statement)
            print(f"{statement}: {result}; peak RssAnon during the call {peak:,} kB", flush=True)


def peak_private_memory(conn, pid, statement):
    """Run statement while sampling the backend's RssAnon every 20 ms; returns (result, peak kB)."""
    peak, done = [mem(pid)[1]], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], mem(pid)[1])
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        result = conn.execute(statement).fetchone()[0]
    finally:
        done.set()
        sampler.join()
    return result, peak[0]


if __name__ == "__main__":
    main()
