#!/usr/bin/env python3
"""A reviewer worker: resolves parmana's pending overrides, event-driven.

It LISTENs on parmana_pending_override and drains the queue (parmana.pending_overrides) at start
and whenever a notification says a new execution was committed for review. The
decision rule here is a stand-in for a human or a case-management system: approve when the
pending action is in --approve-actions, reject otherwise.

usage: reviewer.py --dsn "host=... user=reviewer dbname=..." --reviewer jane --role credit_officer
                   [--approve-actions manual_review,...] [--max N] [--idle-timeout S]
The database user must be a member of parmana_approver and must not be the executing user.
"""
import argparse
import sys

import psycopg


def resolve(conn, execution_id, action, args):
    """Approve or reject one pending execution; returns False when it is not ours to resolve."""
    approve = action in args.approve_actions
    reason = f"{'approved' if approve else 'rejected'} by reviewer worker: action {action}"
    try:
        with conn.transaction():
            result = conn.execute(
                "SELECT parmana.parmana_override(%s, %s, %s, %s, %s)",
                (execution_id, approve, args.reviewer, args.role, reason),
            ).fetchone()[0]
    except psycopg.Error as e:
        # Resolved by another reviewer meanwhile (SYS-026), nothing pending any more (SYS-021), or
        # not ours to resolve (AUTH-0xx: wrong approver_role, or we executed it ourselves).
        if e.sqlstate in ("55000", "P0002", "42501"):
            print(f"skip {execution_id}: {str(e).splitlines()[0]}", flush=True)
            return False
        raise
    print(f"{result['status']} {execution_id} overrideId={result['overrideId']}", flush=True)
    return True


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dsn", required=True)
    p.add_argument("--reviewer", required=True, help="approved_by: who decided")
    p.add_argument("--role", required=True, help="approver_role, checked against parmana.override_authorities")
    p.add_argument("--approve-actions", default="manual_review", type=lambda s: set(s.split(",")))
    p.add_argument("--max", type=int, default=0, help="stop after resolving this many (0: run forever)")
    p.add_argument("--idle-timeout", type=float, default=0, help="stop after this many idle seconds (0: never)")
    args = p.parse_args(argv)

    resolved, skipped = 0, set()
    with psycopg.connect(args.dsn, autocommit=True) as conn:
        # LISTEN first, then read the queue: nothing committed in between is missed. A
        # notification only wakes the worker; parmana.pending_overrides is the source of truth.
        conn.execute("LISTEN parmana_pending_override")
        print("listening on parmana_pending_override", flush=True)
        while True:
            queue = conn.execute("SELECT execution_id, action FROM parmana.pending_overrides ORDER BY requested_at").fetchall()
            for execution_id, action in queue:
                if execution_id in skipped:
                    continue
                if resolve(conn, execution_id, action, args):
                    resolved += 1
                else:
                    skipped.add(execution_id)
                if args.max and resolved >= args.max:
                    return 0
            # psycopg holds the connection while notifies() runs: wait for one wake-up, then drain.
            if not list(conn.notifies(timeout=args.idle_timeout or None, stop_after=1)):
                print("idle: stopping", flush=True)
                return 0


if __name__ == "__main__":
    sys.exit(main())
