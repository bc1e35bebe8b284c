//! The attestation log as an RFC 9162 Merkle tree: leaves are attestations in id order,
//! `leaf = SHA-256(0x00 ‖ JCS(attestation))`, `node = SHA-256(0x01 ‖ left ‖ right)`.
//!
//! Hashes are stored in tiles (as in c2sp.org/tlog-tiles): a tile at level L holds up to 256
//! consecutive hashes of complete subtrees of height 8·L, so level 0 holds the leaf hashes, level
//! 1 the roots of each 256 leaves, and so on; only the rightmost tile of a level is partial. Any
//! complete subtree is one tile read plus at most 127 hashes, so proofs cost O(log n) tile reads,
//! and the tiles take about 33 bytes per leaf.

use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

pub type Hash = [u8; 32];

/// Hashes per tile, and the subtree height one tile level spans.
pub const TILE_WIDTH: usize = 256;
pub const TILE_HEIGHT: u32 = 8;

/// The root of the empty tree: SHA-256 of nothing.
pub fn empty_root() -> Hash {
    Sha256::digest(b"").into()
}

pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The largest power of two smaller than `n` (n ≥ 2).
fn split(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

/// Hashes of complete subtrees: `subtree(h, i)` covers leaves `[i·2^h, (i+1)·2^h)`.
pub trait Subtrees {
    fn subtree(&mut self, height: u32, index: u64) -> Result<Hash, String>;
}

/// MTH of leaves `[lo, lo + len)`, where `lo` is a multiple of a power of two ≥ `len` (every range
/// RFC 9162's recursion visits is): the right fold of the complete subtrees `len` splits into.
pub fn range_hash(src: &mut impl Subtrees, lo: u64, len: u64) -> Result<Hash, String> {
    if len == 0 {
        return Ok(empty_root());
    }
    let mut parts = Vec::new();
    let mut at = lo;
    for height in (0..64).rev() {
        if len & (1 << height) != 0 {
            parts.push(src.subtree(height, at >> height)?);
            at += 1 << height;
        }
    }
    let mut acc = parts.pop().expect("len > 0");
    while let Some(left) = parts.pop() {
        acc = node_hash(&left, &acc);
    }
    Ok(acc)
}

/// The root of the tree of the first `size` leaves.
pub fn root(src: &mut impl Subtrees, size: u64) -> Result<Hash, String> {
    range_hash(src, 0, size)
}

/// PATH(index, D[0:size]) of RFC 9162 2.1.3.1.
pub fn inclusion_proof(src: &mut impl Subtrees, index: u64, size: u64) -> Result<Vec<Hash>, String> {
    if index >= size {
        return Err(format!("leaf {index} is not in a tree of {size} leaves"));
    }
    let (mut lo, mut n, mut m) = (0u64, size, index);
    let mut path = Vec::new();
    while n > 1 {
        let k = split(n);
        if m < k {
            path.push(range_hash(src, lo + k, n - k)?);
            n = k;
        } else {
            path.push(range_hash(src, lo, k)?);
            lo += k;
            m -= k;
            n -= k;
        }
    }
    path.reverse();
    Ok(path)
}

/// PROOF(m, D[0:n]) of RFC 9162 2.1.4.1, for 0 < m ≤ n.
pub fn consistency_proof(src: &mut impl Subtrees, m: u64, n: u64) -> Result<Vec<Hash>, String> {
    if m == 0 || m > n {
        return Err(format!("no consistency proof from {m} to {n} leaves"));
    }
    let mut proof = Vec::new();
    subproof(src, m, 0, n, true, &mut proof)?;
    Ok(proof)
}

fn subproof(src: &mut impl Subtrees, m: u64, lo: u64, n: u64, whole: bool, out: &mut Vec<Hash>) -> Result<(), String> {
    if m == n {
        if !whole {
            out.push(range_hash(src, lo, n)?);
        }
        return Ok(());
    }
    let k = split(n);
    if m <= k {
        subproof(src, m, lo, k, whole, out)?;
        out.push(range_hash(src, lo + k, n - k)?);
    } else {
        subproof(src, m - k, lo + k, n - k, false, out)?;
        out.push(range_hash(src, lo, k)?);
    }
    Ok(())
}

/// RFC 9162 2.1.3.2: the leaf `leaf` is at `index` of the tree (`size`, `root`).
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    sn == 0 && r == *root
}

/// RFC 9162 2.1.4.2: the tree (`m`, `root1`) is a prefix of (`n`, `root2`). `m == n` needs an
/// empty proof and equal roots; `m == 0` is refused (no proof from the empty tree is defined).
pub fn verify_consistency(m: u64, n: u64, proof: &[Hash], root1: &Hash, root2: &Hash) -> bool {
    if m == 0 || m > n {
        return false;
    }
    if m == n {
        return proof.is_empty() && root1 == root2;
    }
    let mut path: Vec<Hash> = proof.to_vec();
    if path.is_empty() {
        return false;
    }
    if m.is_power_of_two() {
        path.insert(0, *root1);
    }
    let (mut fn_, mut sn) = (m - 1, n - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (path[0], path[0]);
    for c in &path[1..] {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    sn == 0 && fr == *root1 && sr == *root2
}

/// The root of `2^height` consecutive hashes (a power-of-two slice).
fn fold(hashes: &[Hash]) -> Hash {
    let mut level: Vec<Hash> = hashes.to_vec();
    while level.len() > 1 {
        level = level.chunks(2).map(|p| node_hash(&p[0], &p[1])).collect();
    }
    level[0]
}

/// Where tiles come from: a tile's hashes, or None when it does not exist.
pub trait TileSource {
    fn tile(&mut self, level: u32, index: u64) -> Result<Option<Vec<Hash>>, String>;
}

impl<T: TileSource + ?Sized> TileSource for &mut T {
    fn tile(&mut self, level: u32, index: u64) -> Result<Option<Vec<Hash>>, String> {
        (**self).tile(level, index)
    }
}

/// A tree of `size` leaves read from tiles.
pub struct TiledTree<S: TileSource> {
    pub source: S,
    pub size: u64,
}

impl<S: TileSource> Subtrees for TiledTree<S> {
    fn subtree(&mut self, height: u32, index: u64) -> Result<Hash, String> {
        if (index + 1).checked_shl(height).is_none_or(|end| end > self.size) {
            return Err(format!("subtree {height}/{index} is not complete in a tree of {} leaves", self.size));
        }
        let (level, rest) = (height / TILE_HEIGHT, height % TILE_HEIGHT);
        let first = index << rest;
        let width = 1usize << rest;
        let tile = first / TILE_WIDTH as u64;
        let offset = (first % TILE_WIDTH as u64) as usize;
        let hashes = self.source.tile(level, tile)?.ok_or_else(|| format!("tile {level}/{tile} is missing"))?;
        let slice = hashes
            .get(offset..offset + width)
            .ok_or_else(|| format!("tile {level}/{tile} holds {} hashes, fewer than the tree needs", hashes.len()))?;
        Ok(fold(slice))
    }
}

/// Tiles held in memory: what a checkpoint writes, and a whole tree in tests.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Tiles {
    pub tiles: BTreeMap<(u32, u64), Vec<Hash>>,
}

impl TileSource for Tiles {
    fn tile(&mut self, level: u32, index: u64) -> Result<Option<Vec<Hash>>, String> {
        Ok(self.tiles.get(&(level, index)).cloned())
    }
}

/// Appends leaves to a tiled tree. It starts from the rightmost (partial) tile of every level —
/// all it needs — and collects every tile the appends change.
#[derive(Debug, Clone)]
pub struct Appender {
    size: u64,
    /// The rightmost tile of each level, as far as it goes.
    edge: Vec<Vec<Hash>>,
    /// Every tile changed so far, by (level, index): full tiles and the new partial ones.
    pub changed: Tiles,
}

impl Appender {
    /// Continue a tree of `size` leaves whose rightmost tiles are read from `source`.
    pub fn resume(size: u64, source: &mut impl TileSource) -> Result<Appender, String> {
        let mut edge = Vec::new();
        let mut level = 0u32;
        loop {
            let count = size >> (TILE_HEIGHT * level);
            if count == 0 {
                break;
            }
            let partial = (count % TILE_WIDTH as u64) as usize;
            let tile = if partial == 0 {
                Vec::new()
            } else {
                let index = count / TILE_WIDTH as u64;
                let mut hashes =
                    source.tile(level, index)?.ok_or_else(|| format!("tile {level}/{index} is missing"))?;
                if hashes.len() < partial {
                    return Err(format!("tile {level}/{index} holds fewer hashes than the tree needs"));
                }
                hashes.truncate(partial);
                hashes
            };
            edge.push(tile);
            level += 1;
        }
        Ok(Appender { size, edge, changed: Tiles::default() })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Take the full tiles changed so far (they never change again), leaving the partial ones.
    pub fn take_full(&mut self) -> Vec<((u32, u64), Vec<Hash>)> {
        let full: Vec<(u32, u64)> =
            self.changed.tiles.iter().filter(|(_, t)| t.len() == TILE_WIDTH).map(|(k, _)| *k).collect();
        full.into_iter().map(|k| (k, self.changed.tiles.remove(&k).expect("listed"))).collect()
    }

    /// Append one leaf hash.
    pub fn push(&mut self, leaf: Hash) {
        let mut hash = leaf;
        let mut level = 0usize;
        loop {
            if self.edge.len() == level {
                self.edge.push(Vec::new());
            }
            let count = (self.size >> (TILE_HEIGHT as usize * level)) + 1;
            let tile = &mut self.edge[level];
            tile.push(hash);
            let index = (count - 1) / TILE_WIDTH as u64;
            self.changed.tiles.insert((level as u32, index), tile.clone());
            if tile.len() < TILE_WIDTH {
                break;
            }
            // A full tile: its root is the next level's newest hash.
            hash = fold(tile);
            tile.clear();
            level += 1;
        }
        self.size += 1;
    }
}

/// A compact range: the roots of the complete subtrees a tree of n leaves splits into, enough to
/// append leaves and know the root at any size while streaming a log (O(log n) memory).
#[derive(Debug, Clone, Default)]
pub struct CompactRange {
    size: u64,
    stack: Vec<(u32, Hash)>,
}

impl CompactRange {
    pub fn push(&mut self, leaf: Hash) {
        let mut node = (0u32, leaf);
        while let Some(&(height, left)) = self.stack.last() {
            if height != node.0 {
                break;
            }
            self.stack.pop();
            node = (height + 1, node_hash(&left, &node.1));
        }
        self.stack.push(node);
        self.size += 1;
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn root(&self) -> Hash {
        let mut hashes = self.stack.iter().rev().map(|(_, h)| *h);
        let Some(mut acc) = hashes.next() else { return empty_root() };
        for left in hashes {
            acc = node_hash(&left, &acc);
        }
        acc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Memory(Vec<Hash>);

    impl Subtrees for Memory {
        fn subtree(&mut self, height: u32, index: u64) -> Result<Hash, String> {
            let lo = (index << height) as usize;
            Ok(fold(&self.0[lo..lo + (1 << height)]))
        }
    }

    /// MTH straight from RFC 9162's recursive definition, to check the tiled and streaming forms.
    fn mth(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = split(n as u64) as usize;
                node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    #[test]
    fn roots_follow_the_recursive_definition() {
        let leaves: Vec<Hash> = (0u32..300).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let mut range = CompactRange::default();
        assert_eq!(range.root(), empty_root());
        for n in 1..=leaves.len() {
            range.push(leaves[n - 1]);
            let want = mth(&leaves[..n]);
            assert_eq!(range.root(), want, "compact range, size {n}");
            assert_eq!(root(&mut Memory(leaves.clone()), n as u64).unwrap(), want, "size {n}");
        }
        assert_eq!(leaf_hash(b"").to_vec(), Sha256::digest([0u8]).to_vec());
    }

    /// Every leaf of trees of sizes 1..=70, and every pair of sizes, from tiles built by appends
    /// that stop and resume at every size; proofs verify, and fail once anything changes.
    #[test]
    fn tiled_proofs_for_every_leaf_and_size() {
        let leaves: Vec<Hash> = (0u32..600).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let mut tiles = Tiles::default();
        for n in 0..leaves.len() as u64 {
            let mut appender = Appender::resume(n, &mut tiles).unwrap();
            appender.push(leaves[n as usize]);
            tiles.tiles.extend(appender.changed.tiles);
        }
        let mut mem = Memory(leaves.clone());
        for size in (1..=70).chain([255, 256, 257, 511, 512, 513, 600]) {
            let mut tree = TiledTree { source: tiles.clone(), size };
            let root_hash = root(&mut tree, size).unwrap();
            assert_eq!(root_hash, root(&mut mem, size).unwrap(), "size {size}");
            for index in 0..size {
                let proof = inclusion_proof(&mut tree, index, size).unwrap();
                assert_eq!(proof, inclusion_proof(&mut mem, index, size).unwrap());
                assert!(verify_inclusion(&leaves[index as usize], index, size, &proof, &root_hash), "{index}/{size}");
                assert!(!verify_inclusion(&leaf_hash(b"x"), index, size, &proof, &root_hash));
                if size > 1 {
                    assert!(!verify_inclusion(&leaves[index as usize], (index + 1) % size, size, &proof, &root_hash));
                }
            }
            if size <= 70 {
                for m in 1..=size {
                    let proof = consistency_proof(&mut tree, m, size).unwrap();
                    let old = root(&mut mem, m).unwrap();
                    assert!(verify_consistency(m, size, &proof, &old, &root_hash), "{m} -> {size}");
                    if m < size {
                        assert!(!verify_consistency(m, size, &proof, &leaf_hash(b"forged"), &root_hash));
                    }
                }
            }
        }
    }

    #[test]
    fn appender_resumes_from_stored_edges() {
        let leaves: Vec<Hash> = (0u32..70_000).map(|i| leaf_hash(&i.to_le_bytes())).collect();
        let mut tiles = Tiles::default();
        let mut range = CompactRange::default();
        let mut done = 0usize;
        for batch in [1usize, 255, 1, 300, 65_000, 3_443] {
            let mut appender = Appender::resume(done as u64, &mut tiles).unwrap();
            for leaf in &leaves[done..done + batch] {
                appender.push(*leaf);
                range.push(*leaf);
            }
            done += batch;
            tiles.tiles.extend(appender.changed.tiles);
            let mut tree = TiledTree { source: tiles.clone(), size: done as u64 };
            assert_eq!(root(&mut tree, done as u64).unwrap(), range.root(), "after {done}");
        }
        // Level 0 full tiles, level 1 and level 2 tiles exist; no tile is wider than 256.
        assert!(tiles.tiles.keys().any(|(level, _)| *level == 2));
        assert!(tiles.tiles.values().all(|t| !t.is_empty() && t.len() <= TILE_WIDTH));
    }
}
