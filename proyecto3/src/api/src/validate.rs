//! Strict validation of the `POST /tweets` body (REST contract in DESIGN.md).
//!
//! Rules beyond the contract's text, decided here and documented in docs/api.md:
//! - numbers must be JSON integers: `25` is accepted, `25.0`, `2.5e1` and `"25"` are rejected;
//! - unknown extra fields are rejected (naming the field), and so are duplicate keys;
//! - names are case-sensitive lower-case (`Mixco` is rejected).
use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

/// Largest accepted body, in bytes.
pub const MAX_BODY_BYTES: usize = 4096;
pub const TEMPERATURE_RANGE: (i64, i64) = (-50, 60);
pub const HUMIDITY_RANGE: (i64, i64) = (0, 100);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Municipality {
    Mixco = 1,
    Guatemala = 2,
    Amatitlan = 3,
    Chinautla = 4,
}

impl Municipality {
    pub const ALL: [Municipality; 4] = [Self::Mixco, Self::Guatemala, Self::Amatitlan, Self::Chinautla];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mixco => "mixco",
            Self::Guatemala => "guatemala",
            Self::Amatitlan => "amatitlan",
            Self::Chinautla => "chinautla",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Weather {
    Sunny = 1,
    Cloudy = 2,
    Rainy = 3,
    Foggy = 4,
}

impl Weather {
    pub const ALL: [Weather; 4] = [Self::Sunny, Self::Cloudy, Self::Rainy, Self::Foggy];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sunny => "sunny",
            Self::Cloudy => "cloudy",
            Self::Rainy => "rainy",
            Self::Foggy => "foggy",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|w| w.as_str() == s)
    }
}

/// A validated tweet: every value is inside the contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tweet {
    pub municipality: Municipality,
    pub temperature: i32,
    pub humidity: i32,
    pub weather: Weather,
}

impl Tweet {
    /// The canonical JSON sent to the gateway (same shape as the request body).
    pub fn to_json(&self) -> Vec<u8> {
        format!(
            r#"{{"municipality":"{}","temperature":{},"humidity":{},"weather":"{}"}}"#,
            self.municipality.as_str(),
            self.temperature,
            self.humidity,
            self.weather.as_str()
        )
        .into_bytes()
    }
}

/// One problem with one field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// Why a body was rejected (always a 400).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Invalid {
    /// Not JSON at all (syntax error, truncated, trailing data, empty body).
    Malformed(String),
    /// JSON, but not an object.
    NotAnObject(String),
    /// An object with field problems, in a stable order: the four contract fields in order,
    /// then unknown/duplicate keys in document order.
    Fields(Vec<FieldError>),
}

impl Invalid {
    /// The JSON error body: `{"error":..,"field":..,"message":..,"errors":[..]}`.
    pub fn to_json(&self) -> Value {
        match self {
            Invalid::Malformed(m) => serde_json::json!({"error": "malformed json", "message": m}),
            Invalid::NotAnObject(m) => serde_json::json!({"error": "invalid body", "message": m}),
            Invalid::Fields(errs) => {
                let first = &errs[0];
                let all: Vec<Value> =
                    errs.iter().map(|e| serde_json::json!({"field": e.field, "message": e.message})).collect();
                serde_json::json!({
                    "error": "invalid field",
                    "field": first.field,
                    "message": first.message,
                    "errors": all,
                })
            }
        }
    }
}

const FIELDS: [&str; 4] = ["municipality", "temperature", "humidity", "weather"];

/// Parses and validates a body. Never panics, whatever the bytes.
pub fn parse_tweet(body: &[u8]) -> Result<Tweet, Invalid> {
    let raw: Raw = match serde_json::from_slice(body) {
        Ok(r) => r,
        Err(e) => {
            return Err(match e.classify() {
                serde_json::error::Category::Data => Invalid::NotAnObject(format!("expected a JSON object: {e}")),
                _ => Invalid::Malformed(e.to_string()),
            })
        }
    };
    raw.validate()
}

#[derive(Default)]
struct Raw {
    values: [Option<Value>; 4],
    extra: Vec<FieldError>,
}

impl Raw {
    fn validate(self) -> Result<Tweet, Invalid> {
        let [m, t, h, w] = self.values;
        let mut errs = Vec::new();
        let municipality =
            name_field(&mut errs, "municipality", m, Municipality::parse, "mixco, guatemala, amatitlan, chinautla");
        let temperature = int_field(&mut errs, "temperature", t, TEMPERATURE_RANGE);
        let humidity = int_field(&mut errs, "humidity", h, HUMIDITY_RANGE);
        let weather = name_field(&mut errs, "weather", w, Weather::parse, "sunny, cloudy, rainy, foggy");
        errs.extend(self.extra);
        match (municipality, temperature, humidity, weather) {
            (Some(municipality), Some(temperature), Some(humidity), Some(weather)) if errs.is_empty() => {
                Ok(Tweet { municipality, temperature, humidity, weather })
            }
            _ => Err(Invalid::Fields(errs)),
        }
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn name_field<T>(
    errs: &mut Vec<FieldError>,
    field: &str,
    v: Option<Value>,
    parse: fn(&str) -> Option<T>,
    allowed: &str,
) -> Option<T> {
    let msg = match &v {
        None => "is required".to_string(),
        Some(Value::String(s)) => match parse(s) {
            Some(x) => return Some(x),
            None => format!("must be one of {allowed}"),
        },
        Some(other) => format!("must be a string (one of {allowed}), got {}", type_name(other)),
    };
    errs.push(FieldError { field: field.to_string(), message: msg });
    None
}

fn int_field(errs: &mut Vec<FieldError>, field: &str, v: Option<Value>, (lo, hi): (i64, i64)) -> Option<i32> {
    let msg = match &v {
        None => "is required".to_string(),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(x) if (lo..=hi).contains(&x) => return i32::try_from(x).ok(),
            Some(x) => format!("must be between {lo} and {hi}, got {x}"),
            None if n.is_u64() => format!("must be between {lo} and {hi}, got {n}"),
            None => format!("must be an integer between {lo} and {hi}, got {n}"),
        },
        Some(other) => format!("must be an integer between {lo} and {hi}, got {}", type_name(other)),
    };
    errs.push(FieldError { field: field.to_string(), message: msg });
    None
}

fn shorten(s: &str) -> String {
    const MAX: usize = 64;
    if s.len() <= MAX {
        return s.to_string();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

impl<'de> de::Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(RawVisitor)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = Raw;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object with municipality, temperature, humidity and weather")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw, A::Error> {
        let mut raw = Raw::default();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match FIELDS.iter().position(|f| *f == key) {
                Some(i) if raw.values[i].is_none() => raw.values[i] = Some(map.next_value::<Value>()?),
                Some(_) => {
                    map.next_value::<IgnoredAny>()?;
                    raw.extra.push(FieldError { field: key.into_owned(), message: "duplicate field".into() });
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                    raw.extra.push(FieldError { field: shorten(&key), message: "unknown field".into() });
                }
            }
        }
        Ok(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_round_trips() {
        let t =
            Tweet { municipality: Municipality::Chinautla, temperature: -5, humidity: 100, weather: Weather::Foggy };
        assert_eq!(parse_tweet(&t.to_json()), Ok(t));
    }

    #[test]
    fn long_unknown_key_is_shortened() {
        let key = "é".repeat(100);
        let body = format!(r#"{{"municipality":"mixco","temperature":1,"humidity":1,"weather":"sunny","{key}":1}}"#);
        match parse_tweet(body.as_bytes()) {
            Err(Invalid::Fields(e)) => assert!(e[0].field.len() <= 70, "{}", e[0].field),
            other => panic!("{other:?}"),
        }
    }
}
