//! Verifying a whole exported log: every attestation's signature (in batches, on every core), the
//! Merkle tree recomputed from the rows in order, and every checkpoint note against that tree.
//!
//! The reader splits the input into chunks; worker threads parse, hash and verify chunks; the
//! collector puts the chunks back in order, appends their leaves to a compact range and checks
//! each checkpoint when the range reaches its size. Memory stays O(threads × chunk).

use crate::copy_text;
use crate::keys::{lookup, PublicKeys};
use parmana_core::checkpoint::attestation_leaf;
use parmana_core::merkle::{leaf_hash, CompactRange, Hash};
use parmana_core::note::{parse_note, verify_note, Checkpoint, VerifierKey};
use parmana_core::signing::base64_encode;
use parmana_core::verify::{prepare, verify_prepared, Prepared, VerifyReport};
use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Rows per chunk handed to a worker.
const CHUNK: usize = 4096;

pub struct Options {
    pub threads: usize,
    pub batch: usize,
    pub strict_only: bool,
    pub progress: bool,
}

/// One input line: its number and text.
type Line = (u64, String);

/// A numbered chunk of lines, in input order.
type Chunk = (u64, Vec<Line>);

struct ChunkResult {
    seq: u64,
    /// Per row: line number, attestation id (when exported), leaf hash.
    rows: Vec<(u64, Option<i64>, Hash)>,
    problems: Vec<String>,
}

/// Parse, hash and verify one chunk.
fn work_chunk(seq: u64, lines: Vec<Line>, keys: &PublicKeys, options: &Options) -> ChunkResult {
    let mut rows = Vec::with_capacity(lines.len());
    let mut problems = Vec::new();
    let mut prepared: Vec<Result<Prepared, VerifyReport>> = Vec::with_capacity(lines.len());
    let mut labels = Vec::with_capacity(lines.len());
    for (number, line) in lines {
        let fields = copy_text::fields(&line);
        let (id, text) = match fields.as_slice() {
            [Some(doc)] => (None, doc.clone()),
            [Some(id), Some(doc)] => (id.parse::<i64>().ok(), doc.clone()),
            _ => (None, String::new()),
        };
        let label = match id {
            Some(id) => format!("line {number} (attestation {id})"),
            None => format!("line {number}"),
        };
        match parmana_core::canonical::parse_json(&text) {
            Ok(doc) => {
                rows.push((number, id, attestation_leaf(&doc)));
                prepared.push(prepare(&doc, |kid| lookup(keys, kid)));
                labels.push(label);
            }
            Err(_) => {
                problems.push(format!("FAIL {label}: not an attestation (`id<TAB>json` or `json` expected)"));
                rows.push((number, id, leaf_hash(line.as_bytes())));
            }
        }
    }
    let reports: Vec<VerifyReport> = if options.strict_only {
        prepared
            .iter()
            .map(|p| match p {
                Ok(p) => p.verify_strict(),
                Err(report) => report.clone(),
            })
            .collect()
    } else {
        prepared.chunks(options.batch).flat_map(verify_prepared).collect()
    };
    for (label, report) in labels.iter().zip(reports) {
        if !report.valid {
            problems.push(format!("FAIL {label}: {}", report.reason.unwrap_or_default()));
        }
    }
    ChunkResult { seq, rows, problems }
}

/// The signed tree heads to check, by tree size, from a COPY export of notes.
fn checkpoints(path: &Path, log_keys: &[VerifierKey]) -> Result<(BTreeMap<u64, Checkpoint>, Vec<String>), String> {
    if log_keys.is_empty() {
        return Err("--checkpoints needs --log-key".into());
    }
    let mut heads = BTreeMap::new();
    let mut problems = Vec::new();
    let reader = crate::input::open(path)?;
    for (n, line) in reader.lines().enumerate() {
        let line = line.map_err(|e| format!("{}: {e}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let text = copy_text::unescape(line.split('\t').next_back().unwrap_or_default());
        let head = parse_note(&text).map_err(|e| e.to_string()).and_then(|note| {
            let signers = verify_note(&note, log_keys).map_err(|e| e.to_string())?;
            let head = Checkpoint::parse(&note.text).map_err(|e| e.to_string())?;
            if signers.contains(&head.origin) {
                Ok(head)
            } else {
                Err(format!("origin {} is not the name of a key that signed it", head.origin))
            }
        });
        match head {
            Ok(head) => {
                heads.insert(head.size, head);
            }
            Err(why) => problems.push(format!("FAIL checkpoint line {}: {why}", n + 1)),
        }
    }
    Ok((heads, problems))
}

struct Collector {
    tree: CompactRange,
    heads: BTreeMap<u64, Checkpoint>,
    last_id: Option<i64>,
    problems: u64,
    checked_heads: u64,
    started: Instant,
    last_progress: Instant,
    progress: bool,
}

impl Collector {
    fn problem(&mut self, line: String) {
        println!("{line}");
        self.problems += 1;
    }

    fn take(&mut self, chunk: ChunkResult) {
        for problem in chunk.problems {
            self.problem(problem);
        }
        for (number, id, leaf) in chunk.rows {
            if let (Some(last), Some(id)) = (self.last_id, id) {
                if id <= last {
                    self.problem(format!("FAIL line {number}: attestation {id} follows {last}: export in id order"));
                }
            }
            self.last_id = id.or(self.last_id);
            self.tree.push(leaf);
            if let Some(head) = self.heads.remove(&self.tree.size()) {
                self.check_head(&head);
            }
        }
        if self.progress && self.last_progress.elapsed().as_millis() >= 500 {
            self.last_progress = Instant::now();
            let rate = self.tree.size() as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
            eprint!("\r{} rows verified ({rate:.0}/s), {} problems", self.tree.size(), self.problems);
        }
    }

    fn check_head(&mut self, head: &Checkpoint) {
        self.checked_heads += 1;
        let root = self.tree.root();
        if root != head.root {
            self.problem(format!(
                "FAIL checkpoint at size {}: signed root {} but the rows give {}: the log was changed",
                head.size,
                base64_encode(&head.root),
                base64_encode(&root)
            ));
        }
    }
}

pub fn run(
    path: &Path,
    keys: &PublicKeys,
    log_keys: &[VerifierKey],
    checkpoint_file: Option<&Path>,
    options: &Options,
) -> Result<bool, String> {
    let (heads, head_problems) = match checkpoint_file {
        Some(file) => checkpoints(file, log_keys)?,
        None => (BTreeMap::new(), Vec::new()),
    };
    let now = Instant::now();
    let mut collector = Collector {
        tree: CompactRange::default(),
        heads,
        last_id: None,
        problems: 0,
        checked_heads: 0,
        started: now,
        last_progress: now,
        progress: options.progress,
    };
    for problem in head_problems {
        collector.problem(problem);
    }
    let reader = crate::input::open(path)?;
    let (chunk_tx, chunk_rx) = sync_channel::<Chunk>(options.threads * 2);
    let chunk_rx: Arc<Mutex<Receiver<Chunk>>> = Arc::new(Mutex::new(chunk_rx));
    let (result_tx, result_rx) = sync_channel::<ChunkResult>(options.threads * 2);
    let read_error = std::thread::scope(|scope| {
        for _ in 0..options.threads {
            let (rx, tx) = (Arc::clone(&chunk_rx), result_tx.clone());
            scope.spawn(move || loop {
                let next = rx.lock().map(|r| r.recv());
                let Ok(Ok((seq, lines))) = next else { break };
                if tx.send(work_chunk(seq, lines, keys, options)).is_err() {
                    break;
                }
            });
        }
        drop(result_tx);
        let collecting = scope.spawn(move || {
            let mut pending = BTreeMap::new();
            let mut next = 0u64;
            for result in result_rx {
                pending.insert(result.seq, result);
                while let Some(chunk) = pending.remove(&next) {
                    collector.take(chunk);
                    next += 1;
                }
            }
            collector
        });
        let mut seq = 0u64;
        let mut chunk = Vec::with_capacity(CHUNK);
        let mut error = None;
        for (n, line) in reader.lines().enumerate() {
            match line {
                Ok(line) if line.is_empty() => {}
                Ok(line) => chunk.push((n as u64 + 1, line)),
                Err(e) => {
                    error = Some(format!("{}: {e}", path.display()));
                    break;
                }
            }
            if chunk.len() == CHUNK {
                let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK));
                if chunk_tx.send((seq, full)).is_err() {
                    break;
                }
                seq += 1;
            }
        }
        if !chunk.is_empty() {
            let _ = chunk_tx.send((seq, chunk));
        }
        drop(chunk_tx);
        let collector = collecting.join().expect("collector thread");
        (error, collector)
    });
    let (error, mut collector) = read_error;
    if let Some(error) = error {
        return Err(error);
    }
    let uncovered: Vec<Checkpoint> = std::mem::take(&mut collector.heads).into_values().collect();
    for head in uncovered {
        collector.problem(format!(
            "FAIL checkpoint at size {}: the export holds only {} rows",
            head.size,
            collector.tree.size()
        ));
    }
    if collector.progress {
        eprintln!();
    }
    let seconds = collector.started.elapsed().as_secs_f64();
    eprintln!(
        "{} rows, {} checkpoints checked, {} problems; root at size {}: {}; {:.1} s ({:.0} rows/s)",
        collector.tree.size(),
        collector.checked_heads,
        collector.problems,
        collector.tree.size(),
        base64_encode(&collector.tree.root()),
        seconds,
        collector.tree.size() as f64 / seconds.max(1e-9)
    );
    Ok(collector.problems == 0)
}
