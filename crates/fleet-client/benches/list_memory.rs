//! Peak memory of `Client::list_units` over 100,000 units, against listing 100.
//!
//! `list_units` is a lazy stream holding one page at a time, so listing a thousand pages should
//! cost about what listing one does. Target: peak live heap while listing 100,000 units is at
//! most 5 MB above the peak while listing 100.
//!
//! ```sh
//! cargo bench -p fleet-client --bench list_memory
//! ```
//!
//! How it is measured: this binary's global allocator counts live heap bytes (every thread,
//! so the in-process fleet-testserver's per-request allocations are counted too: the figure is
//! an upper bound for the client) and keeps the peak. Each run loads the units into a fresh
//! fleet-testserver (page size 100, fleet's default) first, then resets the peak to the live
//! bytes at that moment, lists every unit (dropping each), and reports the peak minus that
//! baseline. A criterion timing of the 100,000-unit listing follows.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use criterion::Criterion;
use fleet::v1 as fleet;
use fleet_testserver::TestServer;
use futures::{StreamExt, TryStreamExt};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grow(n: usize) {
    let live = LIVE.fetch_add(n, Ordering::Relaxed) + n;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

fn shrink(n: usize) {
    LIVE.fetch_sub(n, Ordering::Relaxed);
}

// SAFETY: every call is forwarded to the system allocator unchanged; only counters are kept.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grow(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grow(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        shrink(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size > layout.size() {
                grow(new_size - layout.size());
            } else {
                shrink(layout.size() - new_size);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const TARGET_BYTES: usize = 5 * 1024 * 1024;

/// A fresh server holding `n` inactive units, with a client for it.
async fn loaded(n: usize) -> (TestServer, fleet::Client) {
    let server = TestServer::start().expect("test server");
    let client = fleet::Client::new(&server.http_endpoint())
        .await
        .expect("client");
    let unit = fleet::Unit::from_string("[Service]\nExecStart=/usr/bin/sleep 1d\n")
        .expect("unit")
        .with_desired_state(fleet::DesiredState::Inactive);
    futures::stream::iter(0..n)
        .map(|i| {
            let client = client.clone();
            let unit = unit.clone();
            async move {
                client
                    .create_unit(&format!("mem-{i:06}.service"), &unit)
                    .await
                    .map(|_| ())
            }
        })
        .buffer_unordered(32)
        .try_collect::<()>()
        .await
        .expect("load units");
    (server, client)
}

/// List every unit, dropping each; returns (count, peak live bytes above the start).
async fn peak_while_listing(client: &fleet::Client) -> (usize, usize) {
    let base = LIVE.load(Ordering::SeqCst);
    PEAK.store(base, Ordering::SeqCst);
    let mut count = 0;
    let mut units = std::pin::pin!(client.list_units());
    while let Some(unit) = units.try_next().await.expect("list") {
        std::hint::black_box(&unit);
        count += 1;
    }
    let peak = PEAK.load(Ordering::SeqCst);
    (count, peak.saturating_sub(base))
}

fn mib(bytes: usize) -> String {
    format!("{:.2} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn main() -> std::process::ExitCode {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");

    let (small_count, small_peak, big_count, big_peak, big) = runtime.block_on(async {
        let (_small_server, small) = loaded(100).await;
        // Warm up the connection and the client's buffers first, so both runs start alike.
        peak_while_listing(&small).await;
        let (small_count, small_peak) = peak_while_listing(&small).await;

        let (big_server, big) = loaded(100_000).await;
        peak_while_listing(&big).await;
        let (big_count, big_peak) = peak_while_listing(&big).await;
        (
            small_count,
            small_peak,
            big_count,
            big_peak,
            (big_server, big),
        )
    });
    assert_eq!(small_count, 100);
    assert_eq!(big_count, 100_000);
    let above = big_peak.saturating_sub(small_peak);
    println!(
        "list_memory: peak live heap while listing     100 units: {}",
        mib(small_peak)
    );
    println!(
        "list_memory: peak live heap while listing 100,000 units: {}",
        mib(big_peak)
    );
    println!(
        "list_memory: 100,000 units cost {} above 100 units (target: at most {}): {}",
        mib(above),
        mib(TARGET_BYTES),
        if above <= TARGET_BYTES {
            "met"
        } else {
            "MISSED"
        }
    );

    // Time for the whole 100,000-unit listing (1,000 pages).
    let (_big_server, big) = big;
    let mut criterion = Criterion::default()
        .sample_size(10)
        .measurement_time(Duration::from_secs(20))
        .configure_from_args();
    criterion.bench_function("list_units_100000", |b| {
        b.to_async(&runtime).iter(|| async {
            let n = big
                .list_units()
                .try_fold(0usize, |n, _| async move { Ok(n + 1) })
                .await;
            assert_eq!(n.expect("list"), 100_000);
        })
    });
    criterion.final_summary();

    if above <= TARGET_BYTES {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}
