//! Vigil's own logs and traces. Logs go to stderr as text or JSON, filtered by
//! `VIGIL_LOG` (default `info`). When `telemetry.otlp-endpoint` is set, spans of checks,
//! rule firings, alert routing, notifications, actions and API requests go to it over
//! OTLP/HTTP (protobuf), batched on the runtime, and outgoing webhook and HTTP-action
//! requests carry the W3C `traceparent` of the span they are made in.

use std::collections::BTreeMap;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Exports spans while it lives; `shutdown` sends what is left.
pub struct Traces {
    provider: SdkTracerProvider,
}

impl Traces {
    /// Sends the spans still batched. Blocks: call it off the runtime's workers.
    pub fn shutdown(self) {
        if let Err(error) = self.provider.shutdown() {
            tracing::warn!(%error, "sending the last spans failed");
        }
    }
}

fn provider(config: &vigil_config::TelemetryConfig, endpoint: &str) -> anyhow::Result<SdkTracerProvider> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(format!("{endpoint}/v1/traces"))
        .build()
        .map_err(|error| anyhow::anyhow!("telemetry.otlp-endpoint: {error}"))?;
    let processor = opentelemetry_sdk::trace::span_processor_with_async_runtime::BatchSpanProcessor::builder(
        exporter,
        opentelemetry_sdk::runtime::Tokio,
    )
    .build();
    Ok(SdkTracerProvider::builder()
        .with_span_processor(processor)
        .with_resource(opentelemetry_sdk::Resource::builder().with_service_name(config.service_name.clone()).build())
        .build())
}

/// Sets up logging, and traces when `telemetry` names an endpoint. Must run inside the
/// runtime (the batch exporter lives on it).
pub fn init(json: bool, telemetry: Option<&vigil_config::TelemetryConfig>) -> anyhow::Result<Option<Traces>> {
    let filter = || EnvFilter::try_from_env("VIGIL_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let logs = if json { logs.json().with_filter(filter()).boxed() } else { logs.with_filter(filter()).boxed() };
    let provider = match telemetry.and_then(|config| config.otlp_endpoint.as_deref().map(|endpoint| (config, endpoint))) {
        Some((config, endpoint)) => Some(provider(config, endpoint)?),
        None => None,
    };
    // Only Vigil's own spans: not its dependencies' events, nor the exporter's requests.
    // Without an exporter there is no layer at all, so spans are made only when the logs'
    // level wants them (a filter around an empty layer would enable every info span:
    // 0.01 ms of CPU per check at 10,000 checks/s).
    let traces = provider.as_ref().map(|provider| {
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("vigil"))
            .with_filter(EnvFilter::new(format!("off,vigil=info,vigil_probes=info,{}=debug", crate::monitor::scheduler::CHECK_SPAN_TARGET)))
    });
    let _ = tracing_subscriber::registry().with(traces).with(logs).try_init();
    opentelemetry::global::set_text_map_propagator(opentelemetry_sdk::propagation::TraceContextPropagator::new());
    if let (Some(config), Some(_)) = (telemetry, &provider) {
        tracing::info!(endpoint = config.otlp_endpoint.as_deref().unwrap_or_default(), "exporting traces over OTLP/HTTP");
    }
    Ok(provider.map(|provider| Traces { provider }))
}

/// Records the span's trace id in its `trace_id` field (declared empty), so the JSON
/// logs of what happens inside it name the trace; nothing without traces.
pub fn record_trace_id(span: &tracing::Span) {
    use opentelemetry::trace::TraceContextExt;
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    let context = span.context();
    let span_context = context.span().span_context().clone();
    if span_context.is_valid() {
        span.record("trace_id", span_context.trace_id().to_string());
    }
}

/// The W3C `traceparent` (and `tracestate`) of the current span, added to `headers`;
/// nothing without a trace.
pub fn inject(headers: &mut BTreeMap<String, String>) {
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    let context = tracing::Span::current().context();
    let mut carrier = std::collections::HashMap::new();
    opentelemetry::global::get_text_map_propagator(|propagator| propagator.inject_context(&context, &mut carrier));
    headers.extend(carrier);
}
