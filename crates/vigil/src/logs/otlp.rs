//! `POST /v1/logs`, OpenTelemetry's OTLP/HTTP logs export, in both its encodings:
//! protobuf (`application/x-protobuf`, the default of every SDK's exporter and of the
//! Collector's `otlphttp`) and JSON, plain or gzip-compressed. Both decode into one
//! model, so they map to lines identically:
//!
//! - each log record becomes a line: its body if that is a string, else the body as
//!   plain JSON (a map body `{"status": 500}` reads with `| json`);
//! - its labels are the resource's attributes, the record's attributes (names
//!   sanitized: `service.name` is `service_name`) and `level` from the severity text;
//! - its event time is `timeUnixNano`, else `observedTimeUnixNano`, else now.
//!
//! Records with the same labels share one stream, and the labels of a whole export are
//! held to a budget proportional to its body ([`label_budget`]), so an export cannot
//! make Vigil hold much more than it sent (20,000 resource attributes copied onto each
//! of 600 records used to take 1.2 GiB for an 885 KiB body).

use std::collections::HashMap;
use std::fmt;

use base64::Engine as _;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use vigil_logql::eval::pipeline::{sanitize, Labels};

use super::loki::PushError;
use super::{LogBatch, LogStream};

/// An OTLP `AnyValue`, from either encoding.
#[derive(Debug, Clone, PartialEq)]
enum AnyValue {
    Empty,
    String(String),
    Bool(bool),
    Int(i64),
    Double(f64),
    Bytes(Vec<u8>),
    Array(Vec<AnyValue>),
    Map(Vec<(String, AnyValue)>),
}

impl AnyValue {
    /// The value as a line or a label value: strings as they are, other scalars
    /// printed, bytes in base64, arrays and maps as plain JSON.
    fn text(&self) -> String {
        match self {
            AnyValue::Empty => String::new(),
            AnyValue::String(text) => text.clone(),
            AnyValue::Bool(flag) => flag.to_string(),
            AnyValue::Int(number) => number.to_string(),
            AnyValue::Double(number) => double_text(*number),
            AnyValue::Bytes(bytes) => base64::engine::general_purpose::STANDARD.encode(bytes),
            AnyValue::Array(_) | AnyValue::Map(_) => self.json().to_string(),
        }
    }

    fn json(&self) -> serde_json::Value {
        match self {
            AnyValue::Empty => serde_json::Value::Null,
            AnyValue::String(text) => serde_json::Value::String(text.clone()),
            AnyValue::Bool(flag) => serde_json::Value::Bool(*flag),
            AnyValue::Int(number) => serde_json::Value::from(*number),
            AnyValue::Double(number) => serde_json::Number::from_f64(*number).map_or_else(
                // NaN and the infinities have no JSON number; they read as their names.
                || serde_json::Value::String(double_text(*number)),
                serde_json::Value::Number,
            ),
            AnyValue::Bytes(_) => serde_json::Value::String(self.text()),
            AnyValue::Array(items) => serde_json::Value::Array(items.iter().map(AnyValue::json).collect()),
            AnyValue::Map(entries) => serde_json::Value::Object(entries.iter().map(|(key, value)| (key.clone(), value.json())).collect()),
        }
    }
}

/// The shortest text that reads back as the same double (`2`, `1.5`), whichever
/// encoding carried it.
fn double_text(number: f64) -> String {
    match number {
        _ if number.is_nan() => "NaN".to_owned(),
        f64::INFINITY => "Infinity".to_owned(),
        f64::NEG_INFINITY => "-Infinity".to_owned(),
        _ => number.to_string(),
    }
}

/// One log record as the rest of the decoding needs it.
struct Record {
    time_ms: Option<i64>,
    observed_ms: Option<i64>,
    severity_text: String,
    body: AnyValue,
    attributes: Vec<(String, AnyValue)>,
}

/// All the records of one resource.
struct Resource {
    attributes: Vec<(String, AnyValue)>,
    records: Vec<Record>,
}

fn nanos_to_millis(nanos: u64) -> Option<i64> {
    (nanos > 0).then(|| i64::try_from(nanos / 1_000_000).unwrap_or(i64::MAX))
}

/// Most labels one line may carry (resource and record attributes and `level`).
pub const MAX_LABELS_PER_LINE: usize = 256;

/// How many bytes the labels of an export of `body_bytes` may take in memory (each
/// distinct label set counted once). Generous for real exports, where a record's labels
/// take about as many bytes as the record itself.
pub fn label_budget(body_bytes: usize) -> usize {
    16 * body_bytes + 1024 * 1024
}

/// What one label costs in memory: its text and the map entry around it.
fn label_cost(name: &str, value: &AnyValue) -> usize {
    const ENTRY: usize = 96;
    ENTRY
        + name.len()
        + match value {
            AnyValue::String(text) => text.len(),
            AnyValue::Array(_) | AnyValue::Map(_) | AnyValue::Bytes(_) => value.text().len(),
            _ => 24,
        }
}

fn too_many_labels(count: usize) -> PushError {
    PushError::Malformed(format!(
        "a log record would carry {count} labels (resource and record attributes); the limit is {MAX_LABELS_PER_LINE}"
    ))
}

/// Turns decoded resources into a batch: records with equal labels share a stream.
fn batch(resources: Vec<Resource>, now: i64, body_bytes: usize) -> Result<LogBatch, PushError> {
    let budget = label_budget(body_bytes);
    let mut used = 0usize;
    let mut streams: Vec<LogStream> = Vec::new();
    // Streams by a hash of their labels, so a repeated label set is found, not copied.
    let mut index: HashMap<u64, Vec<usize>> = HashMap::new();
    for resource in resources {
        if resource.attributes.len() > MAX_LABELS_PER_LINE {
            return Err(too_many_labels(resource.attributes.len()));
        }
        let shared_cost: usize = resource.attributes.iter().map(|(key, value)| label_cost(key, value)).sum();
        let shared: Labels = resource.attributes.iter().map(|(key, value)| (sanitize(key), value.text())).collect();
        for record in resource.records {
            let count = shared.len() + record.attributes.len() + usize::from(!record.severity_text.is_empty());
            if count > MAX_LABELS_PER_LINE {
                return Err(too_many_labels(count));
            }
            let cost = shared_cost + record.attributes.iter().map(|(key, value)| label_cost(key, value)).sum::<usize>();
            if used + cost > budget {
                return Err(PushError::Malformed(format!(
                    "the records' labels (resource and record attributes) would take more than {budget} bytes for a \
                     {body_bytes}-byte export; send fewer or smaller attributes, or fewer records per export"
                )));
            }
            let mut labels = shared.clone();
            for (key, value) in &record.attributes {
                labels.insert(sanitize(key), value.text());
            }
            if !record.severity_text.is_empty() {
                labels.insert("level".to_owned(), record.severity_text);
            }
            let at = record.time_ms.or(record.observed_ms).unwrap_or(now);
            let line = record.body.text();
            let hash = {
                use std::hash::{BuildHasher, BuildHasherDefault};
                BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default().hash_one(&labels)
            };
            let candidates = index.entry(hash).or_default();
            match candidates.iter().find(|&&position| streams[position].labels == labels) {
                Some(&position) => streams[position].entries.push((at, line)),
                None => {
                    used += cost;
                    candidates.push(streams.len());
                    streams.push(LogStream { labels, entries: vec![(at, line)] });
                }
            }
        }
    }
    Ok(LogBatch { streams, checkpoint: None })
}

// ---- JSON encoding ----

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonRequest {
    #[serde(default)]
    resource_logs: Vec<JsonResourceLogs>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonResourceLogs {
    #[serde(default)]
    resource: Option<JsonResource>,
    #[serde(default)]
    scope_logs: Vec<JsonScopeLogs>,
}

#[derive(Deserialize, Default)]
struct JsonResource {
    #[serde(default)]
    attributes: Vec<KeyValue>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonScopeLogs {
    #[serde(default)]
    log_records: Vec<JsonLogRecord>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonLogRecord {
    #[serde(default)]
    time_unix_nano: Option<JsonU64>,
    #[serde(default)]
    observed_time_unix_nano: Option<JsonU64>,
    #[serde(default)]
    severity_text: Option<String>,
    #[serde(default)]
    body: Option<AnyValue>,
    #[serde(default)]
    attributes: Vec<KeyValue>,
}

/// OTLP JSON writes 64-bit integers as strings; numbers are accepted too.
#[derive(Deserialize)]
#[serde(untagged)]
enum JsonU64 {
    Text(String),
    Number(u64),
}

impl JsonU64 {
    fn millis(&self) -> Option<i64> {
        let nanos = match self {
            JsonU64::Text(text) => text.trim().parse::<u64>().ok()?,
            JsonU64::Number(number) => *number,
        };
        nanos_to_millis(nanos)
    }
}

struct KeyValue(String, AnyValue);

impl<'de> Deserialize<'de> for KeyValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Raw {
            key: String,
            #[serde(default)]
            value: Option<AnyValue>,
        }
        let raw = Raw::deserialize(deserializer)?;
        Ok(KeyValue(raw.key, raw.value.unwrap_or(AnyValue::Empty)))
    }
}

/// `{"stringValue": "x"}`, `{"intValue": "42"}`, `{"arrayValue": {"values": [...]}}`, …
/// read straight into [`AnyValue`], with no intermediate JSON tree.
impl<'de> Deserialize<'de> for AnyValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(AnyValueVisitor)
    }
}

struct AnyValueVisitor;

impl<'de> Visitor<'de> for AnyValueVisitor {
    type Value = AnyValue;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("an OTLP AnyValue such as {\"stringValue\": \"...\"}")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AnyValue, A::Error> {
        let mut value = AnyValue::Empty;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            value = match key.as_ref() {
                "stringValue" => AnyValue::String(map.next_value()?),
                "boolValue" => AnyValue::Bool(map.next_value()?),
                "intValue" => AnyValue::Int(match map.next_value::<JsonI64>()? {
                    JsonI64::Number(number) => number,
                    JsonI64::Text(text) => text.trim().parse().map_err(|_| de::Error::custom(format!("invalid intValue `{text}`")))?,
                }),
                "doubleValue" => AnyValue::Double(match map.next_value::<JsonF64>()? {
                    JsonF64::Number(number) => number,
                    JsonF64::Text(text) => match text.as_str() {
                        "NaN" => f64::NAN,
                        "Infinity" => f64::INFINITY,
                        "-Infinity" => f64::NEG_INFINITY,
                        other => other.parse().map_err(|_| de::Error::custom(format!("invalid doubleValue `{other}`")))?,
                    },
                }),
                "bytesValue" => {
                    let text: String = map.next_value()?;
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(text.trim())
                        .map_err(|_| de::Error::custom("bytesValue is not base64"))?;
                    AnyValue::Bytes(bytes)
                }
                "arrayValue" => AnyValue::Array(map.next_value::<JsonValues<AnyValue>>()?.values),
                "kvlistValue" => AnyValue::Map(
                    map.next_value::<JsonValues<KeyValue>>()?.values.into_iter().map(|KeyValue(key, value)| (key, value)).collect(),
                ),
                _ => {
                    map.next_value::<de::IgnoredAny>()?;
                    value
                }
            };
        }
        Ok(value)
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum JsonI64 {
    Number(i64),
    Text(String),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum JsonF64 {
    Number(f64),
    Text(String),
}

/// `{"values": [...]}` of `arrayValue` and `kvlistValue`.
struct JsonValues<T> {
    values: Vec<T>,
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for JsonValues<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ValuesVisitor<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for ValuesVisitor<T> {
            type Value = JsonValues<T>;
            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("{\"values\": [...]}")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<JsonValues<T>, A::Error> {
                let mut values = Vec::new();
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    if key == "values" {
                        values = map.next_value::<SeqOf<T>>()?.0;
                    } else {
                        map.next_value::<de::IgnoredAny>()?;
                    }
                }
                Ok(JsonValues { values })
            }
        }
        deserializer.deserialize_map(ValuesVisitor(std::marker::PhantomData))
    }
}

struct SeqOf<T>(Vec<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for SeqOf<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SeqVisitor<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for SeqVisitor<T> {
            type Value = SeqOf<T>;
            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("a list")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<SeqOf<T>, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(SeqOf(items))
            }
        }
        deserializer.deserialize_seq(SeqVisitor(std::marker::PhantomData))
    }
}

/// Parses an OTLP JSON export into a batch; records without any time get `now`.
pub fn parse_json(body: &[u8], now: i64) -> Result<LogBatch, PushError> {
    let request: JsonRequest =
        serde_json::from_slice(body).map_err(|error| PushError::Malformed(format!("invalid OTLP logs body: {error}")))?;
    let resources = request
        .resource_logs
        .into_iter()
        .map(|resource_logs| Resource {
            attributes: resource_logs.resource.unwrap_or_default().attributes.into_iter().map(|KeyValue(k, v)| (k, v)).collect(),
            records: resource_logs
                .scope_logs
                .into_iter()
                .flat_map(|scope| scope.log_records)
                .map(|record| Record {
                    time_ms: record.time_unix_nano.as_ref().and_then(JsonU64::millis),
                    observed_ms: record.observed_time_unix_nano.as_ref().and_then(JsonU64::millis),
                    severity_text: record.severity_text.unwrap_or_default(),
                    body: record.body.unwrap_or(AnyValue::Empty),
                    attributes: record.attributes.into_iter().map(|KeyValue(k, v)| (k, v)).collect(),
                })
                .collect(),
        })
        .collect();
    batch(resources, now, body.len())
}

// ---- protobuf encoding (opentelemetry/proto/collector/logs/v1), the fields Vigil reads ----

mod proto {
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ExportLogsServiceRequest {
        #[prost(message, repeated, tag = "1")]
        pub resource_logs: Vec<ResourceLogs>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ResourceLogs {
        #[prost(message, optional, tag = "1")]
        pub resource: Option<Resource>,
        #[prost(message, repeated, tag = "2")]
        pub scope_logs: Vec<ScopeLogs>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Resource {
        #[prost(message, repeated, tag = "1")]
        pub attributes: Vec<KeyValue>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ScopeLogs {
        #[prost(message, repeated, tag = "2")]
        pub log_records: Vec<LogRecord>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct LogRecord {
        #[prost(fixed64, tag = "1")]
        pub time_unix_nano: u64,
        #[prost(fixed64, tag = "11")]
        pub observed_time_unix_nano: u64,
        #[prost(string, tag = "3")]
        pub severity_text: String,
        #[prost(message, optional, tag = "5")]
        pub body: Option<AnyValue>,
        #[prost(message, repeated, tag = "6")]
        pub attributes: Vec<KeyValue>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct KeyValue {
        #[prost(string, tag = "1")]
        pub key: String,
        #[prost(message, optional, tag = "2")]
        pub value: Option<AnyValue>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct AnyValue {
        #[prost(oneof = "Value", tags = "1, 2, 3, 4, 5, 6, 7")]
        pub value: Option<Value>,
    }

    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Value {
        #[prost(string, tag = "1")]
        String(String),
        #[prost(bool, tag = "2")]
        Bool(bool),
        #[prost(int64, tag = "3")]
        Int(i64),
        #[prost(double, tag = "4")]
        Double(f64),
        #[prost(message, tag = "5")]
        Array(ArrayValue),
        #[prost(message, tag = "6")]
        Kvlist(KeyValueList),
        #[prost(bytes, tag = "7")]
        Bytes(Vec<u8>),
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ArrayValue {
        #[prost(message, repeated, tag = "1")]
        pub values: Vec<AnyValue>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct KeyValueList {
        #[prost(message, repeated, tag = "1")]
        pub values: Vec<KeyValue>,
    }
}

impl From<proto::AnyValue> for AnyValue {
    fn from(value: proto::AnyValue) -> AnyValue {
        match value.value {
            None => AnyValue::Empty,
            Some(proto::Value::String(text)) => AnyValue::String(text),
            Some(proto::Value::Bool(flag)) => AnyValue::Bool(flag),
            Some(proto::Value::Int(number)) => AnyValue::Int(number),
            Some(proto::Value::Double(number)) => AnyValue::Double(number),
            Some(proto::Value::Bytes(bytes)) => AnyValue::Bytes(bytes),
            Some(proto::Value::Array(array)) => AnyValue::Array(array.values.into_iter().map(AnyValue::from).collect()),
            Some(proto::Value::Kvlist(list)) => AnyValue::Map(list.values.into_iter().map(key_value).collect()),
        }
    }
}

fn key_value(pair: proto::KeyValue) -> (String, AnyValue) {
    (pair.key, pair.value.map_or(AnyValue::Empty, AnyValue::from))
}

/// Parses an OTLP protobuf export into a batch; records without any time get `now`.
pub fn parse_protobuf(body: &[u8], now: i64) -> Result<LogBatch, PushError> {
    let request = <proto::ExportLogsServiceRequest as prost::Message>::decode(body)
        .map_err(|error| PushError::Malformed(format!("invalid OTLP logs protobuf: {error}")))?;
    let resources = request
        .resource_logs
        .into_iter()
        .map(|resource_logs| Resource {
            attributes: resource_logs.resource.map(|resource| resource.attributes).unwrap_or_default().into_iter().map(key_value).collect(),
            records: resource_logs
                .scope_logs
                .into_iter()
                .flat_map(|scope| scope.log_records)
                .map(|record| Record {
                    time_ms: nanos_to_millis(record.time_unix_nano),
                    observed_ms: nanos_to_millis(record.observed_time_unix_nano),
                    severity_text: record.severity_text,
                    body: record.body.map_or(AnyValue::Empty, AnyValue::from),
                    attributes: record.attributes.into_iter().map(key_value).collect(),
                })
                .collect(),
        })
        .collect();
    batch(resources, now, body.len())
}

/// The encoding a request declares, by its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Protobuf,
    Json,
}

impl Encoding {
    pub fn of(content_type: Option<&str>) -> Result<Encoding, PushError> {
        let essence = content_type.unwrap_or("application/json").split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        match essence.as_str() {
            "application/x-protobuf" | "application/protobuf" => Ok(Encoding::Protobuf),
            "application/json" | "" => Ok(Encoding::Json),
            other => Err(PushError::Unsupported(format!(
                "content type `{other}` is not OTLP/HTTP; send application/x-protobuf or application/json"
            ))),
        }
    }
}

/// Decodes an export body (already decompressed) in `encoding`.
pub fn decode(encoding: Encoding, body: &[u8], now: i64) -> Result<LogBatch, PushError> {
    match encoding {
        Encoding::Protobuf => parse_protobuf(body, now),
        Encoding::Json => parse_json(body, now),
    }
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;

    const JSON: &[u8] = br#"{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"thumbs"}}]},
      "scopeLogs":[{"logRecords":[
        {"timeUnixNano":"1700000000123000000","severityText":"ERROR","body":{"stringValue":"job failed"},
         "attributes":[{"key":"job.id","value":{"intValue":"42"}},{"key":"ratio","value":{"doubleValue":2}}]},
        {"observedTimeUnixNano":1700000001000000000,"body":{"kvlistValue":{"values":[
           {"key":"status","value":{"intValue":500}},{"key":"tags","value":{"arrayValue":{"values":[{"stringValue":"a"},{"boolValue":true}]}}},
           {"key":"raw","value":{"bytesValue":"aGk="}}]}}},
        {"body":{"stringValue":"no time"}},
        {"body":{"stringValue":"same labels"}}]}]}]}"#;

    fn string(text: &str) -> Option<proto::AnyValue> {
        Some(proto::AnyValue { value: Some(proto::Value::String(text.to_owned())) })
    }

    fn pair(key: &str, value: proto::Value) -> proto::KeyValue {
        proto::KeyValue { key: key.to_owned(), value: Some(proto::AnyValue { value: Some(value) }) }
    }

    /// The same export as [`JSON`], in protobuf.
    fn protobuf() -> Vec<u8> {
        let record = |time: u64, observed: u64, severity: &str, body: Option<proto::AnyValue>, attributes| proto::LogRecord {
            time_unix_nano: time,
            observed_time_unix_nano: observed,
            severity_text: severity.to_owned(),
            body,
            attributes,
        };
        let map = proto::Value::Kvlist(proto::KeyValueList {
            values: vec![
                pair("status", proto::Value::Int(500)),
                pair(
                    "tags",
                    proto::Value::Array(proto::ArrayValue {
                        values: vec![string("a").expect("value"), proto::AnyValue { value: Some(proto::Value::Bool(true)) }],
                    }),
                ),
                pair("raw", proto::Value::Bytes(b"hi".to_vec())),
            ],
        });
        let request = proto::ExportLogsServiceRequest {
            resource_logs: vec![proto::ResourceLogs {
                resource: Some(proto::Resource { attributes: vec![pair("service.name", proto::Value::String("thumbs".to_owned()))] }),
                scope_logs: vec![proto::ScopeLogs {
                    log_records: vec![
                        record(
                            1_700_000_000_123_000_000,
                            0,
                            "ERROR",
                            string("job failed"),
                            vec![pair("job.id", proto::Value::Int(42)), pair("ratio", proto::Value::Double(2.0))],
                        ),
                        record(0, 1_700_000_001_000_000_000, "", Some(proto::AnyValue { value: Some(map) }), vec![]),
                        record(0, 0, "", string("no time"), vec![]),
                        record(0, 0, "", string("same labels"), vec![]),
                    ],
                }],
            }],
        };
        request.encode_to_vec()
    }

    fn lines(batch: &LogBatch) -> Vec<(Labels, i64, String)> {
        batch.streams.iter().flat_map(|stream| stream.entries.iter().map(|(at, line)| (stream.labels.clone(), *at, line.clone()))).collect()
    }

    #[test]
    fn both_encodings_map_records_to_the_same_lines() {
        let from_json = parse_json(JSON, 5).expect("valid JSON");
        let from_protobuf = parse_protobuf(&protobuf(), 5).expect("valid protobuf");
        assert_eq!(lines(&from_json), lines(&from_protobuf));
        let lines = lines(&from_json);
        assert_eq!(lines.len(), 4);
        let (labels, at, line) = &lines[0];
        assert_eq!((*at, line.as_str()), (1_700_000_000_123, "job failed"));
        assert_eq!(labels["service_name"], "thumbs");
        assert_eq!(labels["job_id"], "42");
        assert_eq!(labels["ratio"], "2");
        assert_eq!(labels["level"], "ERROR");
        assert_eq!(lines[1].1, 1_700_000_001_000);
        assert_eq!(lines[1].2, r#"{"raw":"aGk=","status":500,"tags":["a",true]}"#);
        assert_eq!((lines[2].1, lines[2].2.as_str()), (5, "no time"));
        // Records with equal labels share one stream.
        assert_eq!(from_json.streams.len(), 2);
    }

    #[test]
    fn malformed_exports_say_why() {
        assert!(matches!(parse_json(b"not json", 0), Err(PushError::Malformed(_))));
        assert!(matches!(parse_json(br#"{"resourceLogs":5}"#, 0), Err(PushError::Malformed(_))));
        assert!(
            matches!(parse_json(br#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"intValue":"x"}}]}]}]}"#, 0), Err(PushError::Malformed(message)) if message.contains("invalid intValue"))
        );
        assert!(matches!(parse_protobuf(b"\xff\xff\xff", 0), Err(PushError::Malformed(_))));
        assert_eq!(Encoding::of(Some("application/x-protobuf")), Ok(Encoding::Protobuf));
        assert_eq!(Encoding::of(Some("application/json; charset=utf-8")), Ok(Encoding::Json));
        assert!(matches!(Encoding::of(Some("text/plain")), Err(PushError::Unsupported(_))));
    }

    /// Regression: 20,000 resource attributes × 600 records in an 885 KiB body took
    /// 1.2 GiB, every record holding its own copy of the resource's labels.
    #[test]
    fn labels_are_held_to_a_budget_proportional_to_the_body() {
        let attributes: Vec<String> = (0..20_000).map(|index| format!(r#"{{"key":"a{index}","value":{{"stringValue":"v"}}}}"#)).collect();
        let records: Vec<String> =
            (0..600).map(|index| format!(r#"{{"attributes":[{{"key":"r","value":{{"intValue":"{index}"}}}}]}}"#)).collect();
        let body = format!(
            r#"{{"resourceLogs":[{{"resource":{{"attributes":[{}]}},"scopeLogs":[{{"logRecords":[{}]}}]}}]}}"#,
            attributes.join(","),
            records.join(",")
        );
        match parse_json(body.as_bytes(), 0) {
            Err(PushError::Malformed(message)) => assert!(message.contains("20000 labels"), "{message}"),
            other => panic!("expected the label limit to refuse it, got {:?}", other.map(|batch| batch.lines())),
        }
        // Within the per-line limit, long values on distinct records meet the budget.
        let long = "v".repeat(4000);
        let attributes: Vec<String> = (0..200).map(|index| format!(r#"{{"key":"a{index}","value":{{"stringValue":"{long}"}}}}"#)).collect();
        let body = format!(
            r#"{{"resourceLogs":[{{"resource":{{"attributes":[{}]}},"scopeLogs":[{{"logRecords":[{}]}}]}}]}}"#,
            attributes.join(","),
            records.join(",")
        );
        match parse_json(body.as_bytes(), 0) {
            Err(PushError::Malformed(message)) => assert!(message.contains("bytes for a"), "{message}"),
            other => panic!("expected the label budget to refuse it, got {:?}", other.map(|batch| batch.lines())),
        }
        // The same resource with records that share labels is one stream, well within it.
        let shared: Vec<&str> = (0..600).map(|_| r#"{"body":{"stringValue":"x"}}"#).collect();
        let body = format!(
            r#"{{"resourceLogs":[{{"resource":{{"attributes":[{}]}},"scopeLogs":[{{"logRecords":[{}]}}]}}]}}"#,
            attributes.join(","),
            shared.join(",")
        );
        let batch = parse_json(body.as_bytes(), 0).expect("one stream");
        assert_eq!((batch.streams.len(), batch.lines()), (1, 600));
    }
}
