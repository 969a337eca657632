//! The driver trace (`porthost run --trace FILE`): `strace` for drivers.
//!
//! One line per event, in the order they happen:
//!
//! ```text
//! 0.000412 T1 #Port<0.5> > control(3, <<"abc">>)
//! 0.000415 T1 #Port<0.5>   driver_output(<<"abc">>) = 0 (1.3us)
//! 0.000417 T1 #Port<0.5> < control = <<"ok">> (5.1us)
//! ```
//!
//! Fields: seconds since the trace began; the thread (`T1` is the first
//! thread that traced); the port (`-` for none); `>` a callback into the
//! driver with its arguments, `<` its return with the result and how long it
//! ran, and an indented line per `erl_driver` call out of the driver, with
//! its arguments, its result and how long it took. Payloads are Erlang
//! binary literals abbreviated to [`ABBREV`] bytes (`<<"..."...>>(N bytes)`)
//! unless `--trace-full`. With `--trace-json` each event is a JSON object
//! with the fields `t`, `thread`, `port`, `kind` (`callback`, `return`,
//! `call`, `note`), `fn`, `args`, `result`, `us`.
//!
//! [`to_script`] turns a trace's port operations (the `start`, `output`,
//! `outputv`, `control`, `call` and `stop` callbacks, which `open_port`,
//! `port_command`, `port_control`, `erlang:port_call` and `port_close`
//! cause) back into a port script.

use std::cell::Cell;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// Payload bytes shown without `--trace-full`.
pub const ABBREV: usize = 32;

struct Sink {
    out: Box<dyn Write + Send>,
    json: bool,
}

static SINK: Mutex<Option<Sink>> = parking_lot::const_mutex(None);
static FULL: AtomicBool = AtomicBool::new(false);
static T0: LazyLock<Instant> = LazyLock::new(Instant::now);
static NEXT_THREAD: AtomicU32 = AtomicU32::new(1);

thread_local! {
    static THREAD: Cell<u32> = const { Cell::new(0) };
}

fn thread_no() -> u32 {
    THREAD.with(|t| {
        if t.get() == 0 {
            t.set(NEXT_THREAD.fetch_add(1, Ordering::Relaxed));
        }
        t.get()
    })
}

/// Starts tracing to `out` (JSON lines if `json`; whole payloads if
/// `full`) for the rest of the process.
pub fn start(out: Box<dyn Write + Send>, json: bool, full: bool) {
    LazyLock::force(&T0);
    FULL.store(full, Ordering::SeqCst);
    *SINK.lock() = Some(Sink { out, json });
    super::enable_trace();
}

/// Flushes the trace.
pub fn flush() {
    if let Some(s) = SINK.lock().as_mut() {
        let _ = s.out.flush();
    }
}

fn tracing() -> bool {
    super::hooks() & super::TRACE != 0
}

/// A callback that was entered (see [`super::Callback`]).
pub(crate) struct Entered {
    port: u64,
    cb: &'static str,
    pub(crate) result: Option<String>,
}

fn port_text(port: u64) -> String {
    if port == 0 {
        "-".to_owned()
    } else {
        format!("#Port<0.{port}>")
    }
}

#[allow(clippy::too_many_arguments)]
fn emit(kind: &str, port: u64, func: &str, args: Option<&str>, result: Option<&str>, took: Option<Duration>) {
    let t = T0.elapsed().as_secs_f64();
    let th = thread_no();
    let mut g = SINK.lock();
    let Some(s) = g.as_mut() else { return };
    let line = if s.json {
        let mut l = format!(
            "{{\"t\":{t:.6},\"thread\":{th},\"port\":\"{}\",\"kind\":\"{kind}\",\"fn\":{}",
            port_text(port),
            json_str(func)
        );
        if let Some(a) = args {
            l.push_str(&format!(",\"args\":{}", json_str(a)));
        }
        if let Some(r) = result {
            l.push_str(&format!(",\"result\":{}", json_str(r)));
        }
        if let Some(d) = took {
            l.push_str(&format!(",\"us\":{:.1}", d.as_secs_f64() * 1e6));
        }
        l.push('}');
        l
    } else {
        let p = port_text(port);
        let d = took.map(|d| format!(" ({:.1}us)", d.as_secs_f64() * 1e6)).unwrap_or_default();
        match kind {
            "callback" => format!("{t:.6} T{th} {p} > {func}({})", args.unwrap_or("")),
            "return" => format!("{t:.6} T{th} {p} < {func} = {}{d}", result.unwrap_or("ok")),
            "call" => format!("{t:.6} T{th} {p}   {func}({}) = {}{d}", args.unwrap_or(""), result.unwrap_or("")),
            _ => format!("{t:.6} T{th} {p} # {func}"),
        }
    };
    let _ = writeln!(s.out, "{line}");
}

pub(crate) fn enter(port: u64, cb: &'static str, args: String) -> Entered {
    emit("callback", port, cb, Some(&args), None, None);
    Entered { port, cb, result: None }
}

pub(crate) fn leave(e: Entered, took: Duration) {
    emit("return", e.port, e.cb, None, Some(e.result.as_deref().unwrap_or("ok")), Some(took));
}

/// One `erl_driver` call out of the driver, done.
pub(crate) fn call(port: u64, func: &str, args: &str, result: &str, took: Duration) {
    let port = if port == 0 { super::current_port_id() } else { port };
    let result = if result == "()" { "ok" } else { result };
    emit("call", port, func, Some(args), Some(result), Some(took));
}

/// A note (a misuse report) in the trace.
pub(crate) fn note(text: &str) {
    if tracing() {
        emit("note", 0, text, None, None, None);
    }
}

fn json_str(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// A payload as an Erlang binary literal (`<<"abc",0,1>>`), abbreviated to
/// [`ABBREV`] bytes unless `--trace-full` (`<<"abc"...>>(1000 bytes)`).
pub(crate) fn payload(b: &[u8]) -> String {
    let full = FULL.load(Ordering::Relaxed);
    let shown = if full { b } else { &b[..b.len().min(ABBREV)] };
    let mut parts: Vec<String> = Vec::new();
    let mut run = String::new();
    let printable = |c: u8| (0x20..0x7f).contains(&c);
    let mut i = 0;
    while i < shown.len() {
        let c = shown[i];
        // A run of 3+ printable bytes (or a printable tail) is a string.
        let run_len = shown[i..].iter().take_while(|&&c| printable(c)).count();
        if printable(c) && (run_len >= 3 || i + run_len == shown.len()) {
            for &c in &shown[i..i + run_len] {
                if c == b'"' || c == b'\\' {
                    run.push('\\');
                }
                run.push(c as char);
            }
            parts.push(format!("\"{run}\""));
            run.clear();
            i += run_len;
        } else {
            parts.push(c.to_string());
            i += 1;
        }
    }
    if shown.len() < b.len() {
        format!("<<{}...>>({} bytes)", parts.join(","), b.len())
    } else {
        format!("<<{}>>", parts.join(","))
    }
}

/// A port script that replays the port operations of trace `text` (text
/// or JSON lines): `open_port` for each `start`, `port_command` for each
/// `output`/`outputv`, `port_control`, `erlang:port_call`, and `port_close`
/// for a `stop` the driver did not cause itself. Abbreviated payloads are
/// replayed as far as they were traced, with a comment.
pub fn to_script(text: &str) -> String {
    let mut out = String::from("%% Replays the port operations of a porthost trace (porthost trace-to-script).\n");
    let mut open: std::collections::HashSet<String> = Default::default();
    let mut failed: std::collections::HashSet<String> = Default::default();
    for line in text.lines() {
        let Some(ev) = parse_line(line) else { continue };
        let var = format!("P{}", ev.port.trim_start_matches("#Port<0.").trim_end_matches('>'));
        let abbreviated = ev.args.contains("...>>(");
        let args = if abbreviated { unabbreviate(&ev.args) } else { ev.args.clone() };
        if abbreviated {
            out.push_str("%% payload abbreviated in the trace (use --trace-full): replayed in part\n");
        }
        match (ev.kind.as_str(), ev.func.as_str()) {
            ("callback", "start") => {
                // start("cmd", [binary])
                let (cmd, opts) = match args.rsplit_once(", [") {
                    Some((c, o)) => (c.to_owned(), format!("[{o}")),
                    None => (args.clone(), "[]".to_owned()),
                };
                out.push_str(&format!("{var} = open_port({{spawn_driver, {cmd}}}, {opts}).\n"));
                open.insert(var);
            }
            ("callback", "output" | "outputv") if open.contains(&var) => {
                out.push_str(&format!("port_command({var}, {args}).\n"));
            }
            ("callback", "control") if open.contains(&var) => {
                out.push_str(&format!("catch port_control({var}, {args}).\n"));
            }
            ("callback", "call") if open.contains(&var) => {
                out.push_str(&format!("catch erlang:port_call({var}, {args}).\n"));
            }
            ("call", f) if f.starts_with("driver_failure") || f == "driver_exit" => {
                failed.insert(var);
            }
            ("callback", "stop") if open.contains(&var) => {
                if !failed.contains(&var) {
                    out.push_str(&format!("port_close({var}).\n"));
                }
                open.remove(&var);
            }
            _ => {}
        }
    }
    out.push_str("flush().\n");
    out
}

struct Event {
    kind: String,
    port: String,
    func: String,
    args: String,
}

fn parse_line(line: &str) -> Option<Event> {
    let line = line.trim();
    if line.starts_with('{') {
        let kind = json_field(line, "kind")?;
        return Some(Event {
            kind,
            port: json_field(line, "port")?,
            func: json_field(line, "fn")?,
            args: json_field(line, "args").unwrap_or_default(),
        });
    }
    let mut it = line.splitn(4, ' ');
    let (_t, _th, port, rest) = (it.next()?, it.next()?, it.next()?, it.next()?);
    let (kind, body) = if let Some(b) = rest.strip_prefix("> ") {
        ("callback", b)
    } else if let Some(b) = rest.strip_prefix("  ") {
        ("call", b)
    } else {
        return None;
    };
    let open = body.find('(')?;
    let func = body[..open].to_owned();
    let args = match (kind, func.as_str()) {
        ("callback", _) => body[open + 1..].strip_suffix(')').unwrap_or(&body[open + 1..]).to_owned(),
        _ => String::new(),
    };
    Some(Event { kind: kind.to_owned(), port: port.to_owned(), func, args })
}

/// The value of string field `key` of one of our JSON lines.
fn json_field(line: &str, key: &str) -> Option<String> {
    let pat = format!("\"{key}\":\"");
    let start = line.find(&pat)? + pat.len();
    let mut out = String::new();
    let mut chars = line[start..].chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                'u' => {
                    let hex: String = chars.by_ref().take(4).collect();
                    out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                }
                c => out.push(c),
            },
            c => out.push(c),
        }
    }
    None
}

/// `<<"abc"...>>(N bytes)` → `<<"abc">>`.
fn unabbreviate(args: &str) -> String {
    let mut s = args.to_owned();
    while let Some(i) = s.find("...>>(") {
        let end = s[i..].find(" bytes)").map_or(s.len(), |j| i + j + " bytes)".len());
        s.replace_range(i..end, ">>");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_are_binary_literals() {
        assert_eq!(payload(b"hello"), "<<\"hello\">>");
        assert_eq!(payload(&[0, 1, 2]), "<<0,1,2>>");
        assert_eq!(payload(b"ab\x00cde"), "<<97,98,0,\"cde\">>");
        assert_eq!(payload(b"a\"b"), "<<\"a\\\"b\">>");
        let big = vec![b'x'; 100];
        assert!(payload(&big).ends_with("...>>(100 bytes)"));
    }

    #[test]
    fn script_from_text_trace() {
        let t = "0.1 T1 #Port<0.5> > start(\"echo_drv\", [binary])\n\
                 0.2 T1 #Port<0.5> > output(<<\"hi\">>)\n\
                 0.3 T1 #Port<0.5>   driver_output(<<\"hi\">>) = 0 (1.0us)\n\
                 0.4 T1 #Port<0.5> < output = ok (2.0us)\n\
                 0.5 T1 #Port<0.5> > control(3, <<1,2>>)\n\
                 0.6 T1 #Port<0.5> > stop()\n";
        let s = to_script(t);
        assert!(s.contains("P5 = open_port({spawn_driver, \"echo_drv\"}, [binary]).\n"), "{s}");
        assert!(s.contains("port_command(P5, <<\"hi\">>).\n"), "{s}");
        assert!(s.contains("catch port_control(P5, 3, <<1,2>>).\n"), "{s}");
        assert!(s.contains("port_close(P5).\n"), "{s}");
    }
}
