//! Counts per bucket over a run of consecutive buckets, compact: the newest block of
//! [`BLOCK`] buckets is kept dense, older blocks are sealed into a few bytes each, and a
//! block without events is not kept at all. A 30-day budget at one-minute buckets is
//! 43,200 buckets; dense that is 690 KB per SLO, sealed it is one to two bytes a bucket
//! with steady traffic and a few bytes a block when the traffic is steady or absent, so a
//! thousand SLOs fit in the memory one used to take.
//!
//! A sealed block is frame-of-reference packed: the smallest total and bad count of its
//! buckets, then each bucket's difference from them in as many bits as the largest
//! difference needs (none when they are all equal), little-endian. Any bucket is read in
//! a few instructions, without decoding the ones before it. Encoded, a block is
//! `format (0), base total, base bad (LEB128), total bits, bad bits, the packed bits`
//! and eight zero bytes, so every read is one unaligned 64-bit load (a block of equal
//! buckets has neither); those bytes are what a node stores, so a restart reads blocks,
//! not buckets.
//!
//! Windows read a series through a [`Cursor`] at their oldest bucket: as time moves the
//! cursor takes the buckets leaving the window, remembering which block it is in. A late
//! event that rewrites a sealed block, or adds one before others, bumps the series' edit
//! count, and cursors find their block again.

use std::collections::VecDeque;

use super::Counts;

/// Buckets per block.
pub const BLOCK: i64 = 256;
const BLOCK_LEN: usize = BLOCK as usize;
/// Widest packed difference: a 64-bit load at any bit offset within a byte holds it.
const MAX_BITS: u32 = 56;
const PADDING: usize = 8;

/// One block's buckets as stored: its first bucket index (a multiple of [`BLOCK`]) and
/// its encoded counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedBlock {
    pub start: i64,
    pub bytes: Vec<u8>,
}

/// Why stored bytes could not be read as a block.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    #[error("block starting at bucket {0} is not aligned to {BLOCK} buckets")]
    Unaligned(i64),
    #[error("block starting at bucket {0} is truncated or not a block of counts")]
    Malformed(i64),
}

/// A series of bucket counts at one width.
#[derive(Debug, Clone)]
pub struct Series {
    width: i64,
    sealed: VecDeque<Sealed>,
    /// Sealed blocks dropped from the front so far, so that `position + popped` names a
    /// block for as long as it is kept.
    popped: u64,
    /// Bumped when a sealed block is rewritten or inserted before others.
    edits: u64,
    /// The dense newest block: its start, and its buckets (empty until the first event).
    head_start: i64,
    head: Vec<Counts>,
    /// Starts of the blocks that took events since [`Series::take_dirty`].
    dirty: Vec<i64>,
}

/// A block packed: each bucket is `(base_total + total bits, base_bad + bad bits)`.
#[derive(Debug, Clone)]
struct Sealed {
    start: i64,
    base_total: u64,
    base_bad: u64,
    total_bits: u32,
    bad_bits: u32,
    /// The packed bits, then [`PADDING`] zero bytes.
    bits: Box<[u8]>,
}

impl Sealed {
    fn pack(start: i64, buckets: &[Counts]) -> Sealed {
        debug_assert_eq!(buckets.len(), BLOCK_LEN);
        let base_total = buckets.iter().map(|counts| counts.total).min().unwrap_or(0);
        let base_bad = buckets.iter().map(|counts| counts.bad).min().unwrap_or(0);
        let width = |largest: u64| 64 - largest.leading_zeros();
        let total_bits = width(buckets.iter().map(|counts| counts.total - base_total).max().unwrap_or(0));
        let bad_bits = width(buckets.iter().map(|counts| counts.bad - base_bad).max().unwrap_or(0));
        if total_bits > MAX_BITS || bad_bits > MAX_BITS {
            // Differences beyond 2^56 in one block: packed at full width in two halves.
            return Sealed::wide(start, buckets);
        }
        let stride = (total_bits + bad_bits) as usize;
        if stride == 0 {
            // Every bucket the same: nothing to pack, nothing to read past.
            return Sealed { start, base_total, base_bad, total_bits, bad_bits, bits: Box::new([]) };
        }
        let mut bits = vec![0u8; (BLOCK_LEN * stride).div_ceil(8) + PADDING];
        for (index, counts) in buckets.iter().enumerate() {
            let bit = index * stride;
            put_bits(&mut bits, bit, counts.total - base_total);
            put_bits(&mut bits, bit + total_bits as usize, counts.bad - base_bad);
        }
        Sealed { start, base_total, base_bad, total_bits, bad_bits, bits: bits.into_boxed_slice() }
    }

    /// A block whose differences need more than [`MAX_BITS`]: each count as two 32-bit
    /// halves, a separate "bucket" each, at 2 × 32 bits.
    fn wide(start: i64, buckets: &[Counts]) -> Sealed {
        let mut bits = vec![0u8; BLOCK_LEN * 16 + PADDING];
        for (index, counts) in buckets.iter().enumerate() {
            bits[index * 16..index * 16 + 8].copy_from_slice(&counts.total.to_le_bytes());
            bits[index * 16 + 8..index * 16 + 16].copy_from_slice(&counts.bad.to_le_bytes());
        }
        Sealed { start, base_total: 0, base_bad: 0, total_bits: 64, bad_bits: 64, bits: bits.into_boxed_slice() }
    }

    #[inline(always)]
    fn get(&self, offset: usize) -> Counts {
        if self.total_bits == 64 {
            let at = offset * 16;
            let word = |from: usize| u64::from_le_bytes(self.bits[from..from + 8].try_into().unwrap_or([0; 8]));
            return Counts { total: word(at), bad: word(at + 8) };
        }
        let bit = offset * (self.total_bits + self.bad_bits) as usize;
        Counts {
            total: self.base_total + get_bits(&self.bits, bit, self.total_bits),
            bad: self.base_bad + get_bits(&self.bits, bit + self.total_bits as usize, self.bad_bits),
        }
    }

    /// Whether every bucket holds the same counts (then `get(0)` is each of them).
    fn uniform(&self) -> bool {
        self.total_bits == 0 && self.bad_bits == 0
    }

    fn unpack(&self, out: &mut [Counts]) {
        for (offset, counts) in out.iter_mut().enumerate() {
            *counts = self.get(offset);
        }
    }

    fn encode(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(self.bits.len() + 12);
        bytes.push(0);
        write_varint(&mut bytes, self.base_total);
        write_varint(&mut bytes, self.base_bad);
        bytes.push(self.total_bits as u8);
        bytes.push(self.bad_bits as u8);
        bytes.extend_from_slice(&self.bits);
        bytes
    }

    /// Reads an encoded block, checking everything a corrupt one could get wrong.
    fn decode(block: &EncodedBlock) -> Result<Sealed, BlockError> {
        let malformed = || BlockError::Malformed(block.start);
        if align(block.start) != block.start {
            return Err(BlockError::Unaligned(block.start));
        }
        let bytes = &block.bytes;
        if bytes.first() != Some(&0) {
            return Err(malformed());
        }
        let (base_total, at) = read_varint(bytes, 1).ok_or_else(malformed)?;
        let (base_bad, at) = read_varint(bytes, at).ok_or_else(malformed)?;
        let (total_bits, bad_bits) = match (bytes.get(at), bytes.get(at + 1)) {
            (Some(&total), Some(&bad)) => (u32::from(total), u32::from(bad)),
            _ => return Err(malformed()),
        };
        let bits = &bytes[at + 2..];
        let expected = match (total_bits, bad_bits) {
            (64, 64) => BLOCK_LEN * 16 + PADDING,
            (0, 0) => 0,
            (total, bad) if total <= MAX_BITS && bad <= MAX_BITS => (BLOCK_LEN * (total + bad) as usize).div_ceil(8) + PADDING,
            _ => return Err(malformed()),
        };
        if bits.len() != expected || bits[expected.saturating_sub(PADDING)..].iter().any(|byte| *byte != 0) {
            return Err(malformed());
        }
        // Bases plus differences must not wrap, and no bucket may hold more bad events
        // than events.
        let fits = (total_bits, bad_bits) == (64, 64)
            || base_total.checked_add(low_mask(total_bits)).is_some() && base_bad.checked_add(low_mask(bad_bits)).is_some();
        if !fits {
            return Err(malformed());
        }
        let sealed = Sealed { start: block.start, base_total, base_bad, total_bits, bad_bits, bits: bits.into() };
        if (0..BLOCK_LEN).any(|offset| {
            let counts = sealed.get(offset);
            counts.bad > counts.total
        }) {
            return Err(malformed());
        }
        Ok(sealed)
    }

    fn heap_bytes(&self) -> usize {
        self.bits.len() + std::mem::size_of::<Sealed>()
    }
}

fn low_mask(bits: u32) -> u64 {
    if bits == 0 {
        0
    } else {
        u64::MAX >> (64 - bits)
    }
}

#[inline]
fn get_bits(bits: &[u8], bit: usize, width: u32) -> u64 {
    if width == 0 {
        return 0;
    }
    let byte = bit / 8;
    let word = u64::from_le_bytes(bits[byte..byte + 8].try_into().unwrap_or([0; 8]));
    (word >> (bit % 8)) & low_mask(width)
}

fn put_bits(bits: &mut [u8], bit: usize, value: u64) {
    if value == 0 {
        return;
    }
    let byte = bit / 8;
    let mut word = u64::from_le_bytes(bits[byte..byte + 8].try_into().unwrap_or([0; 8]));
    word |= value << (bit % 8);
    bits[byte..byte + 8].copy_from_slice(&word.to_le_bytes());
}

/// Where a window's oldest bucket is in a series, with the sealed block it was last found
/// in.
#[derive(Debug, Clone, Copy)]
pub struct Cursor {
    /// The next bucket it reads.
    index: i64,
    /// `(position + popped, edits)` of the sealed block holding `index`, while valid.
    block: Option<(u64, u64)>,
}

impl Cursor {
    pub fn at(index: i64) -> Cursor {
        Cursor { index, block: None }
    }

    pub fn index(&self) -> i64 {
        self.index
    }
}

fn align(index: i64) -> i64 {
    index - index.rem_euclid(BLOCK)
}

impl Series {
    pub fn new(width: i64) -> Series {
        Series { width, sealed: VecDeque::new(), popped: 0, edits: 0, head_start: i64::MIN, head: Vec::new(), dirty: Vec::new() }
    }

    pub fn width(&self) -> i64 {
        self.width
    }

    /// Whether no bucket holds anything.
    pub fn is_empty(&self) -> bool {
        self.sealed.is_empty() && self.head.is_empty()
    }

    /// Adds `counts` to bucket `index`.
    #[inline]
    pub fn add(&mut self, index: i64, counts: Counts) {
        // The common case: into the head, already marked as changed.
        let offset = index.wrapping_sub(self.head_start);
        if !self.head.is_empty() && (0..BLOCK).contains(&offset) && self.dirty.last() == Some(&self.head_start) {
            self.head[offset as usize].add(counts);
            return;
        }
        self.add_any(index, counts);
    }

    fn add_any(&mut self, index: i64, counts: Counts) {
        let start = align(index);
        let newest_sealed = self.sealed.back().map(|block| block.start);
        if !self.head.is_empty() && start > self.head_start || self.head.is_empty() && newest_sealed.is_none_or(|newest| newest <= start) {
            self.seal_head();
            self.head_start = start;
            self.head = vec![Counts::default(); BLOCK_LEN];
            // A block read from the store at this start goes on as the head.
            if newest_sealed == Some(start) {
                if let Some(block) = self.sealed.pop_back() {
                    block.unpack(&mut self.head);
                }
                self.edits += 1;
            }
        }
        if !self.head.is_empty() && start == self.head_start {
            self.head[(index - start) as usize].add(counts);
        } else {
            self.edit_sealed(start, &[(index, counts)]);
        }
        if self.dirty.last() != Some(&start) {
            self.dirty.push(start);
        }
    }

    /// Adds `added` (buckets of the block at `start`, older than the head) to that
    /// sealed block: unpacked once, packed once.
    fn edit_sealed(&mut self, start: i64, added: &[(i64, Counts)]) {
        let mut buckets = [Counts::default(); BLOCK_LEN];
        let position = self.sealed.partition_point(|block| block.start < start);
        let present = self.sealed.get(position).is_some_and(|block| block.start == start);
        if present {
            self.sealed[position].unpack(&mut buckets);
        }
        for &(index, counts) in added {
            buckets[(index - start) as usize].add(counts);
        }
        let sealed = Sealed::pack(start, &buckets);
        if present {
            self.sealed[position] = sealed;
        } else {
            self.sealed.insert(position, sealed);
        }
        self.edits += 1;
    }

    /// Adds each `(bucket, counts)` of `added` (sorted by bucket), as [`Series::add`]
    /// would one by one, but a sealed block they fall in is rewritten once, not once
    /// per bucket: late events arrive in runs.
    pub fn add_many(&mut self, added: &[(i64, Counts)]) {
        let mut rest = added;
        while let Some(&(first, _)) = rest.first() {
            let start = align(first);
            let run = rest.iter().take_while(|(index, _)| align(*index) == start).count();
            let (block, tail) = rest.split_at(run);
            rest = tail;
            let sealed_block =
                if self.head.is_empty() { self.sealed.back().is_some_and(|newest| start < newest.start) } else { start < self.head_start };
            if sealed_block && run > 1 {
                self.edit_sealed(start, block);
                if self.dirty.last() != Some(&start) {
                    self.dirty.push(start);
                }
            } else {
                for &(index, counts) in block {
                    self.add(index, counts);
                }
            }
        }
    }

    fn seal_head(&mut self) {
        if self.head.is_empty() {
            return;
        }
        let head = std::mem::take(&mut self.head);
        if head.iter().any(|counts| counts.total > 0) {
            self.sealed.push_back(Sealed::pack(self.head_start, &head));
        }
    }

    /// Drops blocks wholly older than bucket `oldest`.
    #[inline]
    pub fn prune(&mut self, oldest: i64) {
        if self.sealed.front().is_none_or(|block| block.start + BLOCK > oldest)
            && (self.head.is_empty() || self.head_start + BLOCK > oldest)
        {
            return;
        }
        while self.sealed.front().is_some_and(|block| block.start + BLOCK <= oldest) {
            self.sealed.pop_front();
            self.popped += 1;
        }
        if !self.head.is_empty() && self.head_start + BLOCK <= oldest {
            self.head = Vec::new();
        }
        // Changed blocks no window reads need not be saved: when nothing saves (a
        // backtest), the list stays as short as the series.
        self.dirty.retain(|start| start + BLOCK > oldest);
    }

    /// The sum of buckets `from..to`.
    pub fn sum(&self, from: i64, to: i64) -> Counts {
        let mut cursor = Cursor::at(from);
        self.take(&mut cursor, to)
    }

    /// The position of the sealed block holding the cursor's bucket, remembered in it;
    /// `None` when no sealed block does.
    #[inline]
    fn locate(&self, cursor: &mut Cursor) -> Option<usize> {
        if let Some((block, edits)) = cursor.block {
            if edits == self.edits && block >= self.popped {
                let position = (block - self.popped) as usize;
                if self.sealed.get(position).is_some_and(|sealed| sealed.start <= cursor.index && cursor.index < sealed.start + BLOCK) {
                    return Some(position);
                }
            }
        }
        let start = align(cursor.index);
        let position = self.sealed.partition_point(|block| block.start < start);
        let found = self.sealed.get(position).is_some_and(|block| block.start == start);
        cursor.block = found.then_some((position as u64 + self.popped, self.edits));
        found.then_some(position)
    }

    /// The sum of buckets from the cursor's up to `to` (excluded); the cursor moves to `to`.
    #[inline]
    pub fn take(&self, cursor: &mut Cursor, to: i64) -> Counts {
        // The common step of a steady stream: one bucket, in the block the cursor is in.
        if to == cursor.index + 1 {
            if let Some((block, edits)) = cursor.block {
                if edits == self.edits && block >= self.popped {
                    if let Some(sealed) = self.sealed.get((block - self.popped) as usize) {
                        let offset = cursor.index - sealed.start;
                        if (0..BLOCK).contains(&offset) {
                            cursor.index = to;
                            return sealed.get(offset as usize);
                        }
                    }
                }
            }
        }
        self.take_any(cursor, to)
    }

    fn take_any(&self, cursor: &mut Cursor, to: i64) -> Counts {
        let mut sum = Counts::default();
        while cursor.index < to {
            if !self.head.is_empty() && cursor.index >= self.head_start {
                let end = to.min(self.head_start + BLOCK);
                if cursor.index < end {
                    let (from, upto) = ((cursor.index - self.head_start) as usize, (end - self.head_start) as usize);
                    for counts in &self.head[from..upto] {
                        sum.add(*counts);
                    }
                }
                // Nothing is newer than the head.
                cursor.index = to;
                break;
            }
            let Some(position) = self.locate(cursor) else {
                // No sealed block holds this bucket: empty up to the next block.
                cursor.index = self.next_start(cursor.index).unwrap_or(to).clamp(cursor.index + 1, to);
                continue;
            };
            let block = &self.sealed[position];
            let end = to.min(block.start + BLOCK);
            let (from, upto) = ((cursor.index - block.start) as usize, (end - block.start) as usize);
            if block.uniform() {
                let counts = block.get(0);
                let buckets = (upto - from) as u64;
                sum.add(Counts { total: counts.total * buckets, bad: counts.bad * buckets });
            } else {
                for offset in from..upto {
                    sum.add(block.get(offset));
                }
            }
            cursor.index = end;
        }
        sum
    }

    /// Whether the cursor's bucket holds events, when its block is the one it remembers
    /// (right after a [`Series::take`]); `None` when that is not quick to tell.
    #[inline]
    pub fn holds_events(&self, cursor: &Cursor) -> Option<bool> {
        let (block, edits) = cursor.block?;
        if edits != self.edits || block < self.popped {
            return None;
        }
        let sealed = self.sealed.get((block - self.popped) as usize)?;
        let offset = cursor.index - sealed.start;
        (0..BLOCK).contains(&offset).then(|| sealed.get(offset as usize).total > 0)
    }

    /// The first bucket at or after the cursor's, and before `to`, that holds events.
    pub fn next_nonempty(&self, cursor: &Cursor, to: i64) -> Option<i64> {
        let mut cursor = *cursor;
        while cursor.index < to {
            if !self.head.is_empty() && cursor.index >= self.head_start {
                let end = to.min(self.head_start + BLOCK);
                if cursor.index >= end {
                    return None;
                }
                let from = (cursor.index - self.head_start) as usize;
                let found = self.head[from..(end - self.head_start) as usize].iter().position(|counts| counts.total > 0);
                return found.map(|offset| cursor.index + offset as i64);
            }
            let Some(position) = self.locate(&mut cursor) else {
                cursor.index = self.next_start(cursor.index).unwrap_or(to).max(cursor.index + 1);
                continue;
            };
            let block = &self.sealed[position];
            let end = to.min(block.start + BLOCK);
            if block.uniform() {
                if block.get(0).total > 0 {
                    return Some(cursor.index);
                }
            } else if block.base_total > 0 {
                return Some(cursor.index);
            } else {
                let from = (cursor.index - block.start) as usize;
                if let Some(offset) = (from..(end - block.start) as usize).find(|offset| block.get(*offset).total > 0) {
                    return Some(block.start + offset as i64);
                }
            }
            cursor.index = end;
        }
        None
    }

    /// The start of the first block (sealed or head) after bucket `index`'s block.
    fn next_start(&self, index: i64) -> Option<i64> {
        let position = self.sealed.partition_point(|block| block.start <= index);
        self.sealed.get(position).map(|block| block.start).or((!self.head.is_empty() && self.head_start > index).then_some(self.head_start))
    }

    /// The blocks that took events since the last call, encoded, oldest first; those
    /// pruned since are left out.
    pub fn take_dirty(&mut self) -> Vec<EncodedBlock> {
        let mut dirty = std::mem::take(&mut self.dirty);
        dirty.sort_unstable();
        dirty.dedup();
        dirty.into_iter().filter_map(|start| self.block(start)).collect()
    }

    /// Block `start` encoded, if it holds events.
    pub fn block(&self, start: i64) -> Option<EncodedBlock> {
        if !self.head.is_empty() && start == self.head_start {
            return Some(EncodedBlock { start, bytes: encode(&self.head) });
        }
        let position = self.sealed.partition_point(|block| block.start < start);
        self.sealed.get(position).filter(|block| block.start == start).map(|block| EncodedBlock { start, bytes: block.encode() })
    }

    /// Every block it holds, encoded, oldest first.
    pub fn blocks(&self) -> Vec<EncodedBlock> {
        let mut blocks: Vec<EncodedBlock> =
            self.sealed.iter().map(|block| EncodedBlock { start: block.start, bytes: block.encode() }).collect();
        if !self.head.is_empty() {
            blocks.push(EncodedBlock { start: self.head_start, bytes: encode(&self.head) });
        }
        blocks
    }

    /// Adds a stored block's counts (to whatever the series already holds there). The
    /// block stays sealed as it was read, unless it adds to one already there; it is not
    /// marked as changed, being stored already.
    pub fn load(&mut self, block: &EncodedBlock) -> Result<(), BlockError> {
        let loaded = Sealed::decode(block)?;
        let start = block.start;
        if !self.head.is_empty() && start == self.head_start {
            for (offset, counts) in self.head.iter_mut().enumerate() {
                counts.add(loaded.get(offset));
            }
            return Ok(());
        }
        if !self.head.is_empty() && start > self.head_start {
            // Newer than the head: the head is sealed, the block is the newest.
            self.seal_head();
            self.head = Vec::new();
        }
        let position = self.sealed.partition_point(|sealed| sealed.start < start);
        match self.sealed.get(position) {
            Some(sealed) if sealed.start == start => {
                let mut buckets = [Counts::default(); BLOCK_LEN];
                sealed.unpack(&mut buckets);
                for (offset, counts) in buckets.iter_mut().enumerate() {
                    counts.add(loaded.get(offset));
                }
                self.sealed[position] = Sealed::pack(start, &buckets);
                self.edits += 1;
            }
            _ if position == self.sealed.len() => self.sealed.push_back(loaded),
            _ => {
                self.sealed.insert(position, loaded);
                self.edits += 1;
            }
        }
        Ok(())
    }

    /// Heap bytes it holds, for the benchmark's accounting.
    pub fn heap_bytes(&self) -> usize {
        self.sealed.iter().map(Sealed::heap_bytes).sum::<usize>() + self.head.capacity() * std::mem::size_of::<Counts>()
    }
}

/// Encodes `buckets` (exactly [`BLOCK`] of them, the first at `start`).
pub fn encode(buckets: &[Counts]) -> Vec<u8> {
    Sealed::pack(0, buckets).encode()
}

/// What a stored block gained since an earlier copy of it (`None`: never seen): per
/// bucket, the counts added. A bucket that shrank (a node that lost counts in a crash)
/// gives nothing rather than taking back.
pub fn growth(earlier: Option<&[u8]>, block: &EncodedBlock) -> Result<Vec<(i64, Counts)>, BlockError> {
    let mut now = [Counts::default(); BLOCK_LEN];
    Sealed::decode(block)?.unpack(&mut now);
    let mut before = [Counts::default(); BLOCK_LEN];
    if let Some(bytes) = earlier {
        Sealed::decode(&EncodedBlock { start: block.start, bytes: bytes.to_vec() })?.unpack(&mut before);
    }
    Ok(now
        .iter()
        .zip(&before)
        .enumerate()
        .filter_map(|(offset, (now, before))| {
            let gained = Counts { total: now.total.saturating_sub(before.total), bad: now.bad.saturating_sub(before.bad) };
            (gained.total > 0).then_some((block.start + offset as i64, gained))
        })
        .collect())
}

fn write_varint(bytes: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        bytes.push((value as u8) | 0x80);
        value >>= 7;
    }
    bytes.push(value as u8);
}

fn read_varint(bytes: &[u8], mut byte: usize) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let next = *bytes.get(byte)?;
        byte += 1;
        value |= u64::from(next & 0x7f).checked_shl(shift)?;
        if next & 0x80 == 0 {
            return Some((value, byte));
        }
    }
    None
}

#[cfg(test)]
mod tests;
