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
//! Where the units come from: fleet v1.0.0 cannot list 100,000 units. Its page arithmetic is
//! `uint16` (`(tok.Page - 1) * tok.Limit` in `api/units.go`), so no page starts past index
//! 65,535, and fleet-testserver reproduces that faithfully (the page after 65,500 closes the
//! connection). This bench therefore serves the pages from a small generator in this binary:
//! fleet's discovery document, then 1,000 pages of 100 units shaped exactly like the first unit
//! of `units-list-page1.json` (fleet's own bytes, only the name changes), chained by
//! `nextPageToken`, over HTTP/1.1 keep-alive on 127.0.0.1, chunked like fleet's large bodies.
//!
//! How it is measured: this binary's global allocator counts live heap bytes (every thread, so
//! the generator's per-page allocations are counted too: the figure is an upper bound for the
//! client) and keeps the peak. Each run resets the peak to the live bytes at its start, lists
//! every unit (dropping each), and reports the peak minus that baseline. A criterion timing of
//! the 100,000-unit listing follows.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use criterion::Criterion;
use fleet::v1 as fleet;
use futures::TryStreamExt;

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

/// The generator: serves discovery and `pages` pages of 100 units on 127.0.0.1, keep-alive.
fn serve_pages(pages: usize) -> std::net::SocketAddr {
    use std::io::{BufRead, BufReader, Write};

    let fixtures = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/fleet-v1"
    );
    let read = |name: &str| -> serde_json::Value {
        let text = std::fs::read_to_string(format!("{fixtures}/{name}.json"))
            .unwrap_or_else(|e| panic!("{name}: {e} (shared/ must be beside the repo)"));
        serde_json::from_str(&text).expect("fixture JSON")
    };
    let discovery = read("discovery")["response"]["body"]
        .as_str()
        .expect("discovery body")
        .to_string();
    let page1: serde_json::Value = serde_json::from_str(
        read("units-list-page1")["response"]["body"]
            .as_str()
            .expect("page body"),
    )
    .expect("page JSON");
    let template = serde_json::to_string(&page1["units"][0]).expect("unit JSON");
    assert!(template.contains("\"page-000.service\""));

    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let discovery = discovery.clone();
            let template = template.clone();
            std::thread::spawn(move || {
                let mut writer = stream.try_clone().expect("clone");
                let mut reader = BufReader::new(stream);
                loop {
                    let mut request_line = String::new();
                    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
                        return;
                    }
                    loop {
                        let mut header = String::new();
                        if reader.read_line(&mut header).unwrap_or(0) == 0 {
                            return;
                        }
                        if header == "\r\n" {
                            break;
                        }
                    }
                    let target = request_line.split(' ').nth(1).unwrap_or("/");
                    let body = if target.starts_with("/fleet/v1/discovery") {
                        discovery.clone()
                    } else {
                        let page: usize = target
                            .split_once("nextPageToken=p")
                            .and_then(|(_, n)| n.parse().ok())
                            .unwrap_or(1);
                        let mut body = String::with_capacity(17_000);
                        if page < pages {
                            body.push_str(&format!("{{\"nextPageToken\":\"p{}\",", page + 1));
                        } else {
                            body.push('{');
                        }
                        body.push_str("\"units\":[");
                        for i in 0..100 {
                            if i > 0 {
                                body.push(',');
                            }
                            let name = format!("page-{:06}.service", (page - 1) * 100 + i);
                            body.push_str(&template.replace("page-000.service", &name));
                        }
                        body.push_str("]}");
                        body
                    };
                    let response = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n",
                        body.len()
                    );
                    if writer.write_all(response.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

async fn client_for(pages: usize) -> fleet::Client {
    let addr = serve_pages(pages);
    fleet::Client::new(&format!("http://{addr}"))
        .await
        .expect("client")
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
        let small = client_for(1).await;
        // Warm up the connection and the client's buffers first, so both runs start alike.
        peak_while_listing(&small).await;
        let (small_count, small_peak) = peak_while_listing(&small).await;

        let big = client_for(1_000).await;
        peak_while_listing(&big).await;
        let (big_count, big_peak) = peak_while_listing(&big).await;
        (small_count, small_peak, big_count, big_peak, big)
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
