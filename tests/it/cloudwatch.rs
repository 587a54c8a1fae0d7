//! The CloudWatch alarm gate at the SDK boundary. moto cannot answer the
//! CBOR protocol (Smithy RPC v2) the current aws-sdk-cloudwatch speaks, so
//! these tests give the real SDK client, over real HTTP, canned
//! DescribeAlarms answers in that protocol from a server of their own, and
//! check what cutover makes of them and what it asked. (No SDK test
//! features: the tests build the SDK exactly as `cargo run` does.)

use aws_sdk_cloudwatch::config::{BehaviorVersion, Credentials, Region};
use cutover::model::observed::AlarmState;
use cutover::provider::aws::alarm_state;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A CloudWatch endpoint that answers each request with the next of
/// `answers` (CBOR maps, written as JSON) and keeps the requests it got.
struct CloudWatch {
    client: aws_sdk_cloudwatch::Client,
    requests: Arc<Mutex<Vec<ciborium::Value>>>,
}

impl CloudWatch {
    fn answering(answers: Vec<serde_json::Value>) -> CloudWatch {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        std::thread::spawn(move || {
            let mut answers = answers.into_iter();
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                // One connection may carry several requests (keep-alive).
                let mut reader = BufReader::new(stream);
                while let Some(body) = read_request(&mut reader) {
                    let request = ciborium::from_reader(body.as_slice()).unwrap();
                    seen.lock().unwrap().push(request);
                    let mut cbor = Vec::new();
                    let answer = answers.next().unwrap_or(serde_json::json!({}));
                    ciborium::into_writer(&answer, &mut cbor).unwrap();
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nsmithy-protocol: rpc-v2-cbor\r\ncontent-type: application/cbor\r\ncontent-length: {}\r\n\r\n",
                        cbor.len()
                    );
                    let out = reader.get_mut();
                    out.write_all(head.as_bytes()).unwrap();
                    out.write_all(&cbor).unwrap();
                }
            }
        });
        let config = aws_sdk_cloudwatch::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "test"))
            .endpoint_url(endpoint)
            .build();
        CloudWatch {
            client: aws_sdk_cloudwatch::Client::from_conf(config),
            requests,
        }
    }

    /// The alarm names each request asked for.
    fn asked(&self) -> Vec<Vec<String>> {
        let names = |v: &ciborium::Value| -> Vec<String> {
            let map = v.as_map().cloned().unwrap_or_default();
            map.iter()
                .find(|(k, _)| k.as_text() == Some("AlarmNames"))
                .and_then(|(_, v)| v.as_array().cloned())
                .unwrap_or_default()
                .iter()
                .filter_map(|n| n.as_text().map(str::to_string))
                .collect()
        };
        self.requests.lock().unwrap().iter().map(names).collect()
    }
}

/// The body of the next HTTP request on `reader`; `None` at its end.
fn read_request(reader: &mut BufReader<std::net::TcpStream>) -> Option<Vec<u8>> {
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
    Some(body)
}

#[test]
fn an_alarm_in_alarm_state_is_reported_so_the_gate_fails() {
    let cw = CloudWatch::answering(vec![serde_json::json!({
        "MetricAlarms": [{"AlarmName": "shop-5xx", "StateValue": "ALARM"}]
    })]);
    assert_eq!(
        rt().block_on(alarm_state(&cw.client, "shop-5xx")).unwrap(),
        AlarmState::Alarm
    );
    assert_eq!(cw.asked(), [["shop-5xx"]]);
}

#[test]
fn ok_and_composite_alarms_are_read_too() {
    let cw = CloudWatch::answering(vec![
        serde_json::json!({"MetricAlarms": [{"AlarmName": "a", "StateValue": "OK"}]}),
        serde_json::json!({
            "CompositeAlarms": [{"AlarmName": "b", "StateValue": "INSUFFICIENT_DATA"}]
        }),
    ]);
    let rt = rt();
    assert_eq!(
        rt.block_on(alarm_state(&cw.client, "a")).unwrap(),
        AlarmState::Ok
    );
    assert_eq!(
        rt.block_on(alarm_state(&cw.client, "b")).unwrap(),
        AlarmState::InsufficientData
    );
}

#[test]
fn a_missing_alarm_is_an_error_not_a_pass() {
    let cw = CloudWatch::answering(vec![serde_json::json!({})]);
    let err = rt()
        .block_on(alarm_state(&cw.client, "shop-typo"))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("CloudWatch alarm shop-typo does not exist"),
        "{err}"
    );
}
