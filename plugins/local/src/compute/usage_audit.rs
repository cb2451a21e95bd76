//! os-instance-usage-audit-log: the monthly usage audit of the compute host, as Nova's
//! `_instance_usage_audit` task would have logged it. A period that ended while this cloud
//! existed (after its first flavor was written) was audited, over the servers active in it;
//! later or earlier periods were not run.

use std::sync::Arc;

use jumpgate_plugin_api::prelude::*;
use serde_json::{json, Value};
use time::{Date, Month, PrimitiveDateTime, Time};

use super::{param, reply, Call, Compute};
use crate::store::Tx;

type Svc = Arc<Compute>;

/// Nova's `utils.last_completed_audit_period(unit='month')`: the month that ended last
/// strictly before `before`, as `(begin, end)`.
pub fn last_month(before: PrimitiveDateTime) -> (PrimitiveDateTime, PrimitiveDateTime) {
    let first = |y: i32, m: Month| {
        PrimitiveDateTime::new(
            Date::from_calendar_date(y, m, 1).expect("the first of a month"),
            Time::MIDNIGHT,
        )
    };
    let prev = |d: PrimitiveDateTime| {
        let m = d.month().previous();
        let y = if m == Month::December {
            d.year() - 1
        } else {
            d.year()
        };
        first(y, m)
    };
    let mut end = first(before.year(), before.month());
    if end >= before {
        end = prev(end);
    }
    (prev(end), end)
}

/// `%Y-%m-%d %H:%M:%S[.%f]`, as Nova's `strptime` reads the path (URL-decoded).
pub fn parse_before(raw: &str) -> Option<PrimitiveDateTime> {
    let text = percent_decode(raw);
    let (date, clock) = text.split_once(' ')?;
    let num = |s: &str, max: usize| -> Option<u32> {
        if s.is_empty() || s.len() > max || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    let mut d = date.split('-');
    let (y, mo, da) = (d.next()?, d.next()?, d.next()?);
    if d.next().is_some() {
        return None;
    }
    let (clock, micros) = match clock.split_once('.') {
        Some((c, f)) => (c, Some(num(f, 6)?)),
        None => (clock, None),
    };
    let mut t = clock.split(':');
    let (h, mi, s) = (t.next()?, t.next()?, t.next()?);
    if t.next().is_some() {
        return None;
    }
    let date = Date::from_calendar_date(
        num(y, 4)? as i32,
        Month::try_from(num(mo, 2)? as u8).ok()?,
        num(da, 2)? as u8,
    )
    .ok()?;
    let time = Time::from_hms_micro(
        num(h, 2)? as u8,
        num(mi, 2)? as u8,
        num(s, 2)? as u8,
        micros.unwrap_or(0),
    )
    .ok()?;
    Some(PrimitiveDateTime::new(date, time))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn ms(t: PrimitiveDateTime) -> i64 {
    (t.assume_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// Python's `str(datetime)`.
fn py_str(t: PrimitiveDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// The audit summary of the period before `before`.
fn summary(c: &dyn Tx, host: &str, before: PrimitiveDateTime, now_ms: i64) -> super::Result<Value> {
    let (begin, end) = last_month(before);
    let (b, e) = (ms(begin), ms(end));
    let ran = e <= now_ms && c.cloud_born_ms()?.is_some_and(|born| born <= e);
    let mut log = serde_json::Map::new();
    let mut total = 0;
    if ran {
        total = c.count_servers_run_between(b, e)?;
        log.insert(
            host.to_string(),
            json!({
                "state": "DONE",
                "instances": total,
                "errors": 0,
                "message": format!(
                    "Instance usage audit ran for host {host}, {total} instances in {:.6} seconds.",
                    0.01 + total as f64 * 0.0004
                ),
            }),
        );
    }
    let done = usize::from(ran);
    Ok(json!({
        "hosts_not_run": if ran { json!([]) } else { json!([host]) },
        "log": log,
        "num_hosts": 1,
        "num_hosts_done": done,
        "num_hosts_not_run": 1 - done,
        "num_hosts_running": 0,
        "overall_status": if ran {
            "ALL hosts done. 0 errors.".to_string()
        } else {
            "0 of 1 hosts done. 0 errors.".to_string()
        },
        "period_beginning": py_str(begin),
        "period_ending": py_str(end),
        "total_errors": 0,
        "total_instances": total,
    }))
}

fn now() -> PrimitiveDateTime {
    let t = time::OffsetDateTime::now_utc();
    PrimitiveDateTime::new(t.date(), t.time())
}

endpoint!(Svc; List { on_get => list });
endpoint!(Svc; Before { on_get => show });

pub fn setup(disp: &Dispatcher, svc: Svc) -> Result<(), Error> {
    routes! {
        disp, svc;
        "v2_os_instance_usage_audit_log" => List,
        "v2_os_instance_usage_audit_log_before" => Before,
    }
    Ok(())
}

fn list(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let log = svc.read(|c| summary(c, &svc.host, now(), crate::time::now_ms()))?;
    reply(
        resp,
        &call,
        200,
        &json!({ "instance_usage_audit_logs": log }),
    )
}

fn show(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let raw = param(req, "before_timestamp")?.to_string();
    let Some(before) = parse_before(&raw) else {
        return Err(Fault::bad_request(format!(
            "Invalid timestamp for date {raw}"
        )));
    };
    let log = svc.read(|c| summary(c, &svc.host, before, crate::time::now_ms()))?;
    reply(
        resp,
        &call,
        200,
        &json!({ "instance_usage_audit_log": log }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compute::flavors::Flavor;
    use crate::store::sql::fixtures::TestServer;
    use crate::store::Store;

    #[test]
    fn periods_and_timestamps() {
        let t = parse_before("2012-06-15%2010:00:00").unwrap();
        let (b, e) = last_month(t);
        assert_eq!(py_str(b), "2012-05-01 00:00:00");
        assert_eq!(py_str(e), "2012-06-01 00:00:00");
        let (b, e) = last_month(parse_before("2013-01-01 00:00:00").unwrap());
        assert_eq!(py_str(b), "2012-11-01 00:00:00");
        assert_eq!(py_str(e), "2012-12-01 00:00:00");
        assert!(parse_before("2012-06-15 10:00:00.123").is_some());
        assert!(parse_before("invalid_time").is_none());
        assert!(parse_before("2012-13-01 00:00:00").is_none());
    }

    #[test]
    fn counts_servers_of_an_audited_period() {
        let store = Store::memory();
        let v = store
            .write(|c| {
                let f: Flavor = serde_json::from_value(
                    json!({"id": "f", "name": "f", "vcpus": 1, "ram": 64, "disk": 1}),
                )
                .unwrap();
                c.insert_flavor(&f, 0)?;
                let s = TestServer {
                    id: "a",
                    launched_ms: Some(1000),
                    ..TestServer::default()
                };
                c.test_server(&s);
                summary(
                    c,
                    "h",
                    parse_before("1970-03-02 00:00:00").unwrap(),
                    1 << 40,
                )
            })
            .unwrap();
        assert_eq!(v["total_instances"], 1);
        assert_eq!(v["log"]["h"]["state"], "DONE");
        assert_eq!(v["period_beginning"], "1970-02-01 00:00:00");
    }
}
