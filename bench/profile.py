#!/usr/bin/env python3
"""Where a backend's time goes: runs one statement in a fresh connection while `perf record`
samples that backend, then prints the flat profile by shared object and by symbol.
Usage: bench/profile.py HOST PORT DBNAME OUTPUT_PREFIX STATEMENT"""
import signal
import subprocess
import sys
import time

import psycopg


def main():
    host, port, dbname, prefix, statement = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
    data = f"{prefix}.perf.data"
    with psycopg.connect(host=host, port=port, user="postgres", dbname=dbname, autocommit=True) as c:
        c.execute("SET max_parallel_workers_per_gather = 0")
        perf = subprocess.Popen(
            ["perf", "record", "-q", "-e", "cpu-clock", "-F", "2000", "-g", "-p", str(c.info.backend_pid), "-o", data],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        time.sleep(1)  # perf attaches asynchronously
        started = time.monotonic()
        c.execute(statement)
        elapsed = time.monotonic() - started
        perf.send_signal(signal.SIGINT)
        _, perf_errors = perf.communicate()
    # perf re-raises the SIGINT that stopped it once its data is written.
    if perf.returncode not in (0, -signal.SIGINT):
        sys.exit(f"perf record failed (exit {perf.returncode}): {perf_errors.strip()}")
    print(f"statement took {elapsed:.1f} s")
    for sort, limit in (("dso", "1"), ("dso,sym", "0.8")):
        report = subprocess.run(
            ["perf", "report", "-i", data, "--no-children", "-g", "none", "--stdio", "--sort", sort, "--percent-limit", limit],
            capture_output=True, text=True, check=True).stdout
        print("\n".join(line for line in report.splitlines() if line.strip() and not line.startswith("#")))
        print()


if __name__ == "__main__":
    main()
