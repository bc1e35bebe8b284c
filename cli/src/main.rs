//! parmana-verify: check parmana's signed documents, Merkle inclusion and consistency proofs,
//! signed notes and whole exported logs offline, with public keys only.
//!
//! Exit codes: 0 everything verified; 1 something did not verify (every problem is printed on
//! standard output); 2 the tool could not run (bad arguments, unreadable input).

mod copy_text;
mod input;
mod keys;
mod log;
mod proofs;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "parmana-verify", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Verify attestations, override records and checkpoint records: JSON documents or DSSE
    /// envelopes, one per file or one per line.
    Document {
        /// PEM public key file (several keys may be concatenated); repeat for more files.
        #[arg(long = "public-key", required = true, value_name = "PEM")]
        public_keys: Vec<PathBuf>,
        /// Input file, `-` for standard input.
        input: PathBuf,
    },
    /// Verify inclusion proofs from parmana_inclusion_proof(): the leaf is in the tree the proof's
    /// checkpoint signs. One proof per file or per line.
    Inclusion {
        /// The log's note verifier key (parmana_log_key()), or @FILE holding one per line.
        #[arg(long = "log-key", required = true, value_name = "VKEY")]
        log_keys: Vec<String>,
        /// Also verify the attestation's own signature with these PEM public keys.
        #[arg(long = "public-key", value_name = "PEM")]
        public_keys: Vec<PathBuf>,
        input: PathBuf,
    },
    /// Verify consistency proofs from parmana_consistency_proof(): the older signed tree head is a
    /// prefix of the newer one. One proof per file or per line.
    Consistency {
        #[arg(long = "log-key", required = true, value_name = "VKEY")]
        log_keys: Vec<String>,
        /// The older checkpoint note you trust, when the proof does not carry it.
        #[arg(long = "old-checkpoint", value_name = "FILE")]
        old_checkpoint: Option<PathBuf>,
        input: PathBuf,
    },
    /// Verify a signed note (a checkpoint, possibly cosigned by witnesses) with verifier keys.
    Note {
        /// A verifier key (`name+id+key`), or @FILE holding one per line; repeat for more.
        #[arg(long = "key", required = true, value_name = "VKEY")]
        keys: Vec<String>,
        input: PathBuf,
    },
    /// Verify an exported log: every attestation's signature, the Merkle tree recomputed from the
    /// rows in order, and every checkpoint note against it. Input: COPY text lines of
    /// `id<TAB>attestation` or of the attestation alone, in id order.
    Log {
        #[arg(long = "public-key", required = true, value_name = "PEM")]
        public_keys: Vec<PathBuf>,
        /// Needed with --checkpoints.
        #[arg(long = "log-key", value_name = "VKEY")]
        log_keys: Vec<String>,
        /// COPY text export of the checkpoint notes, one per line.
        #[arg(long, value_name = "FILE")]
        checkpoints: Option<PathBuf>,
        /// Worker threads (default: every core).
        #[arg(long)]
        threads: Option<usize>,
        /// Signatures per batch verification.
        #[arg(long, default_value_t = 64)]
        batch: usize,
        /// Verify each signature alone with verify_strict (no batching).
        #[arg(long)]
        strict_only: bool,
        /// Report progress on standard error (default: when it is a terminal).
        #[arg(long)]
        progress: bool,
        input: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Document { public_keys, input } => {
            keys::public_keys(&public_keys).and_then(|keys| proofs::documents(&input, &keys))
        }
        Command::Inclusion { log_keys, public_keys, input } => keys::log_keys(&log_keys)
            .and_then(|log| Ok((log, keys::public_keys(&public_keys)?)))
            .and_then(|(log, keys)| proofs::inclusion(&input, &log, &keys)),
        Command::Consistency { log_keys, old_checkpoint, input } => {
            keys::log_keys(&log_keys).and_then(|log| proofs::consistency(&input, &log, old_checkpoint.as_deref()))
        }
        Command::Note { keys, input } => keys::log_keys(&keys).and_then(|keys| proofs::note(&input, &keys)),
        Command::Log { public_keys, log_keys, checkpoints, threads, batch, strict_only, progress, input } => {
            let options = log::Options {
                threads: threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())).max(1),
                batch: batch.max(1),
                strict_only,
                progress: progress || std::io::IsTerminal::is_terminal(&std::io::stderr()),
            };
            keys::public_keys(&public_keys)
                .and_then(|keys| Ok((keys, keys::log_keys(&log_keys)?)))
                .and_then(|(keys, log)| log::run(&input, &keys, &log, checkpoints.as_deref(), &options))
        }
    };
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("parmana-verify: {e}");
            ExitCode::from(2)
        }
    }
}
