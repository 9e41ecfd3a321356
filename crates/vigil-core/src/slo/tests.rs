//! SLO math on decimal-exact cases: objectives, Sloth's factors scaled with the window,
//! thresholds exactly at the factor, a negative budget, and the evaluator against a
//! brute-force reading of the same windows.

use super::*;

#[test]
fn objectives_are_read_exactly_and_print_back() {
    let cases: &[(&str, Result<u64, &str>)] = &[
        ("99.9%", Ok(999_000_000)),
        ("99.9", Ok(999_000_000)),
        ("0.999", Ok(999_000_000)),
        (" 99.95% ", Ok(999_500_000)),
        ("99.999%", Ok(999_990_000)),
        ("99.99999%", Ok(999_999_900)),
        ("0.999999999", Ok(999_999_999)),
        ("90%", Ok(900_000_000)),
        ("99%", Ok(990_000_000)),
        ("0.5%", Ok(5_000_000)),
        ("1.5", Ok(15_000_000)),
        (".9", Ok(900_000_000)),
        ("100%", Err("must be above 0% and below 100%")),
        ("100", Err("must be above 0% and below 100%")),
        ("0", Err("must be above 0% and below 100%")),
        ("0%", Err("must be above 0% and below 100%")),
        ("99.12345678%", Err("more precise than a billionth")),
        ("0.9999999991", Err("more precise than a billionth")),
        ("abc", Err("invalid objective")),
        ("99.9.9", Err("invalid objective")),
        ("-1%", Err("invalid objective")),
        ("%", Err("invalid objective")),
        ("", Err("invalid objective")),
    ];
    for (text, expected) in cases {
        match (Objective::parse(text), expected) {
            (Ok(objective), Ok(ppb)) => {
                assert_eq!(objective.good_ppb(), *ppb, "{text}");
                assert_eq!(objective.budget_ppb(), PPB - ppb, "{text}");
                assert_eq!(Objective::parse(&objective.to_string()), Ok(objective), "{text} prints as {objective}");
            }
            (Err(error), Err(start)) => assert!(error.contains(start), "{text}: {error}"),
            (result, _) => panic!("{text}: expected {expected:?}, got {result:?}"),
        }
    }
    assert_eq!(Objective::parse("99.9").map(|objective| objective.to_string()).as_deref(), Ok("99.9%"));
    assert_eq!(Objective::parse("0.99").map(|objective| objective.to_string()).as_deref(), Ok("99%"));
}

#[test]
fn default_factors_are_sloths_scaled_with_the_window() {
    // (window in days, factors of page 1h, page 6h, ticket 1d, ticket 3d as fractions)
    type Case = (i64, [(u128, u128); 4], [&'static str; 4]);
    let cases: &[Case] = &[
        (30, [(72, 5), (6, 1), (3, 1), (1, 1)], ["14.4", "6", "3", "1"]),
        (28, [(336, 25), (28, 5), (14, 5), (14, 15)], ["13.44", "5.6", "2.8", "0.9333"]),
        (7, [(84, 25), (7, 5), (7, 10), (7, 30)], ["3.36", "1.4", "0.7", "0.2333"]),
    ];
    for (days, fractions, shown) in cases {
        let alerts = default_alerts(days * DAY);
        let windows: Vec<(Tier, i64, i64)> = alerts.iter().map(|alert| (alert.tier, alert.long, alert.short)).collect();
        assert_eq!(
            windows,
            [
                (Tier::Page, HOUR, 5 * MINUTE),
                (Tier::Page, 6 * HOUR, 30 * MINUTE),
                (Tier::Ticket, DAY, 2 * HOUR),
                (Tier::Ticket, 3 * DAY, 6 * HOUR)
            ]
        );
        for ((alert, (numerator, denominator)), text) in alerts.iter().zip(fractions).zip(shown) {
            assert_eq!((alert.factor.numerator, alert.factor.denominator), (*numerator, *denominator), "{days}d");
            assert_eq!(alert.factor.to_string(), *text, "{days}d");
        }
    }
    assert_eq!(Factor::parse("14.4"), Ok(Factor::new(72, 5)));
    assert_eq!(Factor::parse("0.5"), Ok(Factor::new(1, 2)));
    assert!(Factor::parse("0").is_err() && Factor::parse("-1").is_err() && Factor::parse("x").is_err());
}

#[test]
fn exactly_at_the_factor_does_not_cross_one_more_bad_event_does() {
    let objective = |text| Objective::parse(text).expect("objective");
    // (objective, factor, bad, total, above)
    let cases: &[(&str, Factor, u64, u64, bool)] = &[
        // 99.9% at 14.4: the threshold is an error ratio of 1.44%.
        ("99.9%", Factor::new(72, 5), 1_440, 100_000, false),
        ("99.9%", Factor::new(72, 5), 1_441, 100_000, true),
        ("99.9%", Factor::new(72, 5), 144, 10_000, false),
        ("99.9%", Factor::new(72, 5), 145, 10_000, true),
        // 99.95% at 6: 0.3%.
        ("99.95%", Factor::new(6, 1), 3, 1_000, false),
        ("99.95%", Factor::new(6, 1), 3_001, 1_000_000, true),
        // 28 days, 1h: 13.44 × 0.1% = 1.344%.
        ("99.9%", Factor::new(336, 25), 1_344, 100_000, false),
        ("99.9%", Factor::new(336, 25), 1_345, 100_000, true),
        // 3 days at 0.9333…: 14/15 × 1% of 15 events = 0.14 events: one is above.
        ("99%", Factor::new(14, 15), 0, 15, false),
        ("99%", Factor::new(14, 15), 1, 15, true),
        // No events burn nothing; every event bad burns at 1 / budget.
        ("99.9%", Factor::new(1, 1), 0, 0, false),
        ("99.9%", Factor::new(1000, 1), 10, 10, false),
        ("99.9%", Factor::new(999, 1), 10, 10, true),
        // Large counts stay exact.
        ("99.999%", Factor::new(72, 5), 144_000_000_000, 1_000_000_000_000_000, false),
        ("99.999%", Factor::new(72, 5), 144_000_000_001, 1_000_000_000_000_000, true),
    ];
    for (text, factor, bad, total, above) in cases {
        let counts = Counts { total: *total, bad: *bad };
        assert_eq!(counts.burns_above(objective(text), *factor), *above, "{text} {factor} {bad}/{total}");
    }
    assert!((Counts { total: 100_000, bad: 1_440 }.burn_rate(objective("99.9%")) - 14.4).abs() < 1e-9);
}

#[test]
fn an_overspent_budget_goes_negative_and_is_exhausted() {
    let objective = Objective::parse("99.9%").expect("objective");
    let budget = Budget::of(Counts { total: 1_000_000, bad: 2_000 }, objective);
    assert!((budget.consumed - 2.0).abs() < 1e-9 && (budget.remaining + 1.0).abs() < 1e-9, "{budget:?}");
    assert_eq!(budget.exhausted_in(5.0, 30 * DAY), Some(0));
    let half = Budget::of(Counts { total: 1_000_000, bad: 500 }, objective);
    assert!((half.remaining - 0.5).abs() < 1e-9);
    // Half the budget left, burning at 2: a quarter of the window.
    assert_eq!(half.exhausted_in(2.0, 30 * DAY), Some(30 * DAY / 4));
    assert_eq!(half.exhausted_in(0.0, 30 * DAY), None);
    assert_eq!(Budget::of(Counts::default(), objective), Budget { consumed: 0.0, remaining: 1.0 });
}

/// The windows read by brute force over every event, from the module's definition: a
/// window of length `w` at resolution `r` at time `t` holds the events whose bucket
/// `e / r` is one of the `w / r` buckets up to `t / r`.
fn brute_force(objective: Objective, alerts: &[BurnAlert], events: &[(i64, bool)], ticks: &[i64]) -> Vec<(usize, bool, i64)> {
    // Events are in time order: count them with prefix sums between two times.
    let bad_before: Vec<u64> = std::iter::once(0)
        .chain(events.iter().scan(0, |sum, (_, bad)| {
            *sum += u64::from(*bad);
            Some(*sum)
        }))
        .collect();
    let counts = |length: i64, at: i64| {
        let width = resolution(length);
        let (last, span) = (at.div_euclid(width), (length + width - 1) / width);
        let from = events.partition_point(|(time, _)| *time < (last - span + 1) * width);
        let to = events.partition_point(|(time, _)| *time <= at);
        let to = to.max(from);
        Counts { total: (to - from) as u64, bad: bad_before[to] - bad_before[from] }
    };
    let mut moments: Vec<i64> = events.iter().map(|(time, _)| *time).chain(ticks.iter().copied()).collect();
    moments.sort_unstable();
    moments.dedup();
    let mut firing = vec![false; alerts.len()];
    let mut changes = Vec::new();
    for at in moments {
        for (index, alert) in alerts.iter().enumerate() {
            let now =
                counts(alert.long, at).burns_above(objective, alert.factor) && counts(alert.short, at).burns_above(objective, alert.factor);
            if now != firing[index] {
                firing[index] = now;
                changes.push((index, now, at));
            }
        }
    }
    changes
}

#[test]
fn the_evaluator_fires_on_the_event_that_crosses_and_matches_brute_force() {
    let objective = Objective::parse("99%").expect("objective");
    // Short windows, so brute force stays quick: page on 2% of a 1-day budget in 10
    // minutes (and 1 minute), ticket on 10% in 2 hours (and 10 minutes).
    let alerts = vec![
        BurnAlert::consuming(Tier::Page, 10 * MINUTE, MINUTE, 2, DAY),
        BurnAlert::consuming(Tier::Ticket, 2 * HOUR, 10 * MINUTE, 10, DAY),
    ];
    // One event a second for 3 hours: steady 0.5% bad, a fast burn (50%) for 2 minutes
    // at 30m, a slow burn (5%) from 1h to 2h, then good only; a quiet gap at 2h30m.
    let mut events = Vec::new();
    let mut state: u64 = 7;
    for second in 0..3 * 3600_i64 {
        if (9000..9600).contains(&second) {
            continue;
        }
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        let roll = (state >> 33) % 1000;
        let bad_per_mille = match second {
            1800..1920 => 500,
            3600..7200 => 50,
            7200.. => 0,
            _ => 5,
        };
        events.push((second * SECOND + 250, roll < bad_per_mille));
    }
    let mut evaluator = BurnEvaluator::new(objective, alerts.clone(), &[DAY]);
    let mut changes = Vec::new();
    let mut ticks = Vec::new();
    for (at, bad) in &events {
        while let Some(expiry) = evaluator.next_expiry().filter(|expiry| expiry <= at) {
            ticks.push(expiry);
            changes.extend(evaluator.advance(expiry).into_iter().map(|change| (change.alert, change.firing, change.at)));
        }
        changes.extend(evaluator.observe(*at, 1, u64::from(*bad)).into_iter().map(|change| (change.alert, change.firing, change.at)));
    }
    let expected = brute_force(objective, &alerts, &events, &ticks);
    assert_eq!(changes, expected);
    let fired: Vec<usize> = changes.iter().filter(|(_, firing, _)| *firing).map(|(alert, _, _)| *alert).collect();
    assert!(fired.contains(&0) && fired.contains(&1), "both tiers fired: {changes:?}");
    assert!(changes.iter().all(|(_, _, at)| at % SECOND == 250 || ticks.contains(at)), "on events or expiries");
    // The whole day is in the budget window: its counts are every event's.
    let day = evaluator.window_burn(DAY).expect("day window");
    assert_eq!(day.counts.total, events.len() as u64);
    assert_eq!(day.counts.bad, events.iter().filter(|(_, bad)| *bad).count() as u64);
}

#[test]
fn a_late_event_counts_in_the_windows_that_still_cover_it() {
    let objective = Objective::parse("90%").expect("objective");
    let alert = BurnAlert::consuming(Tier::Page, MINUTE, 10 * SECOND, 100, MINUTE);
    let mut evaluator = BurnEvaluator::new(objective, vec![alert], &[]);
    for second in 0..30 {
        evaluator.observe(second * SECOND, 1, 0);
    }
    // Five bad events from 25 s arrive after 29 s: the 10 s window covers 20..=29.
    let changes = evaluator.observe(25 * SECOND, 5, 5);
    assert_eq!(evaluator.window_burn(10 * SECOND).map(|burn| burn.counts), Some(Counts { total: 15, bad: 5 }));
    assert_eq!(evaluator.window_burn(MINUTE).map(|burn| burn.counts), Some(Counts { total: 35, bad: 5 }));
    assert_eq!(changes.len(), 1, "5 of 35 is above 10%: {changes:?}");
    assert_eq!(changes[0].at, 29 * SECOND, "reported at the newest time seen");
}

#[test]
fn windows_rebuilt_from_stored_buckets_read_as_before_and_fire_the_same() {
    let objective = Objective::parse("99%").expect("objective");
    let alerts = vec![
        BurnAlert::consuming(Tier::Page, HOUR, 5 * MINUTE, 2, DAY),
        BurnAlert::consuming(Tier::Ticket, 6 * HOUR, 30 * MINUTE, 10, DAY),
    ];
    let mut live = BurnEvaluator::new(objective, alerts.clone(), &[DAY]);
    let mut stored: std::collections::BTreeMap<(i64, i64), Vec<u8>> = std::collections::BTreeMap::new();
    for second in 0..7_200_i64 {
        let bad = u64::from(second % 10 == 0 || (3_000..3_300).contains(&second));
        live.observe(second * SECOND + 100, 1, bad);
        if second % 60 == 0 {
            for stored_block in live.take_dirty() {
                stored.insert((stored_block.width, stored_block.block.start), stored_block.block.bytes);
            }
        }
    }
    for stored_block in live.take_dirty() {
        stored.insert((stored_block.width, stored_block.block.start), stored_block.block.bytes);
    }
    let kept = live.oldest_kept();
    let blocks: Vec<StoredBlock> = stored
        .into_iter()
        .filter(|((width, start), _)| kept.iter().any(|(kept_width, oldest)| kept_width == width && start + series::BLOCK > *oldest))
        .map(|((width, start), bytes)| StoredBlock { width, block: EncodedBlock { start, bytes } })
        .collect();
    let now = live.now().expect("now");
    let mut rebuilt = BurnEvaluator::new(objective, alerts, &[DAY]);
    let restored = rebuilt.restore(&blocks, &[], now);
    assert!(restored.skipped.is_empty(), "{:?}", restored.skipped);
    let fired: Vec<usize> = restored.changes.into_iter().filter(|change| change.firing).map(|change| change.alert).collect();
    let firing_live: Vec<usize> = live.firing().iter().enumerate().filter(|(_, firing)| **firing).map(|(index, _)| index).collect();
    assert_eq!(fired, firing_live);
    for length in [5 * MINUTE, 30 * MINUTE, HOUR, 6 * HOUR, DAY] {
        assert_eq!(rebuilt.window_burn(length).map(|burn| burn.counts), live.window_burn(length).map(|burn| burn.counts), "{length}");
    }
    assert_eq!(rebuilt.next_expiry(), live.next_expiry());
}

/// Two nodes that each count half of the events, and exchange the blocks they save, hold
/// the windows one node counting everything holds, once each has seen the other's latest
/// save; and they fire the same alerts.
#[test]
fn nodes_that_exchange_blocks_read_the_windows_of_all_events() {
    let objective = Objective::parse("99%").expect("objective");
    let alerts = vec![
        BurnAlert::consuming(Tier::Page, HOUR, 5 * MINUTE, 2, DAY),
        BurnAlert::consuming(Tier::Ticket, 6 * HOUR, 30 * MINUTE, 10, DAY),
    ];
    let mut whole = BurnEvaluator::new(objective, alerts.clone(), &[DAY]);
    let mut nodes = [BurnEvaluator::new(objective, alerts.clone(), &[DAY]), BurnEvaluator::new(objective, alerts, &[DAY])];
    // What each node last read of the other's blocks.
    let mut copies: [std::collections::BTreeMap<(i64, i64), Vec<u8>>; 2] = Default::default();
    for second in 0..4 * 3_600_i64 {
        let bad = u64::from(second % 50 == 0 || (5_000..5_400).contains(&second));
        let at = second * SECOND + 300;
        whole.observe(at, 1, bad);
        nodes[(second % 2) as usize].observe(at, 1, bad);
        if second % 5 == 4 {
            for from in 0..2 {
                let to = 1 - from;
                let saved = nodes[from].take_dirty();
                let mut grown = Vec::new();
                for stored in saved {
                    let key = (stored.width, stored.block.start);
                    let gained = series::growth(copies[to].get(&key).map(Vec::as_slice), &stored.block).expect("readable");
                    grown.extend(gained.into_iter().map(|(index, counts)| (stored.width, index, counts)));
                    copies[to].insert(key, stored.block.bytes);
                }
                nodes[to].observe_others(&grown);
            }
            for node in &mut nodes {
                // The node that did not take this second's event is a step behind.
                node.advance(at);
                for length in [5 * MINUTE, 30 * MINUTE, HOUR, 6 * HOUR, DAY] {
                    assert_eq!(
                        node.window_burn(length).map(|burn| burn.counts),
                        whole.window_burn(length).map(|burn| burn.counts),
                        "{length} ms at {second} s"
                    );
                }
                assert_eq!(node.firing(), whole.firing(), "at {second} s");
            }
        }
    }
    assert!(whole.firing().iter().any(|firing| *firing) || nodes[0].has_others(), "the exchange happened");
}

/// Several events a second, the evaluator passing window edges on its own: events within
/// a second are only counted (kept pending) and looked at by the alerts they can change, and the firings
/// and resolutions are still brute force's, on the event or edge where they happen.
#[test]
fn several_events_a_second_fire_and_resolve_as_brute_force_says() {
    let objective = Objective::parse("99%").expect("objective");
    let alerts = vec![
        BurnAlert::consuming(Tier::Page, 10 * MINUTE, MINUTE, 2, DAY),
        BurnAlert::consuming(Tier::Ticket, 2 * HOUR, 10 * MINUTE, 10, DAY),
    ];
    let mut events = Vec::new();
    let mut state: u64 = 11;
    for second in 0..3 * 3600_i64 {
        if (9000..9600).contains(&second) {
            continue;
        }
        for offset in [100, 300, 500, 700, 900] {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let bad_per_mille = match second {
                1800..1920 => 500,
                3600..7200 => 50,
                7200.. => 0,
                _ => 5,
            };
            events.push((second * SECOND + offset, (state >> 33) % 1000 < bad_per_mille));
        }
    }
    let mut evaluator = BurnEvaluator::new(objective, alerts.clone(), &[DAY]);
    let mut changes = Vec::new();
    for (at, bad) in &events {
        changes.extend(evaluator.observe(*at, 1, u64::from(*bad)).into_iter().map(|change| (change.alert, change.firing, change.at)));
    }
    // Every second's edge is a moment where a bucket may leave a window.
    let edges: Vec<i64> = (1..3 * 3600_i64).map(|second| second * SECOND).collect();
    assert_eq!(changes, brute_force(objective, &alerts, &events, &edges));
    // Asked for its next expiry between events (as an SLO is on the lines it does not
    // read) and moved there, it tells the same changes: pending events count in it.
    let mut asked = BurnEvaluator::new(objective, alerts.clone(), &[DAY]);
    let mut asked_changes = Vec::new();
    for (at, bad) in &events {
        while let Some(expiry) = asked.next_expiry().filter(|expiry| expiry < at) {
            asked_changes.extend(asked.advance(expiry).into_iter().map(|change| (change.alert, change.firing, change.at)));
        }
        asked_changes.extend(asked.observe(*at, 1, u64::from(*bad)).into_iter().map(|change| (change.alert, change.firing, change.at)));
    }
    assert_eq!(asked_changes, changes);
    assert!(changes.iter().filter(|(_, firing, _)| *firing).count() >= 2, "{changes:?}");
    let day = evaluator.window_burn(DAY).expect("day window");
    assert_eq!((day.counts.total, day.counts.bad), (events.len() as u64, events.iter().filter(|(_, bad)| *bad).count() as u64));
}

/// Batches pushed out of order (a later second before an earlier one, as concurrent
/// pushes do): the late events are held and added to the series a block at a time, and
/// the windows and stored blocks end as in order.
#[test]
fn late_batches_end_in_the_same_windows_and_blocks() {
    let objective = Objective::parse("99%").expect("objective");
    let alerts = default_alerts(DAY);
    let mut state: u64 = 5;
    let mut seconds: Vec<Vec<(i64, bool)>> = Vec::new();
    for second in 0..4 * 3600_i64 {
        let events = (0..3)
            .map(|offset| {
                state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                (second * SECOND + offset * 300, (state >> 33) % 100 < 2)
            })
            .collect();
        seconds.push(events);
    }
    let mut in_order = BurnEvaluator::new(objective, alerts.clone(), &[DAY]);
    for (at, bad) in seconds.iter().flatten() {
        in_order.observe(*at, 1, u64::from(*bad));
    }
    // Every pair of seconds swapped, and every 300th second held back by four minutes.
    let mut shuffled: Vec<&Vec<(i64, bool)>> = Vec::new();
    for pair in seconds.chunks(2) {
        shuffled.extend(pair.iter().rev());
    }
    let held: Vec<usize> = (0..shuffled.len()).filter(|index| index % 300 == 7).collect();
    let mut order: Vec<usize> = (0..shuffled.len()).filter(|index| !held.contains(index)).collect();
    for index in held {
        let position = order.iter().position(|other| *other == (index + 240).min(shuffled.len() - 1)).unwrap_or(order.len() - 1);
        order.insert(position + 1, index);
    }
    let mut late = BurnEvaluator::new(objective, alerts, &[DAY]);
    for index in order {
        for (at, bad) in shuffled[index] {
            late.observe(*at, 1, u64::from(*bad));
        }
    }
    for length in [5 * MINUTE, HOUR, 6 * HOUR, DAY] {
        assert_eq!(late.window_burn(length).map(|burn| burn.counts), in_order.window_burn(length).map(|burn| burn.counts), "{length}");
    }
    assert_eq!(late.blocks(), in_order.blocks());
}
