//! Time, sleep and the environment: `timer:sleep/1`,
//! `erlang:monotonic_time/0,1`, `erlang:system_time/0,1`,
//! `erlang:timestamp/0`, `erlang:convert_time_unit/3`, `os:timestamp/0`,
//! `os:system_time/0,1`, `os:getenv/0,1,2`, `os:putenv/2`,
//! `os:unsetenv/1` and `os:type/0`, as OTP 25 gives them on Linux (the
//! native time unit is the nanosecond; a bad unit is `badarg`).
//!
//! The environment is the host's (`erl_drv_getenv`/`erl_drv_putenv` see
//! the same one, as drivers and `os:getenv` share ERTS's).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::bifs::list_items;
use super::{Exception, Runtime};
use crate::term::Term;

type R = Result<Term, Exception>;

fn badarg() -> Exception {
    Exception::badarg()
}

/// Parts per second of a time unit (`native` is nanoseconds).
fn unit(t: &Term) -> Option<i128> {
    match t {
        Term::Int(n) if *n > 0 => Some(*n as i128),
        Term::Atom(a) => Some(match a.name() {
            "second" | "seconds" => 1,
            "millisecond" | "milli_seconds" => 1_000,
            "microsecond" | "micro_seconds" => 1_000_000,
            "nanosecond" | "nano_seconds" | "native" | "perf_counter" => 1_000_000_000,
            _ => return None,
        }),
        _ => None,
    }
}

/// `value` in `from` units as `to` units, rounded towards minus infinity.
fn convert(value: i128, from: i128, to: i128) -> i128 {
    (value * to).div_euclid(from)
}

/// Nanoseconds of the monotonic clock: from an arbitrary point, negative
/// early on as ERTS's is.
fn monotonic_ns() -> i128 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    let start = *START.get_or_init(Instant::now);
    start.elapsed().as_nanos() as i128 - (1i128 << 59)
}

fn system_ns() -> i128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as i128).unwrap_or(0)
}

fn timestamp() -> Term {
    let us = system_ns() / 1000;
    Term::tuple(vec![Term::int(us / 1_000_000_000_000), Term::int(us / 1_000_000 % 1_000_000), Term::int(us % 1_000_000)])
}

fn in_unit(ns: i128, u: Option<&Term>) -> R {
    let to = match u {
        None => 1_000_000_000,
        Some(u) => unit(u).ok_or_else(badarg)?,
    };
    Ok(Term::int(convert(ns, 1_000_000_000, to)))
}

/// An environment variable name or value: a flat string.
fn env_text(t: &Term) -> Option<String> {
    list_items(t)?.iter().map(|c| c.as_int().and_then(|c| u32::try_from(c).ok()).and_then(char::from_u32)).collect()
}

/// Calls `module:name(args)` if it is one of the functions here.
pub(crate) fn call(module: &str, name: &str, a: &[Term], rt: Option<&mut (dyn Runtime + '_)>) -> Option<R> {
    let r = match (module, name, a) {
        ("timer", "sleep", [t]) => {
            let timeout = match t {
                t if t.is_atom("infinity") => None,
                Term::Int(ms) if *ms >= 0 => Some(Duration::from_millis(*ms as u64)),
                _ => return Some(Err(Exception::error(Term::atom("timeout_value")))),
            };
            match rt {
                // `receive after T -> ok end`: an exit signal still kills.
                Some(rt) => rt.receive(&mut |_| false, timeout).map(|_| Term::atom("ok")),
                None => {
                    std::thread::sleep(timeout.unwrap_or(Duration::MAX));
                    Ok(Term::atom("ok"))
                }
            }
        }
        ("erlang", "monotonic_time", []) => in_unit(monotonic_ns(), None),
        ("erlang", "monotonic_time", [u]) => in_unit(monotonic_ns(), Some(u)),
        ("erlang" | "os", "system_time", []) => in_unit(system_ns(), None),
        ("erlang" | "os", "system_time", [u]) => in_unit(system_ns(), Some(u)),
        ("erlang", "timestamp" | "now", []) | ("os", "timestamp", []) => Ok(timestamp()),
        ("erlang", "convert_time_unit", [v, from, to]) => match (v, unit(from), unit(to)) {
            (Term::Int(v), Some(f), Some(t)) => Ok(Term::int(convert(*v as i128, f, t))),
            _ => Err(badarg()),
        },
        ("erlang", "raise", [class, reason, stack]) => match class.as_atom().map(|c| c.name()) {
            // ERTS returns `badarg` (not raises it) for a bad class or stack.
            Some("error" | "exit" | "throw") if matches!(stack, Term::List(_)) => {
                Err(Exception { class: class.as_atom().expect("atom"), reason: reason.clone() })
            }
            _ => Ok(Term::atom("badarg")),
        },
        ("os", "type", []) => Ok(Term::tuple(vec![Term::atom("unix"), Term::atom("linux")])),
        ("os", "getenv", []) => Ok(Term::List(
            crate::abi::sys::environment()
                .into_iter()
                .map(|(k, v)| Term::string(&format!("{}={}", k.to_string_lossy(), v.to_string_lossy())))
                .collect(),
        )),
        ("os", "getenv", [k]) | ("os", "getenv", [k, _]) => match env_text(k) {
            Some(k) => Ok(match crate::abi::sys::host_getenv(k.as_bytes()) {
                Some(v) => Term::string(&String::from_utf8_lossy(&v)),
                None => a.get(1).cloned().unwrap_or_else(|| Term::atom("false")),
            }),
            None => Err(badarg()),
        },
        ("os", "putenv", [k, v]) => match (env_text(k), env_text(v)) {
            (Some(k), Some(v)) if !k.is_empty() && !k.contains('=') => {
                crate::abi::sys::host_putenv(k.as_bytes(), Some(v.as_bytes()));
                Ok(Term::atom("true"))
            }
            _ => Err(badarg()),
        },
        ("os", "unsetenv", [k]) => match env_text(k) {
            Some(k) => {
                crate::abi::sys::host_putenv(k.as_bytes(), None);
                Ok(Term::atom("true"))
            }
            None => Err(badarg()),
        },
        _ => return None,
    };
    Some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_units_floor() {
        assert_eq!(convert(1500, 1000, 1), 1);
        assert_eq!(convert(-1500, 1000, 1), -2);
        assert_eq!(convert(1, 1, 1_000_000_000), 1_000_000_000);
    }
}
