//! Term output: `erl_drv_output_term`, `erl_drv_send_term`, the deprecated
//! `driver_output_term` and `driver_send_term`, `driver_mk_term_nil` and the
//! constant `driver_term_nil` (see `include/erl_driver.h`).
//!
//! A term spec is a postfix program over `ErlDrvTermData` words: each tag
//! (`ERL_DRV_*`) is followed by its arguments and pushes one term on a
//! stack, composite tags (`TUPLE`, `LIST`, `MAP`) pop their elements, and
//! `STRING_CONS` replaces the top with the bytes consed in front of it. The
//! finished stack must hold exactly one term: that term is the whole
//! message (`erl_drv_output_term` does not wrap it in `{Port, ...}`).
//!
//! What ERTS 25 does, and so porthost (`driver_deliver_term` and
//! `deliver_term_check_port` in `erts/emulator/beam/io.c`, checked against
//! OTP 25 by `tests/scripts/term_*.erl`):
//!
//! - **Return values.** 1: sent. 0: not sent, the spec being fine: the
//!   receiver is not a live process (a dead pid, or a handle that is no pid
//!   at all, such as `driver_term_nil`), or the port is closing (`port_close`
//!   with a non-empty driver queue: in `flush`, and in `stop` after it).
//!   -1: not sent: the port handle names no open port (or one that has
//!   already exited, e.g. after `driver_failure*` in the running callback),
//!   or the spec is malformed.
//! - **Order of the checks.** The port first (so a closing port gives 0
//!   whatever the spec), then the whole spec, then the receiver, then two
//!   faults ERTS only finds while building the message, which it skips for a
//!   dead receiver: a non-finite float and a map with a key twice give -1
//!   for a live receiver and 0 for a dead one.
//! - **Malformed specs** (-1, nothing sent, every binary reference taken
//!   for the message given back): an unknown tag; an argument missing at the
//!   end; `len <= 0`; a stack that underflows or does not end with one term;
//!   `LIST` of fewer than 1 element; a negative `TUPLE` arity or `MAP` size;
//!   `ATOM`, `PID` or `PORT` with a handle of another kind (`driver_term_nil`
//!   is no atom); `BINARY` with NULL or a range past `orig_size`;
//!   `STRING`/`STRING_CONS` with a NULL pointer (even for length 0) or a
//!   negative length; `BUF2BINARY` with NULL and a length > 0; `EXT2TERM`
//!   with NULL, a length <= 0 or bytes that are not one external term
//!   (bytes after the term are ignored).
//! - **Values.** `LIST n` pops a tail and `n - 1` elements (so `LIST 1` of
//!   a term is that term); `STRING_CONS` onto a non-list makes an improper
//!   list; `BINARY` copies at most 64 bytes (ERTS's heap binary: the driver
//!   binary's refc is unchanged) and takes a reference for more (the message
//!   holds it); `BUF2BINARY` always copies; `PID` and `PORT` need not be
//!   alive; map keys may come in any order.
//! - **The port.** `erl_drv_output_term` may be called from `start` and from
//!   `stop` (ERTS delivers both); the port's `input` count does not change.
//!
//! Where porthost differs: an atom handle whose index no atom has, and NULL
//! for `INT64`, `UINT64` or `FLOAT`, are -1 (ERTS reads garbage or
//! crashes). In `stop` after a closing port drained its queue ERTS returns 0;
//! porthost cannot tell that port from one closed otherwise and delivers.
//!
//! `erl_drv_output_term` and `erl_drv_send_term` get the port as a term
//! (`driver_mk_port`), not as an `ErlDrvPort`: the port is looked up by
//! number in the hosts that handed out such terms (`note_host`). Port
//! numbers are per host, so when two hosts have a port of that number, the
//! one whose port lock the calling thread holds wins.
//!
//! Limitation: delivery takes the port lock. A driver thread that sends
//! while a callback of the same port waits for that thread (a `stop` that
//! joins it) deadlocks here, where ERTS, which reads the port state without
//! the lock, does not.
#![allow(clippy::missing_safety_doc)]

use std::cell::RefCell;
use std::os::raw::c_int;
use std::sync::{Arc, Weak};

use parking_lot::RwLock;

use super::misc::{term_data_atom, term_data_pid, term_data_port, NIL_TERM_DATA};
use super::{bytes, guard, port_ref};
use crate::binary::{self, Bin, ONHEAP_BIN_LIMIT};
use crate::ffi::{ErlDrvBinary, ErlDrvPort, ErlDrvTermData};
use crate::host::HostInner;
use crate::port::{Phase, Port};
use crate::process::{Signal, Sink};
use crate::term::{ext, PortId, Term};

/// The `ERL_DRV_*` tags of a term spec (`include/erl_driver.h`).
mod tag {
    use crate::ffi::ErlDrvTermData;
    pub const NIL: ErlDrvTermData = 1;
    pub const ATOM: ErlDrvTermData = 2;
    pub const INT: ErlDrvTermData = 3;
    pub const PORT: ErlDrvTermData = 4;
    pub const BINARY: ErlDrvTermData = 5;
    pub const STRING: ErlDrvTermData = 6;
    pub const TUPLE: ErlDrvTermData = 7;
    pub const LIST: ErlDrvTermData = 8;
    pub const STRING_CONS: ErlDrvTermData = 9;
    pub const PID: ErlDrvTermData = 10;
    pub const FLOAT: ErlDrvTermData = 11;
    pub const EXT2TERM: ErlDrvTermData = 12;
    pub const UINT: ErlDrvTermData = 13;
    pub const BUF2BINARY: ErlDrvTermData = 14;
    pub const INT64: ErlDrvTermData = 15;
    pub const UINT64: ErlDrvTermData = 16;
    pub const MAP: ErlDrvTermData = 17;
}

/// `driver_term_nil`: the handle of `[]`, ERTS's NIL immediate (0x3B).
#[no_mangle]
#[allow(non_upper_case_globals)]
pub static driver_term_nil: ErlDrvTermData = NIL_TERM_DATA;

/// `driver_mk_term_nil()`: returns `driver_term_nil`.
#[no_mangle]
pub unsafe extern "C" fn driver_mk_term_nil() -> ErlDrvTermData {
    guard("driver_mk_term_nil", NIL_TERM_DATA, || NIL_TERM_DATA)
}

/// `erl_drv_output_term(port, data, len)`: sends the term that the spec
/// `data` builds to the owner of `port` (a `driver_mk_port` handle).
/// Returns 1 if sent, 0 if not (port closing), -1 for a bad port or spec.
#[no_mangle]
pub unsafe extern "C" fn erl_drv_output_term(port: ErlDrvTermData, data: *mut ErlDrvTermData, len: c_int) -> c_int {
    super::hooked("erl_drv_output_term", std::ptr::null_mut(), crate::check::Thread::Any, || format!("len={len}"), -1, || {
        let Some(p) = term_data_port(port).and_then(find_port) else { return -1 };
        // SAFETY: the driver passes `len` readable words, by contract.
        unsafe { send("erl_drv_output_term", &p, Receiver::Owner, data, len) }
    })
}

/// `erl_drv_send_term(port, to, data, len)`: sends the term that the spec
/// `data` builds to the process `to`, from `port` (a `driver_mk_port`
/// handle). Returns 1 if sent, 0 if not (port closing, `to` not a live
/// process), -1 for a bad port or spec.
#[no_mangle]
pub unsafe extern "C" fn erl_drv_send_term(
    port: ErlDrvTermData,
    to: ErlDrvTermData,
    data: *mut ErlDrvTermData,
    len: c_int,
) -> c_int {
    super::hooked("erl_drv_send_term", std::ptr::null_mut(), crate::check::Thread::Any, || format!("{to:#x}, len={len}"), -1, || {
        let Some(p) = term_data_port(port).and_then(find_port) else { return -1 };
        // SAFETY: the driver passes `len` readable words, by contract.
        unsafe { send("erl_drv_send_term", &p, Receiver::Pid(to), data, len) }
    })
}

/// `driver_output_term(port, data, len)` (deprecated): as
/// `erl_drv_output_term`, with the port's `ErlDrvPort`.
#[no_mangle]
pub unsafe extern "C" fn driver_output_term(port: ErlDrvPort, data: *mut ErlDrvTermData, len: c_int) -> c_int {
    super::hooked("driver_output_term", port, crate::check::Thread::Callback, || format!("len={len}"), -1, || {
        // SAFETY: the driver passes its own live port and `len` readable
        // words, by contract.
        let Some(p) = (unsafe { port_ref(port) }) else { return -1 };
        unsafe { send("driver_output_term", p, Receiver::Owner, data, len) }
    })
}

/// `driver_send_term(port, to, data, len)` (deprecated): as
/// `erl_drv_send_term`, with the port's `ErlDrvPort`.
#[no_mangle]
pub unsafe extern "C" fn driver_send_term(
    port: ErlDrvPort,
    to: ErlDrvTermData,
    data: *mut ErlDrvTermData,
    len: c_int,
) -> c_int {
    super::hooked("driver_send_term", port, crate::check::Thread::Callback, || format!("{to:#x}, len={len}"), -1, || {
        // SAFETY: the driver passes its own live port and `len` readable
        // words, by contract.
        let Some(p) = (unsafe { port_ref(port) }) else { return -1 };
        unsafe { send("driver_send_term", p, Receiver::Pid(to), data, len) }
    })
}

/// Who gets the message.
enum Receiver {
    /// The port owner (`erl_drv_output_term`).
    Owner,
    /// A pid handle (`erl_drv_send_term`); anything else is no live process.
    Pid(ErlDrvTermData),
}

/// Checks the port, builds the term and delivers it (see the module docs
/// for the order of the checks and the return values).
///
/// # Safety
/// `data` must be valid for reads of `len` words (when `len > 0`), and the
/// pointers in the spec must be valid as each tag requires.
unsafe fn send(name: &'static str, port: &Port, to: Receiver, data: *const ErlDrvTermData, len: c_int) -> c_int {
    let phase = port.phase();
    match phase {
        Phase::Starting | Phase::Open => {}
        Phase::Closing => return 0,
        Phase::Exiting => return -1,
        // Closed with the port still in the table: only `stop` runs now (the
        // port lock is ours), and ERTS delivers from `stop`.
        Phase::Closed if in_table(port) => {}
        Phase::Closed => return -1,
    }
    let words: &[ErlDrvTermData] = if data.is_null() || len <= 0 {
        &[]
    } else {
        // SAFETY: by contract.
        unsafe { std::slice::from_raw_parts(data, len as usize) }
    };
    // SAFETY: by contract.
    let at = std::cell::Cell::new(0);
    // SAFETY: by contract.
    let Ok(built) = (unsafe { build_at(words, &at) }) else {
        if crate::check::hooks() & crate::check::CHECK != 0 {
            malformed(name, words, at.get(), len);
        }
        return -1;
    };
    // A receiver with a sink (an isolated worker's proxy) gets the term
    // there, with the sending port, in order with the port's other output.
    let to: Option<(Arc<crate::process::Mailbox>, Option<Sink>)> = match to {
        Receiver::Owner => {
            let owner = port.owner.lock();
            Some((owner.tx.clone(), owner.sink.clone()))
        }
        Receiver::Pid(t) => term_data_pid(t).and_then(|pid| {
            let host = port.host.upgrade()?;
            let procs = host.procs.read();
            procs.get(&pid).map(|p| (p.tx.clone(), p.sink.get().cloned()))
        }),
    };
    let Some((tx, sink)) = to else { return 0 };
    if built.late_fault {
        return -1;
    }
    port.note_message(0);
    if let Some(sink) = sink {
        sink(port.id, built.term);
        return 1;
    }
    match tx.send(Signal::Message(built.term)) {
        Ok(()) => 1,
        Err(_) => 0,
    }
}

/// Reports a malformed spec to the checker: where it went wrong.
fn malformed(name: &str, words: &[ErlDrvTermData], at: usize, len: c_int) {
    const NAMES: [(ErlDrvTermData, &str); 15] = [
        (tag::NIL, "ERL_DRV_NIL"),
        (tag::ATOM, "ERL_DRV_ATOM"),
        (tag::INT, "ERL_DRV_INT"),
        (tag::UINT, "ERL_DRV_UINT"),
        (tag::INT64, "ERL_DRV_INT64"),
        (tag::UINT64, "ERL_DRV_UINT64"),
        (tag::PORT, "ERL_DRV_PORT"),
        (tag::PID, "ERL_DRV_PID"),
        (tag::FLOAT, "ERL_DRV_FLOAT"),
        (tag::BINARY, "ERL_DRV_BINARY"),
        (tag::BUF2BINARY, "ERL_DRV_BUF2BINARY"),
        (tag::STRING, "ERL_DRV_STRING"),
        (tag::STRING_CONS, "ERL_DRV_STRING_CONS"),
        (tag::LIST, "ERL_DRV_LIST"),
        (tag::TUPLE, "ERL_DRV_TUPLE"),
    ];
    let what = if len <= 0 {
        format!("malformed term spec: length {len}")
    } else if at >= words.len() {
        format!("malformed term spec: after its {} words the stack does not hold exactly one term", words.len())
    } else {
        let w = words[at];
        match NAMES.iter().find(|(t, _)| *t == w).map(|(_, n)| *n).or(match w {
            tag::MAP => Some("ERL_DRV_MAP"),
            tag::EXT2TERM => Some("ERL_DRV_EXT2TERM"),
            _ => None,
        }) {
            Some(n) => format!(
                "malformed term spec at word {at} ({n}): a bad or missing argument, or too few terms on the stack for it"
            ),
            None => format!("malformed term spec at word {at}: {w:#x} is no ERL_DRV_* tag"),
        }
    };
    crate::check::report(name, what);
}

/// True while `port` is still in its host's port table.
fn in_table(port: &Port) -> bool {
    port.host
        .upgrade()
        .and_then(|h| h.ports.get(port.id))
        .is_some_and(|p| std::ptr::eq(Arc::as_ptr(&p), port))
}

/// The hosts that have handed out port handles (`driver_mk_port`).
static HOSTS: RwLock<Vec<Weak<HostInner>>> = RwLock::new(Vec::new());

thread_local! {
    /// The host this thread last registered, to keep `driver_mk_port` off
    /// the global lock.
    static LAST_HOST: RefCell<Weak<HostInner>> = const { RefCell::new(Weak::new()) };
}

/// Records `port`'s host as one that port handles may come from, so that
/// `erl_drv_output_term` can find the port from its number. Called by
/// `driver_mk_port`, the only source of port handles.
pub(crate) fn note_host(port: &Port) {
    let known = LAST_HOST.with(|l| {
        let l = l.borrow();
        l.strong_count() > 0 && l.ptr_eq(&port.host)
    });
    if known {
        return;
    }
    {
        let mut hosts = HOSTS.write();
        hosts.retain(|h| h.strong_count() > 0);
        if !hosts.iter().any(|h| h.ptr_eq(&port.host)) {
            hosts.push(port.host.clone());
        }
    }
    LAST_HOST.with(|l| *l.borrow_mut() = port.host.clone());
}

/// The open (or closing) port with number `id` in the hosts that handed out
/// port handles; with several, the one whose port lock this thread holds.
fn find_port(id: PortId) -> Option<Arc<Port>> {
    let hosts: Vec<Arc<HostInner>> = HOSTS.read().iter().filter_map(Weak::upgrade).collect();
    let mut found: Vec<Arc<Port>> = hosts.iter().filter_map(|h| h.ports.get(id)).collect();
    if found.len() > 1 {
        if let Some(i) = found.iter().position(|p| p.state.is_owned_by_current_thread()) {
            return Some(found.swap_remove(i));
        }
    }
    found.into_iter().next()
}

/// A spec the validation pass accepts.
#[derive(Debug)]
struct Built {
    term: Term,
    /// A fault ERTS finds only while building the message for a live
    /// receiver: a non-finite float, a map key given twice.
    late_fault: bool,
}

/// The spec is malformed (ERTS returns -1).
#[derive(Debug)]
struct Malformed;

/// Runs the spec program.
///
/// # Safety
/// Every pointer argument in `words` must be valid as its tag requires
/// (NULL is checked): `BINARY` a live driver binary, `STRING`,
/// `STRING_CONS`, `BUF2BINARY` and `EXT2TERM` readable bytes of the given
/// length, `INT64`, `UINT64` and `FLOAT` a readable value.
#[cfg(test)]
unsafe fn build(words: &[ErlDrvTermData]) -> Result<Built, Malformed> {
    // SAFETY: as for this function.
    unsafe { build_at(words, &std::cell::Cell::new(0)) }
}

/// [`build`], leaving in `at` the index of the word where the spec went
/// wrong (the start of the bad tag, or `words.len()` for a stack that does
/// not end with one term).
///
/// # Safety
/// As for [`build`].
unsafe fn build_at(words: &[ErlDrvTermData], at: &std::cell::Cell<usize>) -> Result<Built, Malformed> {
    let mut stack: Vec<Term> = Vec::new();
    let mut late_fault = false;
    let mut i = 0;
    // The next `n` argument words.
    let args = |i: &mut usize, n: usize| -> Result<&[ErlDrvTermData], Malformed> {
        let a = words.get(*i + 1..*i + 1 + n).ok_or(Malformed)?;
        *i += 1 + n;
        Ok(a)
    };
    // How many terms a composite pops: ERTS reads the count as an int.
    let count = |w: ErlDrvTermData| -> Result<usize, Malformed> {
        usize::try_from(w as c_int).map_err(|_| Malformed)
    };
    while i < words.len() {
        at.set(i);
        let t = match words[i] {
            tag::NIL => {
                i += 1;
                Term::nil()
            }
            tag::ATOM => Term::Atom(term_data_atom(args(&mut i, 1)?[0]).ok_or(Malformed)?),
            tag::INT => Term::Int(args(&mut i, 1)?[0] as isize as i64),
            tag::UINT => Term::int(args(&mut i, 1)?[0] as i128),
            tag::INT64 => {
                let p = args(&mut i, 1)?[0] as *const i64;
                // SAFETY: by contract; NULL checked.
                Term::Int(unsafe { p.as_ref() }.copied().ok_or(Malformed)?)
            }
            tag::UINT64 => {
                let p = args(&mut i, 1)?[0] as *const u64;
                // SAFETY: by contract; NULL checked.
                Term::int(unsafe { p.as_ref() }.copied().ok_or(Malformed)? as i128)
            }
            tag::PORT => Term::Port(term_data_port(args(&mut i, 1)?[0]).ok_or(Malformed)?),
            tag::PID => Term::Pid(term_data_pid(args(&mut i, 1)?[0]).ok_or(Malformed)?),
            tag::FLOAT => {
                let p = args(&mut i, 1)?[0] as *const f64;
                // SAFETY: by contract; NULL checked.
                let f = unsafe { p.as_ref() }.copied().ok_or(Malformed)?;
                late_fault |= !f.is_finite();
                Term::Float(f)
            }
            tag::BINARY => {
                let a = args(&mut i, 3)?;
                let (bin, size, offset) = (a[0] as *mut ErlDrvBinary, a[1] as usize, a[2] as usize);
                // SAFETY: a live driver binary by contract; NULL checked.
                unsafe { sub_binary(bin, size, offset) }?
            }
            tag::BUF2BINARY => {
                let a = args(&mut i, 2)?;
                let (p, size) = (a[0] as *const std::os::raw::c_char, a[1] as usize);
                if p.is_null() && size > 0 {
                    return Err(Malformed);
                }
                // SAFETY: `size` readable bytes by contract.
                Term::Binary(Bin::from_slice(unsafe { bytes(p, size) }))
            }
            tag::STRING | tag::STRING_CONS => {
                let cons = words[i] == tag::STRING_CONS;
                let a = args(&mut i, 2)?;
                let p = a[0] as *const std::os::raw::c_char;
                if p.is_null() || (a[1] as c_int) < 0 {
                    return Err(Malformed);
                }
                // SAFETY: `len` readable bytes by contract.
                let chars = unsafe { bytes(p, a[1] as usize) }.iter().map(|&b| Term::Int(b as i64)).collect();
                let tail = if cons { stack.pop().ok_or(Malformed)? } else { Term::nil() };
                cons_onto(chars, tail)
            }
            tag::LIST => {
                let n = count(args(&mut i, 1)?[0])?;
                if n == 0 || n > stack.len() {
                    return Err(Malformed);
                }
                let tail = stack.pop().expect("n >= 1 terms");
                let heads = stack.split_off(stack.len() - (n - 1));
                cons_onto(heads, tail)
            }
            tag::TUPLE => {
                let n = count(args(&mut i, 1)?[0])?;
                if n > stack.len() {
                    return Err(Malformed);
                }
                Term::Tuple(stack.split_off(stack.len() - n))
            }
            tag::MAP => {
                let n = count(args(&mut i, 1)?[0])?;
                if n.checked_mul(2).is_none_or(|n2| n2 > stack.len()) {
                    return Err(Malformed);
                }
                let flat = stack.split_off(stack.len() - 2 * n);
                let mut it = flat.into_iter();
                let pairs: Vec<(Term, Term)> = std::iter::from_fn(|| Some((it.next()?, it.next()?))).collect();
                let map = Term::map(pairs);
                late_fault |= matches!(&map, Term::Map(m) if m.len() != n);
                map
            }
            tag::EXT2TERM => {
                let a = args(&mut i, 2)?;
                let (p, size) = (a[0] as *const std::os::raw::c_char, a[1] as isize);
                if p.is_null() || size <= 0 {
                    return Err(Malformed);
                }
                // SAFETY: `size` readable bytes by contract.
                ext::binary_to_term(unsafe { bytes(p, size as usize) }).ok_or(Malformed)?
            }
            _ => return Err(Malformed),
        };
        stack.push(t);
    }
    at.set(words.len());
    match (stack.pop(), stack.is_empty()) {
        (Some(term), true) => Ok(Built { term, late_fault }),
        _ => Err(Malformed),
    }
}

/// `ERL_DRV_BINARY`: `size` bytes of `bin` from `offset`; a copy when small
/// (ERTS's heap binary), else one more reference to `bin`.
///
/// # Safety
/// `bin` must be NULL or a live driver binary.
unsafe fn sub_binary(bin: *mut ErlDrvBinary, size: usize, offset: usize) -> Result<Term, Malformed> {
    if bin.is_null() {
        return Err(Malformed);
    }
    // SAFETY: a live binary by contract.
    let orig = unsafe { (*bin).orig_size }.max(0) as usize;
    if size.checked_add(offset).is_none_or(|end| end > orig) {
        return Err(Malformed);
    }
    if size <= ONHEAP_BIN_LIMIT {
        // SAFETY: the range lies within the binary's bytes.
        let all = unsafe { binary::bytes_of(bin) };
        return Ok(Term::Binary(Bin::from_slice(&all[offset..offset + size])));
    }
    // SAFETY: a live driver binary; the range was checked.
    Ok(Term::Binary(unsafe { Bin::share_raw(bin, offset, size) }))
}

/// `heads` consed in front of `tail`: `[H1, ..., Hn | Tail]`, flattened
/// into one list when `tail` is a list; `tail` itself when there are no
/// heads.
fn cons_onto(heads: Vec<Term>, tail: Term) -> Term {
    Term::cons(heads, tail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::misc::{atom_term_data, pid_term_data, port_term_data};
    use crate::term::{Atom, Pid};

    type W = ErlDrvTermData;

    fn atom(name: &str) -> W {
        atom_term_data(Atom::new(name))
    }

    fn run(spec: &[W]) -> Result<Built, Malformed> {
        // SAFETY: the specs below point only at live locals.
        unsafe { build(spec) }
    }

    fn term(spec: &[W]) -> String {
        let b = run(spec).expect("a valid spec");
        assert!(!b.late_fault);
        b.term.to_string()
    }

    fn malformed(spec: &[W]) -> bool {
        run(spec).is_err()
    }

    #[test]
    fn nil_is_erts_nil_immediate() {
        assert_eq!(driver_term_nil, 0x3B);
        // SAFETY: no arguments.
        assert_eq!(unsafe { driver_mk_term_nil() }, driver_term_nil);
        assert!(term_data_atom(driver_term_nil).is_none());
        assert!(term_data_pid(driver_term_nil).is_none());
        assert!(term_data_port(driver_term_nil).is_none());
    }

    #[test]
    fn scalars() {
        assert_eq!(term(&[tag::NIL]), "[]");
        assert_eq!(term(&[tag::ATOM, atom("hello world")]), "'hello world'");
        assert_eq!(term(&[tag::INT, -5isize as W]), "-5");
        assert_eq!(term(&[tag::UINT, W::MAX]), "18446744073709551615");
        let (i, u) = (i64::MIN, u64::MAX);
        assert_eq!(term(&[tag::INT64, &i as *const i64 as W]), "-9223372036854775808");
        assert_eq!(term(&[tag::UINT64, &u as *const u64 as W]), "18446744073709551615");
        let f = 3.5f64;
        assert_eq!(term(&[tag::FLOAT, &f as *const f64 as W]), "3.5");
        assert_eq!(term(&[tag::PID, pid_term_data(Pid(81))]), "<0.81.0>");
        assert_eq!(term(&[tag::PORT, port_term_data(PortId(7))]), "#Port<0.7>");
    }

    #[test]
    fn lists_tuples_and_strings() {
        let spec = [tag::INT, 1, tag::INT, 2, tag::NIL, tag::LIST, 3];
        assert_eq!(term(&spec), "[1,2]");
        assert_eq!(term(&[tag::INT, 1, tag::INT, 2, tag::LIST, 2]), "[1|2]");
        assert_eq!(term(&[tag::ATOM, atom("foo"), tag::LIST, 1]), "foo");
        assert_eq!(term(&[tag::TUPLE, 0]), "{}");
        let spec = [tag::ATOM, atom("a"), tag::NIL, tag::TUPLE, 0, tag::TUPLE, 3];
        assert_eq!(term(&spec), "{a,[],{}}");
        let (ab, cd) = (b"ab", b"cd");
        let spec = [tag::STRING, cd.as_ptr() as W, 2, tag::STRING_CONS, ab.as_ptr() as W, 2];
        assert_eq!(term(&spec), "[97,98,99,100]");
        let spec = [tag::ATOM, atom("t"), tag::STRING_CONS, ab.as_ptr() as W, 2];
        assert_eq!(term(&spec), "[97,98|t]");
        let spec = [tag::ATOM, atom("t"), tag::STRING_CONS, ab.as_ptr() as W, 0];
        assert_eq!(term(&spec), "t");
        let high = [0xffu8, 0x80];
        assert_eq!(term(&[tag::STRING, high.as_ptr() as W, 2]), "[255,128]");
    }

    #[test]
    fn maps_sort_keys_and_flag_duplicates() {
        let spec = [tag::ATOM, atom("b"), tag::INT, 2, tag::ATOM, atom("a"), tag::INT, 1, tag::MAP, 2];
        assert_eq!(term(&spec), "#{a => 1,b => 2}");
        assert_eq!(term(&[tag::MAP, 0]), "#{}");
        let spec = [tag::ATOM, atom("a"), tag::INT, 2, tag::ATOM, atom("a"), tag::INT, 1, tag::MAP, 2];
        assert!(run(&spec).unwrap().late_fault);
        let nan = f64::NAN;
        assert!(run(&[tag::FLOAT, &nan as *const f64 as W]).unwrap().late_fault);
    }

    #[test]
    fn ext2term_decodes_and_ignores_trailing_bytes() {
        let mut ext = ext::term_to_binary(&Term::tuple(vec![Term::atom("x"), Term::Int(1)]));
        ext.extend_from_slice(b"junk");
        let spec = [tag::EXT2TERM, ext.as_ptr() as W, ext.len() as W];
        assert_eq!(term(&spec), "{x,1}");
        let bad = [97u8, 1];
        assert!(malformed(&[tag::EXT2TERM, bad.as_ptr() as W, 2]));
        assert!(malformed(&[tag::EXT2TERM, ext.as_ptr() as W, 0]));
        assert!(malformed(&[tag::EXT2TERM, 0, 3]));
    }

    #[test]
    fn binaries_copy_small_and_reference_large() {
        let bin = binary::alloc_raw(100);
        // SAFETY: a fresh binary of 100 bytes, released at the end.
        unsafe {
            binary::bytes_of(bin).iter_mut().enumerate().for_each(|(i, b)| *b = i as u8);
            let small = run(&[tag::BINARY, bin as W, 3, 10]).unwrap();
            assert_eq!(small.term.to_string(), "<<10,11,12>>");
            assert_eq!(binary::refc_get(bin), 1);
            let large = run(&[tag::BINARY, bin as W, 70, 30]).unwrap();
            assert_eq!(binary::refc_get(bin), 2);
            drop(large);
            assert_eq!(binary::refc_get(bin), 1);
            // A malformed spec gives back the references it took.
            assert!(malformed(&[tag::BINARY, bin as W, 70, 0, tag::NIL, tag::INT]));
            assert_eq!(binary::refc_get(bin), 1);
            assert!(malformed(&[tag::BINARY, bin as W, 10, 95]));
            assert!(malformed(&[tag::BINARY, 0, 0, 0]));
            binary::release_raw(bin);
        }
        let abc = b"abc";
        assert_eq!(term(&[tag::BUF2BINARY, abc.as_ptr() as W, 3]), "<<97,98,99>>");
        assert_eq!(term(&[tag::BUF2BINARY, 0, 0]), "<<>>");
        assert!(malformed(&[tag::BUF2BINARY, 0, 1]));
    }

    #[test]
    fn malformed_specs() {
        let s = b"ab";
        let sp = s.as_ptr() as W;
        let cases: &[&[W]] = &[
            &[],
            &[99],
            &[0],
            &[tag::NIL, tag::NIL],
            &[tag::NIL, tag::TUPLE, 2],
            &[tag::NIL, tag::TUPLE, -1i32 as u32 as W],
            &[tag::NIL, tag::LIST, 0],
            &[tag::NIL, tag::LIST, 2],
            &[tag::STRING_CONS, sp, 2],
            &[tag::STRING, 0, 0],
            &[tag::STRING, sp, -1isize as W],
            &[tag::NIL, tag::INT],
            &[tag::ATOM, 5],
            &[tag::ATOM, NIL_TERM_DATA],
            &[tag::ATOM, pid_term_data(Pid(80))],
            &[tag::PID, atom("x")],
            &[tag::PORT, pid_term_data(Pid(80))],
            &[tag::MAP, -1isize as W],
            &[tag::ATOM, atom("a"), tag::MAP, 1],
            &[tag::INT64, 0],
            &[tag::FLOAT, 0],
        ];
        for spec in cases {
            assert!(malformed(spec), "{spec:?} was accepted");
        }
    }
}
