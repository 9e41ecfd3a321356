//! The compact series against a map of every bucket: encoding round trips, sums through
//! cursors as windows move, late events into sealed blocks, pruning, and the bytes a
//! month of minutes takes.

use std::collections::BTreeMap;

use super::*;

/// A small deterministic generator, so failures repeat.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound.max(1)
    }
}

fn counts(total: u64, bad: u64) -> Counts {
    Counts { total, bad }
}

fn decoded(bytes: Vec<u8>) -> Result<Vec<Counts>, BlockError> {
    let mut out = vec![Counts::default(); BLOCK_LEN];
    Sealed::decode(&EncodedBlock { start: 0, bytes })?.unpack(&mut out);
    Ok(out)
}

#[test]
fn blocks_round_trip_through_their_bytes() {
    let mut random = Lcg(11);
    let shapes: Vec<Vec<Counts>> = vec![
        vec![Counts::default(); BLOCK_LEN],
        vec![counts(12, 0); BLOCK_LEN],
        vec![counts(u64::MAX, u64::MAX); BLOCK_LEN],
        (0..BLOCK_LEN).map(|i| counts(i as u64 * 1_000, (i % 3) as u64)).collect(),
        (0..BLOCK_LEN).map(|i| if i % 50 == 7 { counts(1, 1) } else { Counts::default() }).collect(),
        (0..BLOCK_LEN)
            .map(|_| {
                let total = 60_000 + random.below(500);
                counts(total, random.below(3))
            })
            .collect(),
        (0..BLOCK_LEN).map(|i| counts(u64::MAX - i as u64, 0)).collect(),
        // Differences wider than 56 bits: packed wide.
        (0..BLOCK_LEN).map(|i| if i == 3 { counts(u64::MAX, 1 << 60) } else { counts(1, 0) }).collect(),
    ];
    for shape in shapes {
        assert_eq!(decoded(encode(&shape)), Ok(shape.clone()));
    }
    // A steady block is its header and padding; noisy traffic a bit over a byte a bucket.
    assert!(encode(&vec![counts(12, 0); BLOCK_LEN]).len() <= 16);
    let noisy: Vec<Counts> = (0..BLOCK_LEN).map(|_| counts(600 + random.below(100), random.below(2))).collect();
    assert!(encode(&noisy).len() <= BLOCK_LEN * 8 / 8 + 24, "{}", encode(&noisy).len());
}

#[test]
fn malformed_bytes_are_refused_not_misread() {
    let good = encode(&(0..BLOCK_LEN).map(|i| counts(i as u64, 0)).collect::<Vec<_>>());
    let header = |base_total: u64, base_bad: u64, total_bits: u8, bad_bits: u8| {
        let mut bytes = vec![0];
        write_varint(&mut bytes, base_total);
        write_varint(&mut bytes, base_bad);
        bytes.extend([total_bits, bad_bits]);
        bytes
    };
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("another format", [vec![1], good[1..].to_vec()].concat()),
        ("truncated", good[..good.len() - 1].to_vec()),
        ("too long", [good.clone(), vec![0]].concat()),
        ("padding not zero", {
            let mut bytes = good.clone();
            *bytes.last_mut().expect("bytes") = 1;
            bytes
        }),
        ("bits past 56", [header(0, 0, 57, 0), vec![0; (BLOCK_LEN * 57).div_ceil(8) + PADDING]].concat()),
        ("more bad than total", header(1, 5, 0, 0)),
        ("a base that wraps", [header(u64::MAX, 0, 1, 0), vec![0xff; BLOCK_LEN / 8], vec![0; PADDING]].concat()),
        ("an endless varint", [vec![0], vec![0xff; 12]].concat()),
    ];
    for (name, bytes) in cases {
        assert_eq!(decoded(bytes), Err(BlockError::Malformed(0)), "{name}");
    }
    let mut series = Series::new(1_000);
    assert_eq!(series.load(&EncodedBlock { start: 3, bytes: good.clone() }), Err(BlockError::Unaligned(3)));
    assert_eq!(series.load(&EncodedBlock { start: 0, bytes: vec![1] }), Err(BlockError::Malformed(0)));
    assert!(series.is_empty(), "nothing was added");
}

/// Windows of several spans moved forward over a series fed in order with a few late
/// events, each sum checked against the map; next_nonempty against the map too.
#[test]
fn cursors_sum_as_a_map_of_every_bucket_does() {
    for seed in 1..=20 {
        let mut random = Lcg(seed);
        let mut series = Series::new(1_000);
        let mut map: BTreeMap<i64, Counts> = BTreeMap::new();
        let spans = [1_i64, 7, 300, 700, 2_000];
        let keep = 2_000;
        let mut tails: Vec<(i64, Cursor, Counts)> = spans.iter().map(|span| (*span, Cursor::at(-span + 1), Counts::default())).collect();
        let mut now = 0_i64;
        for _ in 0..3_000 {
            // Time moves on by 0 to 40 buckets, sometimes by more than any span.
            let step = match random.below(100) {
                0 => 2_500,
                1..=20 => 0,
                _ => random.below(40) as i64,
            };
            let next = now + step;
            for (span, cursor, sum) in &mut tails {
                let oldest = next - *span + 1;
                if step >= *span {
                    *cursor = Cursor::at(oldest);
                    *sum = series.take(cursor, next + 1);
                    *cursor = Cursor::at(oldest);
                } else {
                    let gone = series.take(cursor, oldest);
                    sum.subtract(gone);
                }
            }
            now = next;
            series.prune(now - keep + 1);
            map.retain(|index, _| *index >= align(now - keep + 1));
            // An event now, or late by up to 1,200 buckets (into sealed blocks).
            let late = if random.below(10) == 0 { random.below(1_200) as i64 } else { 0 };
            let index = now - late;
            if index > now - keep {
                let total = random.below(5);
                let event = counts(total, random.below(total + 1));
                series.add(index, event);
                map.entry(index).or_default().add(event);
                for (span, _, sum) in &mut tails {
                    if index > now - *span {
                        sum.add(event);
                    }
                }
            }
            for (span, cursor, sum) in &tails {
                let mut expected = Counts::default();
                for (_, value) in map.range(now - span + 1..=now) {
                    expected.add(*value);
                }
                assert_eq!(*sum, expected, "seed {seed}, span {span}, now {now}");
                assert_eq!(series.sum(now - span + 1, now + 1), expected, "seed {seed}, span {span}");
                let first = map.range(cursor.index()..=now).find(|(_, value)| value.total > 0).map(|(index, _)| *index);
                assert_eq!(series.next_nonempty(cursor, now + 1), first, "seed {seed}, span {span}, now {now}");
            }
        }
    }
}

#[test]
fn dirty_blocks_rebuild_the_same_series() {
    let mut random = Lcg(5);
    let mut series = Series::new(60_000);
    let mut stored: BTreeMap<i64, Vec<u8>> = BTreeMap::new();
    for minute in 0..5_000_i64 {
        series.add(minute, counts(600 + random.below(40), random.below(2)));
        if random.below(20) == 0 {
            series.add(minute - random.below(900) as i64, counts(3, 1));
        }
        if minute % 7 == 0 {
            for block in series.take_dirty() {
                stored.insert(block.start, block.bytes);
            }
        }
    }
    for block in series.take_dirty() {
        stored.insert(block.start, block.bytes);
    }
    let mut rebuilt = Series::new(60_000);
    for (start, bytes) in &stored {
        rebuilt.load(&EncodedBlock { start: *start, bytes: bytes.clone() }).expect("stored blocks load");
    }
    assert_eq!(rebuilt.blocks(), series.blocks());
    assert_eq!(rebuilt.sum(-1_000, 6_000), series.sum(-1_000, 6_000));
}

/// The figure the series exists for: 30 days of one-minute buckets with steady traffic
/// (about 600 events a minute, a few bad) in well under the 200 KB an SLO may take.
#[test]
fn a_month_of_minutes_takes_a_few_bytes_a_bucket() {
    let mut random = Lcg(3);
    let mut series = Series::new(60_000);
    let minutes = 30 * 24 * 60;
    for minute in 0..minutes {
        series.add(minute, counts(550 + random.below(100), u64::from(random.below(10) == 0)));
    }
    let bytes = series.heap_bytes();
    assert!(bytes < 2 * minutes as usize, "{bytes} bytes for {minutes} buckets");
    let mut idle = Series::new(60_000);
    for minute in 0..minutes {
        idle.add(minute, counts(12, 0));
    }
    assert!(idle.heap_bytes() < 16_000, "a steady monitor: {} bytes", idle.heap_bytes());
}

/// Blocks read back stay sealed as they were; an event in the newest one makes it the
/// head again, an event in an older one rewrites it, and a block read twice (two nodes'
/// copies of a bucket range) adds up.
#[test]
fn loaded_blocks_take_events_and_add_up() {
    let mut random = Lcg(21);
    let mut original = Series::new(1_000);
    let mut map: BTreeMap<i64, Counts> = BTreeMap::new();
    for index in 0..1_000 {
        let event = counts(1 + random.below(9), random.below(2));
        original.add(index, event);
        map.entry(index).or_default().add(event);
    }
    let mut loaded = Series::new(1_000);
    for block in original.blocks() {
        loaded.load(&block).expect("load");
    }
    assert!(loaded.take_dirty().is_empty(), "read blocks are stored already");
    for (index, event) in [(999, counts(5, 5)), (1_003, counts(2, 0)), (10, counts(7, 1)), (600, counts(1, 1))] {
        loaded.add(index, event);
        map.entry(index).or_default().add(event);
    }
    let expected = |from: i64, to: i64| {
        let mut sum = Counts::default();
        for (_, value) in map.range(from..to) {
            sum.add(*value);
        }
        sum
    };
    for (from, to) in [(0, 1_100), (0, 256), (250, 260), (990, 1_010), (512, 768)] {
        assert_eq!(loaded.sum(from, to), expected(from, to), "{from}..{to}");
    }
    let dirty: Vec<i64> = loaded.take_dirty().iter().map(|block| block.start).collect();
    assert_eq!(dirty, [0, 512, 768], "the blocks that took events");
    let mut twice = Series::new(1_000);
    for block in original.blocks().iter().chain(&original.blocks()) {
        twice.load(block).expect("load");
    }
    let once = original.sum(0, 1_000);
    assert_eq!(twice.sum(0, 1_000), Counts { total: 2 * once.total, bad: 2 * once.bad });
}

/// Late events added in runs hold the same buckets, blocks and dirty marks as added one
/// by one: into the head, into sealed blocks (once each), before every block, after it.
#[test]
fn runs_of_late_events_add_as_single_ones_do() {
    let mut random = Lcg(23);
    for round in 0..40 {
        let mut one = Series::new(1_000);
        let mut many = Series::new(1_000);
        // A stream up to bucket 2,000, then late runs behind it.
        for bucket in (0..2_000).step_by(1 + (round % 5)) {
            one.add(bucket, counts(1, 0));
            many.add(bucket, counts(1, 0));
        }
        let _ = (one.take_dirty(), many.take_dirty());
        let mut late: Vec<(i64, Counts)> = (0..random.next() % 600)
            .map(|_| {
                let bucket = (random.next() % 2_600) as i64 - 300;
                let total = 1 + random.next() % 3;
                (bucket, counts(total, random.next() % (total + 1)))
            })
            .collect();
        late.sort_by_key(|(bucket, _)| *bucket);
        for &(bucket, added) in &late {
            one.add(bucket, added);
        }
        many.add_many(&late);
        assert_eq!(one.blocks(), many.blocks(), "round {round}");
        assert_eq!(one.take_dirty(), many.take_dirty(), "round {round}");
        assert_eq!(one.sum(-300, 2_600), many.sum(-300, 2_600), "round {round}");
    }
}
