//! How long quick-add takes to read one line: a dozen phrases of the grammar, each read at a fixed
//! clock in London. The target is under 20 µs a phrase.

// criterion_group! generates an undocumented function.
#![allow(missing_docs)]

use chrono::{TimeZone, Utc};
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use todo_core::quick_add::parse;

const PHRASES: [&str; 12] = [
    "buy milk",
    "call mum tomorrow 6pm remind 30m before",
    "Pay rent every month on the 1st at 9am !high #home",
    "weekly review every friday 16:00 #work",
    "standup every weekday at 9:30",
    "buy milk next friday",
    "dentist dec 24 at 10:15",
    "water plants every 3 days #garden",
    "report in 2 weeks p1",
    "backup every last day of the month",
    "gym every mon, wed and fri at 7am",
    "renew passport 2026-12-24 remind me 2 days before !low",
];

fn quick_add(c: &mut Criterion) {
    let now = Utc
        .with_ymd_and_hms(2026, 3, 27, 12, 0, 0)
        .single()
        .expect("a valid instant");
    let london = chrono_tz::Europe::London;
    let mut group = c.benchmark_group("quick_add");
    for phrase in PHRASES {
        group.bench_function(phrase, |b| {
            b.iter(|| parse(black_box(phrase), black_box(now), london))
        });
    }
    group.bench_function("all twelve", |b| {
        b.iter(|| {
            for phrase in PHRASES {
                let _ = black_box(parse(black_box(phrase), now, london));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, quick_add);
criterion_main!(benches);
