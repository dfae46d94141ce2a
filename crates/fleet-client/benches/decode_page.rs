//! Decode one 100-unit page exactly as fleet sends it (the body of `units-list-page1.json`,
//! captured from fleet v1.0.0) through the library's public page decoder, [`fleet::v1::Page`].
//!
//! Target: at most 60 µs per page. Run with `cargo bench -p fleet-client --bench decode_page`.
//!
//! `units_100_fleet_v1_0_0` is what listing costs: the page is checked completely and each
//! unit keeps its options as a slice of the body until they are first used.
//! `units_100_fleet_v1_0_0_with_options` also asks every unit for its options, so that all
//! of them are decoded into `UnitOption`s: the cost of a caller that reads everything.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use fleet::v1::{Page, Unit};

/// The fixture's recorded response body: 100 units plus `nextPageToken`, byte for byte.
fn page_body() -> Vec<u8> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/fleet-v1/units-list-page1.json"
    );
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {path}: {e} (shared/ must be beside the repo)"));
    let fixture: serde_json::Value = serde_json::from_str(&text).expect("fixture is JSON");
    fixture["response"]["body"]
        .as_str()
        .expect("fixture has a response body")
        .as_bytes()
        .to_vec()
}

fn decode_page(c: &mut Criterion) {
    let body = page_body();
    // Check once, outside the measurement, that this is the page the target speaks of.
    let page: Page<Unit> = Page::from_slice(&body).expect("fleet's page decodes");
    assert_eq!(page.items.len(), 100);
    assert_eq!(page.next_page_token.as_deref(), Some("ZAACAA=="));

    let mut group = c.benchmark_group("decode_page");
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function("units_100_fleet_v1_0_0", |b| {
        b.iter(|| {
            let page: Page<Unit> = Page::from_slice(black_box(&body)).expect("decodes");
            black_box(page)
        })
    });
    group.bench_function("units_100_fleet_v1_0_0_with_options", |b| {
        b.iter(|| {
            let page: Page<Unit> = Page::from_slice(black_box(&body)).expect("decodes");
            let options: usize = page.items.iter().map(|u| u.options().len()).sum();
            assert_eq!(options, 100);
            black_box(page)
        })
    });
    group.finish();
}

criterion_group!(benches, decode_page);
criterion_main!(benches);
