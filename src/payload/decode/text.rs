//! Text records: one JSON document, `key=value` pairs, or a CSV line per frame.

use super::{DecodeError, Decoded, Field, Summary, Value};

/// Leading and trailing spaces and line endings are not part of a text record.
fn trimmed(frame: &[u8]) -> &str {
    // Not UTF-8: what is valid up to the first bad byte (the rest fails to parse and says so).
    let text = match std::str::from_utf8(frame) {
        Ok(t) => t,
        Err(e) => std::str::from_utf8(&frame[..e.valid_up_to()]).unwrap_or_default(),
    };
    text.trim()
}

/// A value typed as text: a number when it reads as one.
fn typed(text: &str) -> Value {
    if let Ok(i) = text.parse::<i64>() {
        Value::Int(i)
    } else if let Ok(x) = text.parse::<f64>() {
        if x.is_finite() {
            Value::Num(x)
        } else {
            Value::Text(text.to_string())
        }
    } else {
        Value::Text(text.to_string())
    }
}

fn record(fields: Vec<Field>) -> Decoded {
    Decoded {
        summary: Summary::Record,
        fields,
    }
}

/// One JSON document; nested values flattened as `a.b.c` (array items as `a.0`).
pub(super) fn json(frame: &[u8]) -> Result<Decoded, DecodeError> {
    let value: serde_json::Value =
        serde_json::from_str(trimmed(frame)).map_err(|e| DecodeError::Json(e.to_string()))?;
    let mut fields = Vec::new();
    flatten(String::new(), &value, &mut fields, 0);
    Ok(record(fields))
}

/// Nesting deeper than this is kept as JSON text (a hostile document cannot recurse forever:
/// serde_json already stops at 128 levels).
const MAX_DEPTH: usize = 32;

fn flatten(name: String, value: &serde_json::Value, out: &mut Vec<Field>, depth: usize) {
    use serde_json::Value as J;
    let join = |key: &str| {
        if name.is_empty() {
            key.to_string()
        } else {
            format!("{name}.{key}")
        }
    };
    match value {
        J::Object(map) if depth < MAX_DEPTH => {
            for (k, v) in map {
                flatten(join(k), v, out, depth + 1);
            }
        }
        J::Array(items) if depth < MAX_DEPTH => {
            for (i, v) in items.iter().enumerate() {
                flatten(join(&i.to_string()), v, out, depth + 1);
            }
        }
        J::Null => {}
        J::Bool(b) => out.push(Field::new(name, Value::Bool(*b), 0, 0)),
        J::Number(n) => {
            let v = match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Num(n.as_f64().unwrap_or(f64::NAN)),
            };
            out.push(Field::new(name, v, 0, 0));
        }
        J::String(s) => out.push(Field::new(name, Value::Text(s.clone()), 0, 0)),
        other => out.push(Field::new(name, Value::Text(other.to_string()), 0, 0)),
    }
}

/// `temp=25.1 hum=60` (also `temp:25.1`, separated by spaces, commas or semicolons).
pub(super) fn kv(frame: &[u8]) -> Result<Decoded, DecodeError> {
    let fields: Vec<Field> = trimmed(frame)
        .split(|c: char| c.is_whitespace() || c == ',' || c == ';')
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=').or_else(|| pair.split_once(':'))?;
            let k = k.trim();
            (!k.is_empty()).then(|| Field::new(k, typed(v.trim()), 0, 0))
        })
        .collect();
    if fields.is_empty() {
        return Err(DecodeError::NoPairs);
    }
    Ok(record(fields))
}

/// A CSV line. A first line with no number in it is the header (its cells name the columns);
/// without one the columns are `col1`, `col2`, ….
pub(super) fn csv(header: &mut Option<Vec<String>>, frame: &[u8]) -> Result<Decoded, DecodeError> {
    let cells: Vec<&str> = trimmed(frame).split(',').map(str::trim).collect();
    let all_words = cells
        .iter()
        .all(|c| !c.is_empty() && matches!(typed(c), Value::Text(_)));
    if header.is_none() && all_words {
        *header = Some(cells.iter().map(|c| c.to_string()).collect());
        return Ok(record(
            cells
                .iter()
                .enumerate()
                .map(|(i, c)| Field::new(format!("col{}", i + 1), Value::Text(c.to_string()), 0, 0))
                .collect(),
        ));
    }
    let fields = cells
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let name = header
                .as_ref()
                .and_then(|h| h.get(i).cloned())
                .unwrap_or_else(|| format!("col{}", i + 1));
            Field::new(name, typed(c), 0, 0)
        })
        .collect();
    Ok(record(fields))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_flattened_with_numbers_as_numbers() {
        let d = json(br#"{"a":{"b":{"c":1.5}},"ok":true,"list":[3,4],"name":"x"}"#).unwrap();
        assert_eq!(d.get("a.b.c"), Some(&Value::Num(1.5)));
        assert_eq!(d.get("list.1"), Some(&Value::Int(4)));
        assert_eq!(d.get("ok"), Some(&Value::Bool(true)));
        assert_eq!(d.get("name"), Some(&Value::Text("x".into())));
        assert!(matches!(json(b"{oops"), Err(DecodeError::Json(_))));
        // Deep nesting is refused by the parser or kept as text, never a stack overflow.
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let _ = json(deep.as_bytes());
    }

    #[test]
    fn key_values_and_csv_lines() {
        let d = kv(b"temp=25.1 hum=60;state:ok\r\n").unwrap();
        assert_eq!(d.get("temp"), Some(&Value::Num(25.1)));
        assert_eq!(d.get("hum"), Some(&Value::Int(60)));
        assert_eq!(d.get("state"), Some(&Value::Text("ok".into())));
        assert_eq!(d.record_text(), "temp=25.1 hum=60 state=ok");
        assert_eq!(kv(b"hello"), Err(DecodeError::NoPairs));
        let mut header = None;
        csv(&mut header, b"time,temp,hum\n").unwrap();
        let d = csv(&mut header, b"12,25.5,61\n").unwrap();
        assert_eq!(d.get("temp"), Some(&Value::Num(25.5)));
        let mut none = None;
        let d = csv(&mut none, b"1,2\n").unwrap();
        assert_eq!(d.get("col2"), Some(&Value::Int(2)));
    }
}
