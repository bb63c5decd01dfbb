//! The registry's Prometheus metrics, served at `/metrics` in the text exposition format.
//!
//! One set per process (`METRICS`): what a scrape describes is the process, and the handlers,
//! the store errors and the connection layer all count into it without passing it around.

use std::sync::LazyLock;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    /// The route template (`/api/v1/packs/{namespace}/{name}`), never the raw path, so that
    /// the number of series stays bounded; `unmatched` for any other path.
    pub route: String,
    pub status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub method: String,
    pub route: String,
}

type HistogramFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

pub struct Metrics {
    pub requests: Family<RequestLabels, Counter>,
    pub request_duration: HistogramFamily,
    pub publishes: Counter,
    pub stored_bytes: Counter,
    pub store_errors: Counter,
    pub open_connections: Gauge,
    registry: Registry,
}

fn latency_histogram() -> Histogram {
    // 0.5 ms to about 16 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

pub static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let mut registry = Registry::with_prefix("threatpack_registry");
    let requests = Family::<RequestLabels, Counter>::default();
    registry.register(
        "requests",
        "HTTP requests answered, by method, route and status",
        requests.clone(),
    );
    let request_duration: HistogramFamily = Family::new_with_constructor(latency_histogram);
    registry.register(
        "request_duration_seconds",
        "Time from the request's headers to the answer's headers, by method and route",
        request_duration.clone(),
    );
    let publishes = Counter::default();
    registry.register(
        "publishes",
        "Versions published (new versions only, not identical republishes)",
        publishes.clone(),
    );
    let stored_bytes = Counter::default();
    registry.register(
        "stored_bytes",
        "Bundle bytes stored by publishes since the process started",
        stored_bytes.clone(),
    );
    let store_errors = Counter::default();
    registry.register(
        "store_errors",
        "Store failures (database or disk) answered with 500 or 503",
        store_errors.clone(),
    );
    let open_connections = Gauge::default();
    registry.register(
        "open_connections",
        "Client connections open now",
        open_connections.clone(),
    );
    Metrics {
        requests,
        request_duration,
        publishes,
        stored_bytes,
        store_errors,
        open_connections,
        registry,
    }
});

/// Every metric in the Prometheus text format.
pub fn render() -> String {
    let mut text = String::new();
    // Writing into a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut text, &METRICS.registry);
    text
}
