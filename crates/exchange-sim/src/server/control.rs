//! JSON control requests on a stream connection (`SUBSCRIBE`, `UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`,
//! `SET_PROPERTY`, `GET_PROPERTY`) and Binance's replies (`{"result":null,"id":1}`, or
//! `{"error":{"code":2,"msg":"..."},"id":1}`).

use serde_json::{Value, json};

use crate::streams::{Subscriptions, parse_stream};

/// `{"error":{"code":..,"msg":..},"id":..}` in Binance's key order.
fn error(code: i64, msg: String, id: &Value) -> String {
    let err = json!({"code": code, "msg": msg});
    format!(r#"{{"error":{err},"id":{id}}}"#)
}

/// `{"result":..,"id":..}` in Binance's key order.
fn ok(result: Value, id: &Value) -> String {
    format!(r#"{{"result":{result},"id":{id}}}"#)
}

/// Handles one text frame; returns the reply and updates `subs` (and `combined`).
pub fn handle(text: &str, symbol: &str, subs: &mut Subscriptions, combined: &mut bool) -> String {
    let req: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return error(3, format!("Invalid JSON: {e}"), &Value::Null),
    };
    let id = req.get("id").cloned().unwrap_or(Value::Null);
    let id_ok = match &id {
        Value::Null => true,
        Value::Number(n) => n.is_u64(),
        Value::String(s) => s.len() <= 36 && s.chars().all(|c| c.is_ascii_alphanumeric()),
        _ => false,
    };
    if !id_ok {
        return error(
            2,
            "Invalid request: request ID must be an unsigned integer".into(),
            &Value::Null,
        );
    }
    let Some(method) = req.get("method").and_then(Value::as_str) else {
        return error(2, "Invalid request: missing field `method`".into(), &id);
    };
    let params: Vec<Value> = match req.get("params") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        Some(_) => return error(2, "Invalid request: params must be an array".into(), &id),
    };
    match method {
        "SUBSCRIBE" | "UNSUBSCRIBE" => {
            let mut kinds = Vec::with_capacity(params.len());
            for p in &params {
                let name = p.as_str().unwrap_or_default();
                match parse_stream(name, symbol) {
                    Some(k) => kinds.push(k),
                    None => {
                        return error(2, format!("Invalid request: unknown stream `{p}`"), &id);
                    }
                }
            }
            for k in kinds {
                if method == "SUBSCRIBE" {
                    subs.add(k);
                } else {
                    subs.remove(k);
                }
            }
            ok(Value::Null, &id)
        }
        "LIST_SUBSCRIPTIONS" => ok(json!(subs.names(symbol)), &id),
        "SET_PROPERTY" => match (params.first().and_then(Value::as_str), params.get(1)) {
            (Some("combined"), Some(Value::Bool(b))) => {
                *combined = *b;
                ok(Value::Null, &id)
            }
            (Some("combined"), _) => error(1, "Invalid value type: expected Boolean".into(), &id),
            _ => error(0, "Unknown property".into(), &id),
        },
        "GET_PROPERTY" => match params.first().and_then(Value::as_str) {
            Some("combined") => ok(json!(*combined), &id),
            _ => error(0, "Unknown property".into(), &id),
        },
        other => error(
            2,
            format!(
                "Invalid request: unknown variant `{other}`, expected one of `SUBSCRIBE`, \
                 `UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`, `SET_PROPERTY`, `GET_PROPERTY`"
            ),
            &id,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::streams::StreamKind;

    fn run(reqs: &[&str]) -> (Vec<String>, Subscriptions, bool) {
        let mut subs = Subscriptions::default();
        let mut combined = false;
        let replies = reqs
            .iter()
            .map(|r| handle(r, "btcusdt", &mut subs, &mut combined))
            .collect();
        (replies, subs, combined)
    }

    #[test]
    fn subscribe_list_and_unsubscribe_answer_like_binance() {
        let (replies, subs, _) = run(&[
            r#"{"method":"SUBSCRIBE","params":["btcusdt@depth","btcusdt@trade"],"id":1}"#,
            r#"{"method":"LIST_SUBSCRIPTIONS","id":3}"#,
            r#"{"method":"UNSUBSCRIBE","params":["btcusdt@depth"],"id":312}"#,
            r#"{"method":"LIST_SUBSCRIPTIONS","id":"abc"}"#,
        ]);
        assert_eq!(
            replies,
            [
                r#"{"result":null,"id":1}"#,
                r#"{"result":["btcusdt@depth","btcusdt@trade"],"id":3}"#,
                r#"{"result":null,"id":312}"#,
                r#"{"result":["btcusdt@trade"],"id":"abc"}"#,
            ]
        );
        assert!(subs.contains(StreamKind::Trade) && !subs.contains(StreamKind::Depth));
    }

    #[test]
    fn bad_requests_get_error_objects_and_change_nothing() {
        let (replies, subs, _) = run(&[
            "not json",
            r#"{"method":"SUBSCRIBE","params":["btcusdt@trade","btcusdt@kline_1m"],"id":1}"#,
            r#"{"method":"PUBLISH","id":2}"#,
            r#"{"method":"SUBSCRIBE","params":[],"id":-1}"#,
        ]);
        let codes: Vec<i64> = replies
            .iter()
            .map(|r| {
                serde_json::from_str::<Value>(r).unwrap()["error"]["code"]
                    .as_i64()
                    .unwrap()
            })
            .collect();
        assert_eq!(codes, [3, 2, 2, 2]);
        assert!(subs.is_empty(), "a partly invalid SUBSCRIBE subscribes nothing");
    }

    #[test]
    fn combined_property_round_trips() {
        let (replies, _, combined) = run(&[
            r#"{"method":"SET_PROPERTY","params":["combined",true],"id":5}"#,
            r#"{"method":"GET_PROPERTY","params":["combined"],"id":2}"#,
        ]);
        assert!(combined);
        assert_eq!(replies[1], r#"{"result":true,"id":2}"#);
    }
}
