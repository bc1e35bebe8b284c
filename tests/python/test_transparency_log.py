"""The attestation log as a verifiable log: checkpoints are signed Merkle tree heads (C2SP signed
notes), and every inclusion and consistency proof parmana serves verifies with an independent RFC
9162 implementation (tlog.py, from the shared test vectors, with the notes checked by it too) and
with the parmana-verify tool. Tampered leaves, re-sealed history and forked tree heads are refused.
"""
import base64
import json
import random

import pytest
import rfc8785

from conftest import fresh_database
from tlog_support import LOAN, SMALL, Log, b64, execute, leaf_of, needs_tlog, resign, rewrite_and_reseal, run_tool, stolen_key, tlog

@pytest.fixture(scope="module")
def small_log(tmp_path_factory):
    """Checkpoints at every size 1..70: each call seals what the previous call's watermark covers."""
    conn = fresh_database("parmana_tlog_small", policies=[LOAN])
    for n in range(1, SMALL + 1):
        execute(conn, n, n)
        conn.execute("SELECT parmana.parmana_checkpoint()")
    conn.execute("SELECT parmana.parmana_checkpoint()")
    log = Log(conn, tmp_path_factory.mktemp("small_log"))
    yield log
    conn.close()


@needs_tlog
def test_checkpoints_are_signed_tree_heads_of_the_rows(small_log):
    heads = small_log.heads()
    assert sorted(heads) == list(range(1, SMALL + 1))
    docs = [r[0] for r in small_log.conn.execute("SELECT attestation FROM parmana.attestations ORDER BY id")]
    entries = [rfc8785.dumps(d) for d in docs]
    for size, (root, _) in heads.items():
        assert tlog.root_hash(entries[:size]) == root, size


@needs_tlog
def test_inclusion_proofs_for_every_leaf_of_every_size(small_log):
    heads = small_log.heads()
    proofs = []
    for size in range(1, SMALL + 1):
        for attestation_id in range(1, size + 1):
            proof = small_log.conn.execute(
                "SELECT parmana.parmana_inclusion_proof(%s, %s)", (attestation_id, size)
            ).fetchone()[0]
            root, note = heads[size]
            assert proof["checkpoint"] == note and proof["treeSize"] == size
            hashes = [b64(h) for h in proof["hashes"]]
            leaf = leaf_of(proof["attestation"])
            assert b64(proof["leafHash"]) == leaf
            assert tlog.verify_inclusion(leaf, proof["leafIndex"], size, hashes, root), (attestation_id, size)
            assert hashes == tlog.inclusion_proof_from_leaf_hashes(
                [leaf_of(d) for d in small_log_docs(small_log)[:size]], proof["leafIndex"])
            proofs.append(proof)
    assert len(proofs) == SMALL * (SMALL + 1) // 2
    result = run_tool("inclusion", "--log-key", f"@{small_log.vkey_file}", "--public-key", small_log.pem_file,
                      small_log.write_lines("inclusion.jsonl", proofs))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("\nok ") + result.stdout.startswith("ok ") == len(proofs)


_docs = {}


def small_log_docs(log):
    if "small" not in _docs:
        _docs["small"] = [r[0] for r in log.conn.execute("SELECT attestation FROM parmana.attestations ORDER BY id")]
    return _docs["small"]


@needs_tlog
def test_consistency_proofs_between_random_pairs(small_log):
    heads = small_log.heads()
    leaves = [leaf_of(d) for d in small_log_docs(small_log)]
    rng = random.Random(9162)
    pairs = {(m, SMALL) for m in range(1, SMALL + 1)} | {tuple(sorted(rng.sample(range(1, SMALL + 1), 2))) for _ in range(400)}
    proofs = []
    for old, new in sorted(pairs):
        proof = small_log.conn.execute("SELECT parmana.parmana_consistency_proof(%s, %s)", (old, new)).fetchone()[0]
        hashes = [b64(h) for h in proof["hashes"]]
        assert hashes == tlog.consistency_proof_from_leaf_hashes(leaves[:new], old)
        if old < new:
            assert tlog.verify_consistency(old, new, hashes, heads[old][0], heads[new][0]), (old, new)
        assert proof["oldCheckpoint"] == heads[old][1] and proof["checkpoint"] == heads[new][1]
        proofs.append(proof)
    result = run_tool("consistency", "--log-key", small_log.vkey, small_log.write_lines("consistency.jsonl", proofs))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "FAIL" not in result.stdout


@needs_tlog
def test_a_tampered_leaf_is_refused(small_log):
    proof = small_log.conn.execute("SELECT parmana.parmana_inclusion_proof(7, 70)").fetchone()[0]
    forged = json.loads(json.dumps(proof))
    forged["attestation"]["decision"]["action"] = "reject"
    root = small_log.heads()[70][0]
    hashes = [b64(h) for h in proof["hashes"]]
    assert not tlog.verify_inclusion(leaf_of(forged["attestation"]), proof["leafIndex"], 70, hashes, root)
    # The tool refuses it whether the forger kept the old leafHash or recomputed it.
    kept = run_tool("inclusion", "--log-key", small_log.vkey, small_log.write_lines("kept.jsonl", [forged]))
    assert kept.returncode == 1 and "leafHash is not the hash of the attestation" in kept.stdout
    del forged["leafHash"]
    recomputed = run_tool("inclusion", "--log-key", small_log.vkey, small_log.write_lines("recomputed.jsonl", [forged]))
    assert recomputed.returncode == 1 and "is not in the signed tree" in recomputed.stdout
    # A proof for another position, or against a note signed by another key, fails too.
    moved = dict(proof, leafIndex=8)
    assert run_tool("inclusion", "--log-key", small_log.vkey, small_log.write_lines("moved.jsonl", [moved])).returncode == 1
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
    impostor = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    other_key = tlog.format_verifier_key(small_log.vkey.split("+")[0], impostor)
    wrong_key = run_tool("inclusion", "--log-key", other_key, small_log.write_lines("proof.jsonl", [proof]))
    assert wrong_key.returncode == 1 and "no signature by a known key" in wrong_key.stdout


@needs_tlog
def test_resealed_history_and_forked_heads_are_refused(tmp_path):
    """A superuser with the key rewrites a decision, re-signs it, throws the checkpoints away and
    seals the log again. The rewritten log verifies on its own; against a tree head an auditor
    kept from before, it is a fork: no consistency proof connects them."""
    conn = fresh_database("parmana_tlog_reseal", policies=[LOAN])
    try:
        execute(conn, 1, 20)
        conn.execute("SELECT parmana.parmana_checkpoint()")
        conn.execute("SELECT parmana.parmana_checkpoint()")
        log = Log(conn, tmp_path)
        kept_root, kept_note = log.heads()[20]
        (tmp_path / "kept.note").write_text(kept_note)

        rewrite_and_reseal(conn, 5)
        conn.execute("SELECT parmana.parmana_checkpoint()")
        conn.execute("SELECT parmana.parmana_checkpoint()")
        execute(conn, 21, 30)
        conn.execute("SELECT parmana.parmana_checkpoint()")
        conn.execute("SELECT parmana.parmana_checkpoint()")
        # The rewritten log is self-consistent: signatures verify, the new heads match the rows.
        assert conn.execute("SELECT parmana.parmana_verify(attestation)->>'valid' FROM parmana.attestations WHERE id = 5").fetchone()[0] == "true"
        new_heads = log.heads()
        new_size = max(new_heads)
        assert new_size == 30
        # Against the kept head: the consistency proof the log now serves does not verify.
        proof = conn.execute("SELECT parmana.parmana_consistency_proof(20, 30)").fetchone()[0]
        hashes = [b64(h) for h in proof["hashes"]]
        assert not tlog.verify_consistency(20, 30, hashes, kept_root, new_heads[30][0])
        del proof["oldCheckpoint"]
        refused = run_tool("consistency", "--log-key", log.vkey, "--old-checkpoint", tmp_path / "kept.note",
                           log.write_lines("resealed.jsonl", [proof]))
        assert refused.returncode == 1 and "is not a prefix" in refused.stdout, refused.stdout
        # Two signed heads of the same size with different roots: a fork.
        forked = {"oldSize": 20, "newSize": 20, "hashes": [], "checkpoint": new_heads[20][1]}
        assert new_heads[20][0] != kept_root
        fork = run_tool("consistency", "--log-key", log.vkey, "--old-checkpoint", tmp_path / "kept.note",
                        log.write_lines("fork.jsonl", [forked]))
        assert fork.returncode == 1 and "is not a prefix" in fork.stdout
        # The kept note still verifies: it is the auditor's evidence of what the log said.
        assert run_tool("note", "--key", log.vkey, tmp_path / "kept.note").returncode == 0
    finally:
        conn.close()


def test_the_audit_reports_rewritten_rows_under_kept_checkpoints(tmp_path):
    conn = fresh_database("parmana_tlog_rewrite", policies=[LOAN])
    try:
        execute(conn, 1, 10)
        conn.execute("SELECT parmana.parmana_checkpoint()")
        conn.execute("SELECT parmana.parmana_checkpoint()")
        key = stolen_key(conn)
        original = conn.execute("SELECT attestation FROM parmana.attestations WHERE id = 3").fetchone()[0]
        with conn.transaction():
            conn.execute("SET LOCAL session_replication_role = replica")
            conn.execute("UPDATE parmana.attestations SET attestation = %s WHERE id = 3",
                         (json.dumps(resign(dict(original, issuedAt="2020-01-01T00:00:00.000Z"), key)),))
        problems = conn.execute("SELECT problem FROM parmana.parmana_audit_verify()").fetchall()
        assert ("checkpoint_digest",) in problems
    finally:
        conn.close()


def test_the_tool_reports_every_bad_row_of_an_export(small_log):
    conn, tmp = small_log.conn, small_log.tmp
    with conn.cursor() as cur:
        with cur.copy("COPY (SELECT id, attestation FROM parmana.attestations ORDER BY id) TO STDOUT") as copy:
            export = b"".join(bytes(chunk) for chunk in copy)
        with cur.copy("COPY (SELECT note FROM parmana.checkpoints WHERE note IS NOT NULL ORDER BY tree_size) TO STDOUT") as copy:
            notes = b"".join(bytes(chunk) for chunk in copy)
    (tmp / "log.copy").write_bytes(export)
    (tmp / "notes.copy").write_bytes(notes)
    args = ["log", "--public-key", small_log.pem_file, "--log-key", small_log.vkey, "--checkpoints", tmp / "notes.copy"]
    ok = run_tool(*args, tmp / "log.copy")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert f"{SMALL} rows, {SMALL} checkpoints checked, 0 problems" in ok.stderr

    lines = export.decode().splitlines()
    lines[9] = lines[9].replace('"approve"', '"reject"', 1)
    del lines[30]
    (tmp / "bad.copy").write_text("\n".join(lines) + "\n")
    bad = run_tool(*args, tmp / "bad.copy")
    assert bad.returncode == 1
    assert "FAIL line 10 (attestation 10): signature does not verify" in bad.stdout
    # Every checkpoint from size 10 on sees a changed tree; the last one sees a short export.
    assert bad.stdout.count("the log was changed") == SMALL - 10
    assert f"FAIL checkpoint at size {SMALL}: the export holds only {SMALL - 1} rows" in bad.stdout
    assert run_tool("log", "--public-key", small_log.pem_file, tmp / "missing.copy").returncode == 2
