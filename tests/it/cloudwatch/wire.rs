//! CloudWatch's wire, for the tests' CloudWatch endpoints: Smithy RPC v2
//! CBOR over HTTP/1.1, the protocol the current aws-sdk-cloudwatch speaks
//! and moto does not (getmoto/moto #9195).
//!
//! As Smithy RPC v2 CBOR has it: each request is a POST to
//! `/service/{service}/operation/{operation}` with a CBOR body; timestamps
//! are CBOR tag 1 (epoch seconds); an error is a non-2xx answer whose CBOR
//! map holds `__type` (the error's shape id, "namespace#Name") and a
//! message. CloudWatch is also awsQueryCompatible: its error answers carry
//! `x-amzn-query-error: Code;Sender`, whose code the SDK reports.

use ciborium::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;

/// One answer: a success or an error, in CBOR.
pub enum Answer {
    Ok(Value),
    Error {
        status: u16,
        /// Extra headers, e.g. CloudWatch's `x-amzn-query-error`.
        headers: Vec<(&'static str, String)>,
        body: Value,
    },
}

impl Answer {
    /// A success written as JSON (no timestamps: JSON cannot carry tags).
    pub fn json(v: serde_json::Value) -> Answer {
        Answer::Ok(Value::serialized(&v).unwrap())
    }

    /// A 400 whose body's `__type` is `shape` ("namespace#Name": the SDK
    /// keeps what follows the `#`).
    pub fn error(shape: &str, message: &str) -> Answer {
        Answer::Error {
            status: 400,
            headers: vec![],
            body: map(vec![("__type", text(shape)), ("message", text(message))]),
        }
    }

    /// CloudWatch throttling the call, as rpc-v2-cbor carries it.
    pub fn throttled() -> Answer {
        Answer::error(
            "com.amazon.coral.availability#ThrottlingException",
            "Rate exceeded",
        )
    }

    /// The same error with one more header.
    pub fn with_header(mut self, name: &'static str, value: &str) -> Answer {
        if let Answer::Error { headers, .. } = &mut self {
            headers.push((name, value.to_string()));
        }
        self
    }

    fn head(&self, length: usize) -> String {
        let (status, extra) = match self {
            Answer::Ok(_) => ("200 OK".to_string(), String::new()),
            Answer::Error {
                status, headers, ..
            } => (
                format!("{status} Error"),
                headers
                    .iter()
                    .map(|(k, v)| format!("{k}: {v}\r\n"))
                    .collect(),
            ),
        };
        format!(
            "HTTP/1.1 {status}\r\nsmithy-protocol: rpc-v2-cbor\r\ncontent-type: application/cbor\r\n{extra}content-length: {length}\r\n\r\n"
        )
    }

    fn body(&self) -> &Value {
        match self {
            Answer::Ok(body) | Answer::Error { body, .. } => body,
        }
    }
}

/// Serves CloudWatch on a free local port, answering each request with
/// `answer(operation, request body)`; returns the endpoint's URL. Each
/// connection has a thread of its own (the SDK may open several, and
/// keeps them alive), for as long as the test process runs.
pub fn serve(answer: impl Fn(&str, Value) -> Answer + Send + Sync + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let answer = Arc::new(answer);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let answer = answer.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream);
                while let Some((operation, body)) = read_request(&mut reader) {
                    let request = ciborium::from_reader(body.as_slice()).unwrap();
                    let answer = answer(&operation, request);
                    let mut cbor = Vec::new();
                    ciborium::into_writer(answer.body(), &mut cbor).unwrap();
                    let out = reader.get_mut();
                    if out.write_all(answer.head(cbor.len()).as_bytes()).is_err()
                        || out.write_all(&cbor).is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    endpoint
}

/// The operation and body of the next HTTP request on `reader`; `None` at
/// its end. The SDK posts to `/service/{service}/operation/{operation}`.
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<(String, Vec<u8>)> {
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).ok()? == 0 {
        return None;
    }
    let path = request_line.split_whitespace().nth(1)?;
    let operation = path.rsplit_once("/operation/")?.1.to_string();
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().ok()?;
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some((operation, body))
}

pub fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

pub fn map(pairs: Vec<(&str, Value)>) -> Value {
    Value::Map(pairs.into_iter().map(|(k, v)| (text(k), v)).collect())
}

/// A timestamp as rpc-v2-cbor writes it: tag 1, epoch seconds.
pub fn timestamp(secs: i64) -> Value {
    Value::Tag(1, Box::new(Value::Float(secs as f64)))
}

/// The member `name` of a CBOR map.
pub fn field<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    v.as_map()?
        .iter()
        .find(|(k, _)| k.as_text() == Some(name))
        .map(|(_, v)| v)
}

/// The epoch seconds of a tag-1 timestamp (int or float).
pub fn seconds(v: &Value) -> Option<f64> {
    match v {
        Value::Tag(1, inner) => match inner.as_ref() {
            Value::Float(f) => Some(*f),
            Value::Integer(i) => Some(i128::from(*i) as f64),
            _ => None,
        },
        _ => None,
    }
}
