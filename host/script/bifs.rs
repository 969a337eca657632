//! The pure BIFs and library functions the evaluator runs itself: term
//! inspection and conversion, arithmetic helpers, and the parts of `lists`
//! and `binary` a port script needs. Everything here is a function of its
//! arguments; whatever touches ports, processes or the mailbox goes to the
//! [`Runtime`](super::Runtime).
//!
//! Errors follow ERTS: BIFs raise `badarg` (`badarith` for arithmetic),
//! while `lists` functions written in Erlang raise `function_clause` where
//! OTP 25's `lists.erl` has no matching clause.

use std::cmp::Ordering;

use super::bits::BitWriter;
use super::num::{self, badarith, is_integer, is_number};
use super::parse::BinOp;
use super::Exception;
use crate::term::ext;
use crate::term::order::compare;
use crate::term::{Atom, Term};

type R = Result<Term, Exception>;

fn badarg() -> Exception {
    Exception::badarg()
}

fn function_clause() -> Exception {
    Exception::error(Term::atom("function_clause"))
}

fn boolean(b: bool) -> Term {
    Term::atom(if b { "true" } else { "false" })
}

/// The boolean in `t`, if it is `true` or `false`.
pub fn as_bool(t: &Term) -> Option<bool> {
    match t {
        Term::Atom(a) if a.name() == "true" => Some(true),
        Term::Atom(a) if a.name() == "false" => Some(false),
        _ => None,
    }
}

/// The elements of a proper list.
pub fn list_items(t: &Term) -> Option<&[Term]> {
    match t {
        Term::List(v) => Some(v),
        _ => None,
    }
}

fn int_arg(t: &Term) -> Option<i64> {
    t.as_int()
}

/// A non-negative `usize` argument.
fn index_arg(t: &Term) -> Option<usize> {
    t.as_int().and_then(|i| usize::try_from(i).ok())
}

/// The characters of a string (a list of code points), if `t` is one.
fn string_arg(t: &Term) -> Option<String> {
    list_items(t)?
        .iter()
        .map(|c| c.as_int().and_then(|i| u32::try_from(i).ok()).and_then(char::from_u32))
        .collect()
}

/// Builds `items ++ tail` as a list term, flattening a list tail.
pub fn make_list(items: Vec<Term>, tail: Term) -> Term {
    Term::cons(items, tail)
}

/// `A ++ B`.
pub fn append(a: &Term, b: &Term) -> R {
    let items = list_items(a).ok_or_else(badarg)?;
    Ok(make_list(items.to_vec(), b.clone()))
}

/// `A -- B`: removes the first occurrence of each element of `B` from `A`.
pub fn subtract(a: &Term, b: &Term) -> R {
    let items = list_items(a).ok_or_else(badarg)?;
    let remove = list_items(b).ok_or_else(badarg)?;
    // Each element of `b` removes the first equal element of `a` left: so
    // every value removes as many of its first occurrences as `b` holds.
    // Counted in a hash multiset (as ERTS's `--` does past a few elements),
    // in O(len(a) + len(b)), not O(len(a) * len(b)).
    let mut counts: std::collections::HashMap<u64, Vec<(&Term, usize)>> = std::collections::HashMap::new();
    for x in remove.iter() {
        let bucket = counts.entry(crate::term::order::exact_hash(x)).or_default();
        match bucket.iter_mut().find(|(y, _)| *y == x) {
            Some((_, n)) => *n += 1,
            None => bucket.push((x, 1)),
        }
    }
    let mut out = Vec::with_capacity(items.len());
    for x in items.iter() {
        if let Some(bucket) = counts.get_mut(&crate::term::order::exact_hash(x)) {
            if let Some((_, n)) = bucket.iter_mut().find(|(y, n)| *n > 0 && *y == x) {
                *n -= 1;
                continue;
            }
        }
        out.push(x.clone());
    }
    Ok(Term::List(out))
}

/// Applies a binary operator to two values.
pub fn binop(op: BinOp, a: &Term, b: &Term) -> R {
    use BinOp::*;
    let cmp = || compare(a, b, false);
    Ok(match op {
        Add => return num::arith(b'+', a, b),
        Sub => return num::arith(b'-', a, b),
        Mul => return num::arith(b'*', a, b),
        FDiv => return num::fdiv(a, b),
        Div => return num::int_div(a, b, false),
        Rem => return num::int_div(a, b, true),
        Band => return num::bitwise(b'&', a, b),
        Bor => return num::bitwise(b'|', a, b),
        Bxor => return num::bitwise(b'^', a, b),
        Bsl => return num::shift(a, b, true),
        Bsr => return num::shift(a, b, false),
        And | Or | Xor => {
            let (x, y) = (as_bool(a).ok_or_else(badarg)?, as_bool(b).ok_or_else(badarg)?);
            boolean(match op {
                And => x && y,
                Or => x || y,
                _ => x ^ y,
            })
        }
        Eq => boolean(cmp() == Ordering::Equal),
        Ne => boolean(cmp() != Ordering::Equal),
        ExactEq => boolean(a == b),
        ExactNe => boolean(a != b),
        Lt => boolean(cmp() == Ordering::Less),
        Le => boolean(cmp() != Ordering::Greater),
        Gt => boolean(cmp() == Ordering::Greater),
        Ge => boolean(cmp() != Ordering::Less),
        Append => return append(a, b),
        Subtract => return subtract(a, b),
    })
}

fn binop_by_name(name: &str) -> Option<BinOp> {
    use BinOp::*;
    Some(match name {
        "+" => Add,
        "-" => Sub,
        "*" => Mul,
        "/" => FDiv,
        "div" => Div,
        "rem" => Rem,
        "band" => Band,
        "bor" => Bor,
        "bxor" => Bxor,
        "bsl" => Bsl,
        "bsr" => Bsr,
        "and" => And,
        "or" => Or,
        "xor" => Xor,
        "==" => Eq,
        "/=" => Ne,
        "=:=" => ExactEq,
        "=/=" => ExactNe,
        "<" => Lt,
        "=<" => Le,
        ">" => Gt,
        ">=" => Ge,
        "++" => Append,
        "--" => Subtract,
        _ => return None,
    })
}

/// The auto-imported BIFs of OTP 25 (`erl_internal:bif/2`): a local call
/// of one of these calls `erlang:Name/Arity`; any other local call is
/// `undef`.
pub fn is_auto_imported(name: &str, arity: usize) -> bool {
    const BIFS: &[(&str, &[usize])] = &[
        ("abs", &[1]), ("alias", &[0, 1]), ("apply", &[2, 3]), ("atom_to_binary", &[1, 2]),
        ("atom_to_list", &[1]), ("binary_part", &[2, 3]), ("binary_to_atom", &[1, 2]),
        ("binary_to_existing_atom", &[1, 2]), ("binary_to_float", &[1]),
        ("binary_to_integer", &[1, 2]), ("binary_to_list", &[1, 3]), ("binary_to_term", &[1, 2]),
        ("bit_size", &[1]), ("bitstring_to_list", &[1]), ("byte_size", &[1]), ("ceil", &[1]),
        ("check_old_code", &[1]), ("check_process_code", &[2, 3]), ("date", &[0]),
        ("delete_module", &[1]), ("demonitor", &[1, 2]), ("disconnect_node", &[1]),
        ("element", &[2]), ("erase", &[0, 1]), ("error", &[1, 2, 3]), ("exit", &[1, 2]),
        ("float", &[1]), ("float_to_binary", &[1, 2]), ("float_to_list", &[1, 2]),
        ("floor", &[1]), ("garbage_collect", &[0, 1, 2]), ("get", &[0, 1]), ("get_keys", &[0, 1]),
        ("group_leader", &[0, 2]), ("halt", &[0, 1, 2]), ("hd", &[1]),
        ("integer_to_binary", &[1, 2]), ("integer_to_list", &[1, 2]), ("iolist_size", &[1]),
        ("iolist_to_binary", &[1]), ("is_alive", &[0]), ("is_atom", &[1]), ("is_binary", &[1]),
        ("is_bitstring", &[1]), ("is_boolean", &[1]), ("is_float", &[1]),
        ("is_function", &[1, 2]), ("is_integer", &[1]), ("is_list", &[1]), ("is_map", &[1]),
        ("is_map_key", &[2]), ("is_number", &[1]), ("is_pid", &[1]), ("is_port", &[1]),
        ("is_process_alive", &[1]), ("is_record", &[2, 3]), ("is_reference", &[1]),
        ("is_tuple", &[1]), ("length", &[1]), ("link", &[1]), ("list_to_atom", &[1]),
        ("list_to_binary", &[1]), ("list_to_bitstring", &[1]), ("list_to_existing_atom", &[1]),
        ("list_to_float", &[1]), ("list_to_integer", &[1, 2]), ("list_to_pid", &[1]),
        ("list_to_port", &[1]), ("list_to_ref", &[1]), ("list_to_tuple", &[1]),
        ("load_module", &[2]), ("make_ref", &[0]), ("map_get", &[2]), ("map_size", &[1]),
        ("max", &[2]), ("min", &[2]), ("module_loaded", &[1]), ("monitor", &[2, 3]),
        ("monitor_node", &[2]), ("node", &[0, 1]), ("nodes", &[0, 1, 2]), ("now", &[0]),
        ("open_port", &[2]), ("pid_to_list", &[1]), ("port_close", &[1]),
        ("port_command", &[2, 3]), ("port_connect", &[2]), ("port_control", &[3]),
        ("port_to_list", &[1]), ("pre_loaded", &[0]), ("process_flag", &[2, 3]),
        ("process_info", &[1, 2]), ("processes", &[0]), ("purge_module", &[1]), ("put", &[2]),
        ("ref_to_list", &[1]), ("register", &[2]), ("registered", &[0]), ("round", &[1]),
        ("self", &[0]), ("setelement", &[3]), ("size", &[1]), ("spawn", &[1, 2, 3, 4]),
        ("spawn_link", &[1, 2, 3, 4]), ("spawn_monitor", &[1, 2, 3, 4]),
        ("spawn_opt", &[2, 3, 4, 5]), ("spawn_request", &[1, 2, 3, 4, 5]),
        ("spawn_request_abandon", &[1]), ("split_binary", &[2]), ("statistics", &[1]),
        ("term_to_binary", &[1, 2]), ("term_to_iovec", &[1, 2]), ("throw", &[1]), ("time", &[0]),
        ("tl", &[1]), ("trunc", &[1]), ("tuple_size", &[1]), ("tuple_to_list", &[1]),
        ("unalias", &[1]), ("unlink", &[1]), ("unregister", &[1]), ("whereis", &[1]),
    ];
    BIFS.iter().any(|(n, arities)| *n == name && arities.contains(&arity))
}

fn raise(class: &str, reason: &Term) -> R {
    Err(Exception { class: Atom::new(class), reason: reason.clone() })
}

fn list_to_atom(t: &Term, existing: bool) -> R {
    let s = string_arg(t).ok_or_else(badarg)?;
    new_atom(&s, existing)
}

/// The atom `name` for `list_to_atom/1` and friends: `system_limit` past
/// 255 characters or when the atom table is full, as in ERTS; for the
/// `*_to_existing_atom` BIFs, `badarg` when it does not exist yet.
fn new_atom(name: &str, existing: bool) -> R {
    if existing {
        return Atom::existing(name).map(Term::Atom).ok_or_else(badarg);
    }
    Atom::try_new(name).map(Term::Atom).map_err(|_| Exception::error(Term::atom("system_limit")))
}

/// `binary_to_term/2`: the options are a proper list of `safe` and
/// `used`; anything else is `badarg`, as in OTP 25.
fn binary_to_term_opts(b: &Term, opts: &Term) -> R {
    let b = binary_arg(b)?;
    let (mut safe, mut used) = (false, false);
    for o in list_items(opts).ok_or_else(badarg)? {
        match o {
            o if o.is_atom("safe") => safe = true,
            o if o.is_atom("used") => used = true,
            _ => return Err(badarg()),
        }
    }
    let (t, n) = ext::decode(b.as_slice(), safe).ok_or_else(badarg)?;
    Ok(if used { Term::tuple(vec![t, Term::Int(n as i64)]) } else { t })
}

fn binary_to_atom(t: &Term, enc: Option<&Term>, existing: bool) -> R {
    let b = match t {
        Term::Binary(b) => b,
        _ => return Err(badarg()),
    };
    let latin1 = match enc {
        None => false,
        Some(e) if e.is_atom("utf8") || e.is_atom("unicode") => false,
        Some(e) if e.is_atom("latin1") => true,
        Some(_) => return Err(badarg()),
    };
    let s: String = if latin1 {
        b.as_slice().iter().map(|&c| c as char).collect()
    } else {
        std::str::from_utf8(b.as_slice()).map_err(|_| badarg())?.to_string()
    };
    new_atom(&s, existing)
}

fn atom_to_binary(t: &Term, enc: Option<&Term>) -> R {
    let a = t.as_atom().ok_or_else(badarg)?;
    match enc {
        Some(e) if e.is_atom("latin1") => {
            let bytes: Option<Vec<u8>> = a.name().chars().map(|c| u8::try_from(c as u32).ok()).collect();
            Ok(Term::binary(&bytes.ok_or_else(badarg)?))
        }
        None => Ok(Term::binary(a.name().as_bytes())),
        Some(e) if e.is_atom("utf8") || e.is_atom("unicode") => Ok(Term::binary(a.name().as_bytes())),
        Some(_) => Err(badarg()),
    }
}

fn integer_to_string(t: &Term, base: Option<&Term>) -> Result<String, Exception> {
    let base = match base {
        None => 10,
        Some(b) => match int_arg(b) {
            Some(b @ 2..=36) => b as u32,
            _ => return Err(badarg()),
        },
    };
    let big = num::to_big(t).ok_or_else(badarg)?;
    if base == 10 {
        return Ok(big.value.to_string());
    }
    let neg = num::is_negative(t);
    let mut v = if neg { -&big.value } else { big.value.clone() };
    let zero = eetf::BigInteger::from(0u8).value;
    let b = eetf::BigInteger::from(base).value;
    let mut digits = Vec::new();
    while v > zero {
        let d = (&v % &b).to_string().parse::<u32>().expect("digit");
        digits.push(std::char::from_digit(d, base).expect("digit").to_ascii_uppercase());
        v = &v / &b;
    }
    if digits.is_empty() {
        digits.push('0');
    }
    if neg {
        digits.push('-');
    }
    Ok(digits.iter().rev().collect())
}

fn string_to_integer(s: &str, base: Option<&Term>) -> R {
    let base = match base {
        None => 10,
        Some(b) => match int_arg(b) {
            Some(b @ 2..=36) => b as u32,
            _ => return Err(badarg()),
        },
    };
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(base)) {
        return Err(badarg());
    }
    let mut v = eetf::BigInteger::from(0u8).value;
    let b = eetf::BigInteger::from(base).value;
    for c in digits.chars() {
        v = v * &b + eetf::BigInteger::from(c.to_digit(base).expect("digit")).value;
    }
    if neg {
        v = -v;
    }
    Ok(Term::from_big(eetf::BigInteger { value: v }))
}

fn iolist_bytes(t: &Term) -> Result<Vec<u8>, Exception> {
    t.iolist_to_bytes().ok_or_else(badarg)
}

fn binary_arg(t: &Term) -> Result<&crate::term::Bin, Exception> {
    match t {
        Term::Binary(b) => Ok(b),
        _ => Err(badarg()),
    }
}

/// The whole bytes of a binary or bitstring, for the BIFs that take a
/// bitstring but work on its bytes (`binary_part/3`, `binary:part/3`,
/// `binary_to_list/3`, `split_binary/2`: ERTS ignores the last 1..=7 bits).
fn whole_bytes_arg(t: &Term) -> Result<crate::term::Bin, Exception> {
    match t {
        Term::Binary(b) => Ok(b.clone()),
        Term::BitString(b, _) => Ok(b.sub(0, b.len() - 1)),
        _ => Err(badarg()),
    }
}

/// `bitstring_to_list/1`: the bytes as integers, then the last 1..=7 bits,
/// if any, as a bitstring element.
fn bitstring_to_list(t: &Term) -> R {
    match t {
        Term::Binary(b) => Ok(Term::byte_list(b.as_slice())),
        Term::BitString(b, bits) => {
            let n = b.len() - 1;
            let mut items: Vec<Term> = b.as_slice()[..n].iter().map(|&x| Term::Int(x as i64)).collect();
            items.push(Term::BitString(b.sub(n, 1), *bits));
            Ok(Term::List(items))
        }
        _ => Err(badarg()),
    }
}

/// Appends a bitstring list (an iolist in which bitstrings may stand where
/// binaries may) to `w`; `None` if `t` is not one.
fn push_bitstring_list(w: &mut BitWriter, t: &Term) -> Option<()> {
    let (items, tail) = match t {
        Term::List(v) => (v.as_slice(), None),
        Term::Improper(v, tail) => (v.as_slice(), Some(&**tail)),
        _ => return None,
    };
    for x in items {
        match x {
            Term::Int(i @ 0..=255) => w.push_bytes(&[*i as u8]),
            Term::List(_) | Term::Improper(..) => crate::term::grow_stack(|| push_bitstring_list(w, x))?,
            _ => {
                let (bytes, n) = x.as_bits()?;
                w.push_bits_of(bytes, n);
            }
        }
    }
    if let Some(tail) = tail {
        let (bytes, n) = tail.as_bits()?;
        w.push_bits_of(bytes, n);
    }
    Some(())
}

/// `list_to_bitstring/1`.
fn list_to_bitstring(t: &Term) -> R {
    let mut w = BitWriter::new();
    push_bitstring_list(&mut w, t).ok_or_else(badarg)?;
    let (bytes, n) = w.into_bits();
    Ok(Term::bitstring(&bytes, n))
}

/// `binary_part(Bin, Pos, Len)` with ERTS's rules (a negative length counts
/// back from `Pos`).
fn binary_part(b: &Term, pos: &Term, len: &Term) -> R {
    let bin = whole_bytes_arg(b)?;
    let (pos, len) = (int_arg(pos).ok_or_else(badarg)?, int_arg(len).ok_or_else(badarg)?);
    let (start, end) = if len >= 0 { (Some(pos), pos.checked_add(len)) } else { (pos.checked_add(len), Some(pos)) };
    let (start, end) = start.zip(end).ok_or_else(badarg)?;
    if start < 0 || end > bin.len() as i64 || start > end {
        return Err(badarg());
    }
    Ok(Term::Binary(bin.sub(start as usize, (end - start) as usize)))
}

fn flatten_into(t: &Term, out: &mut Vec<Term>) -> Result<(), Exception> {
    for x in list_items(t).ok_or_else(function_clause)? {
        match x {
            Term::List(_) => crate::term::grow_stack(|| flatten_into(x, out))?,
            Term::Improper(..) => return Err(function_clause()),
            _ => out.push(x.clone()),
        }
    }
    Ok(())
}

fn sort_terms(items: &mut [Term]) {
    items.sort_by(|a, b| compare(a, b, false));
}

fn float_round(t: &Term, f: fn(f64) -> f64) -> R {
    match t {
        Term::Float(x) => Ok(num::float_to_int(f(*x))),
        _ if is_integer(t) => Ok(t.clone()),
        _ => Err(badarg()),
    }
}

/// Calls `module:name(args)` if it is one of the pure functions; `None`
/// when it is not (the caller then asks the runtime).
pub fn call(module: &str, name: &str, args: &[Term]) -> Option<R> {
    Some(match module {
        "erlang" => erlang(name, args)?,
        "lists" => lists(name, args)?,
        "binary" => binary(name, args)?,
        _ => return None,
    })
}

fn erlang(name: &str, args: &[Term]) -> Option<R> {
    let a = args;
    let r = match (name, a.len()) {
        ("abs", 1) => num::abs(&a[0]).ok_or_else(badarg),
        ("atom_to_list", 1) => a[0].as_atom().map(|x| Term::string(x.name())).ok_or_else(badarg),
        ("atom_to_binary", 1) => atom_to_binary(&a[0], None),
        ("atom_to_binary", 2) => atom_to_binary(&a[0], Some(&a[1])),
        ("list_to_atom", 1) | ("list_to_existing_atom", 1) => list_to_atom(&a[0], name.contains("existing")),
        ("binary_to_atom", 1) | ("binary_to_existing_atom", 1) => binary_to_atom(&a[0], None, name.contains("existing")),
        ("binary_to_atom", 2) | ("binary_to_existing_atom", 2) => {
            binary_to_atom(&a[0], Some(&a[1]), name.contains("existing"))
        }
        ("binary_to_list", 1) => binary_arg(&a[0]).map(|b| Term::byte_list(b.as_slice())),
        ("bitstring_to_list", 1) => bitstring_to_list(&a[0]),
        ("binary_to_list", 3) => (|| {
            let b = whole_bytes_arg(&a[0])?;
            let (s, e) = (index_arg(&a[1]).ok_or_else(badarg)?, index_arg(&a[2]).ok_or_else(badarg)?);
            if s < 1 || s > e || e > b.len() {
                return Err(badarg());
            }
            Ok(Term::byte_list(&b.as_slice()[s - 1..e]))
        })(),
        ("binary_part", 2) => match &a[1] {
            Term::Tuple(pl) if pl.len() == 2 => binary_part(&a[0], &pl[0], &pl[1]),
            _ => Err(badarg()),
        },
        ("binary_part", 3) => binary_part(&a[0], &a[1], &a[2]),
        ("split_binary", 2) => (|| {
            let b = whole_bytes_arg(&a[0])?;
            let n = index_arg(&a[1]).filter(|&n| n <= b.len()).ok_or_else(badarg)?;
            let rest = match &a[0] {
                Term::BitString(all, bits) => Term::BitString(all.sub(n, all.len() - n), *bits),
                _ => Term::Binary(b.sub(n, b.len() - n)),
            };
            Ok(Term::tuple(vec![Term::Binary(b.sub(0, n)), rest]))
        })(),
        ("integer_to_list", 1) => integer_to_string(&a[0], None).map(|s| Term::string(&s)),
        ("integer_to_list", 2) => integer_to_string(&a[0], Some(&a[1])).map(|s| Term::string(&s)),
        ("integer_to_binary", 1) => integer_to_string(&a[0], None).map(|s| Term::binary(s.as_bytes())),
        ("integer_to_binary", 2) => {
            integer_to_string(&a[0], Some(&a[1])).map(|s| Term::binary(s.as_bytes()))
        }
        ("list_to_integer", 1 | 2) => match string_arg(&a[0]) {
            Some(s) => string_to_integer(&s, a.get(1)),
            None => Err(badarg()),
        },
        ("binary_to_integer", 1 | 2) => match &a[0] {
            Term::Binary(b) => match std::str::from_utf8(b.as_slice()) {
                Ok(s) => string_to_integer(s, a.get(1)),
                Err(_) => Err(badarg()),
            },
            _ => Err(badarg()),
        },
        ("bit_size", 1) => a[0].as_bits().map(|(_, n)| Term::Int(n as i64)).ok_or_else(badarg),
        ("byte_size", 1) => a[0].as_bits().map(|(_, n)| Term::Int(n.div_ceil(8) as i64)).ok_or_else(badarg),
        ("size", 1) => match &a[0] {
            Term::Binary(b) => Ok(Term::Int(b.len() as i64)),
            Term::BitString(b, _) => Ok(Term::Int(b.len() as i64 - 1)),
            Term::Tuple(t) => Ok(Term::Int(t.len() as i64)),
            _ => Err(badarg()),
        },
        ("tuple_size", 1) => match &a[0] {
            Term::Tuple(t) => Ok(Term::Int(t.len() as i64)),
            _ => Err(badarg()),
        },
        ("map_size", 1) => match &a[0] {
            Term::Map(m) => Ok(Term::Int(m.len() as i64)),
            _ => Err(Exception::error(Term::tuple(vec![Term::atom("badmap"), a[0].clone()]))),
        },
        ("is_map_key", 2) | ("map_get", 2) => match &a[1] {
            Term::Map(m) => {
                let found = m.iter().find(|(k, _)| *k == a[0]);
                if name == "is_map_key" {
                    Ok(boolean(found.is_some()))
                } else {
                    found
                        .map(|(_, v)| v.clone())
                        .ok_or_else(|| Exception::error(Term::tuple(vec![Term::atom("badkey"), a[0].clone()])))
                }
            }
            _ => Err(Exception::error(Term::tuple(vec![Term::atom("badmap"), a[1].clone()]))),
        },
        ("float", 1) => match &a[0] {
            Term::Float(_) => Ok(a[0].clone()),
            t if is_integer(t) => num::to_f64(t).map(Term::Float).ok_or_else(badarg),
            _ => Err(badarg()),
        },
        ("trunc", 1) => float_round(&a[0], f64::trunc),
        ("round", 1) => float_round(&a[0], f64::round),
        ("ceil", 1) => float_round(&a[0], f64::ceil),
        ("floor", 1) => float_round(&a[0], f64::floor),
        ("element", 2) => match (&a[0], &a[1]) {
            (Term::Int(i), Term::Tuple(t)) if *i >= 1 && (*i as usize) <= t.len() => Ok(t[*i as usize - 1].clone()),
            _ => Err(badarg()),
        },
        ("setelement", 3) => match (&a[0], &a[1]) {
            (Term::Int(i), Term::Tuple(t)) if *i >= 1 && (*i as usize) <= t.len() => {
                let mut t = t.clone();
                t[*i as usize - 1] = a[2].clone();
                Ok(Term::Tuple(t))
            }
            _ => Err(badarg()),
        },
        ("append_element", 2) => match &a[0] {
            Term::Tuple(t) => {
                let mut t = t.clone();
                t.push(a[1].clone());
                Ok(Term::Tuple(t))
            }
            _ => Err(badarg()),
        },
        ("make_tuple", 2) => match index_arg(&a[0]) {
            Some(n) if n < (1 << 24) => Ok(Term::Tuple(vec![a[1].clone(); n])),
            _ => Err(badarg()),
        },
        ("tuple_to_list", 1) => match &a[0] {
            Term::Tuple(t) => Ok(Term::List(t.clone())),
            _ => Err(badarg()),
        },
        ("list_to_tuple", 1) => list_items(&a[0]).map(|v| Term::Tuple(v.to_vec())).ok_or_else(badarg),
        ("hd", 1) => match &a[0] {
            Term::List(v) if !v.is_empty() => Ok(v[0].clone()),
            Term::Improper(v, _) => Ok(v[0].clone()),
            _ => Err(badarg()),
        },
        ("tl", 1) => match &a[0] {
            Term::List(v) if !v.is_empty() => Ok(Term::List(v[1..].to_vec())),
            Term::Improper(v, t) => Ok(make_list(v[1..].to_vec(), (**t).clone())),
            _ => Err(badarg()),
        },
        ("length", 1) => list_items(&a[0]).map(|v| Term::Int(v.len() as i64)).ok_or_else(badarg),
        ("iolist_size", 1) => a[0].iolist_size().map(|n| Term::Int(n as i64)).ok_or_else(badarg),
        ("list_to_bitstring", 1) => list_to_bitstring(&a[0]),
        ("iolist_to_binary", 1) | ("list_to_binary", 1) => {
            if name != "iolist_to_binary" && !matches!(a[0], Term::List(_) | Term::Improper(..)) {
                Err(badarg())
            } else {
                iolist_bytes(&a[0]).map(|b| Term::binary(&b))
            }
        }
        ("term_to_binary", 1) => Ok(Term::binary(&ext::term_to_binary(&a[0]))),
        ("binary_to_term", 1) => binary_arg(&a[0]).and_then(|b| ext::binary_to_term(b.as_slice()).ok_or_else(Exception::badarg)),
        ("binary_to_term", 2) => binary_to_term_opts(&a[0], &a[1]),
        ("max", 2) => Ok(if compare(&a[0], &a[1], false) == Ordering::Less { a[1].clone() } else { a[0].clone() }),
        ("min", 2) => Ok(if compare(&a[0], &a[1], false) == Ordering::Greater { a[1].clone() } else { a[0].clone() }),
        ("is_atom", 1) => Ok(boolean(matches!(a[0], Term::Atom(_)))),
        ("is_binary", 1) => Ok(boolean(matches!(a[0], Term::Binary(_)))),
        ("is_bitstring", 1) => Ok(boolean(matches!(a[0], Term::Binary(_) | Term::BitString(..)))),
        ("is_boolean", 1) => Ok(boolean(as_bool(&a[0]).is_some())),
        ("is_float", 1) => Ok(boolean(matches!(a[0], Term::Float(_)))),
        ("is_function", 1) => Ok(boolean(false)),
        ("is_function", 2) => match index_arg(&a[1]) {
            Some(_) => Ok(boolean(false)),
            None => Err(badarg()),
        },
        ("is_integer", 1) => Ok(boolean(is_integer(&a[0]))),
        ("is_list", 1) => Ok(boolean(matches!(a[0], Term::List(_) | Term::Improper(..)))),
        ("is_map", 1) => Ok(boolean(matches!(a[0], Term::Map(_)))),
        ("is_number", 1) => Ok(boolean(is_number(&a[0]))),
        ("is_pid", 1) => Ok(boolean(matches!(a[0], Term::Pid(_)))),
        ("is_port", 1) => Ok(boolean(matches!(a[0], Term::Port(_)))),
        ("is_reference", 1) => Ok(boolean(matches!(a[0], Term::Ref(_)))),
        ("is_tuple", 1) => Ok(boolean(matches!(a[0], Term::Tuple(_)))),
        ("is_record", 2) => match (&a[0], &a[1]) {
            (Term::Tuple(t), Term::Atom(tag)) => Ok(boolean(t.first().and_then(Term::as_atom) == Some(*tag))),
            (_, Term::Atom(_)) => Ok(boolean(false)),
            _ => Err(badarg()),
        },
        ("node", 0) => Ok(Term::atom("nonode@nohost")),
        ("node", 1) => match a[0] {
            Term::Pid(_) | Term::Port(_) | Term::Ref(_) => Ok(Term::atom("nonode@nohost")),
            _ => Err(badarg()),
        },
        ("error", 1) | ("error", 2) | ("error", 3) => raise("error", &a[0]),
        ("exit", 1) => raise("exit", &a[0]),
        ("throw", 1) => raise("throw", &a[0]),
        ("not", 1) => as_bool(&a[0]).map(|b| boolean(!b)).ok_or_else(badarg),
        ("-", 1) => num::neg(&a[0]),
        ("+", 1) => {
            if is_number(&a[0]) {
                Ok(a[0].clone())
            } else {
                Err(badarith())
            }
        }
        ("bnot", 1) => num::bnot(&a[0]),
        (op, 2) => binop(binop_by_name(op)?, &a[0], &a[1]),
        _ => return None,
    };
    Some(r)
}

fn lists(name: &str, a: &[Term]) -> Option<R> {
    let r = match (name, a.len()) {
        ("reverse", 1) => match list_items(&a[0]) {
            Some(v) => Ok(Term::List(v.iter().rev().cloned().collect())),
            None => Err(function_clause()),
        },
        ("reverse", 2) => match list_items(&a[0]) {
            Some(v) => Ok(make_list(v.iter().rev().cloned().collect(), a[1].clone())),
            None => Err(badarg()),
        },
        ("seq", 2) => match (int_arg(&a[0]), int_arg(&a[1])) {
            (Some(from), Some(to)) if from as i128 - 1 <= to as i128 => {
                if to as i128 - from as i128 > 1 << 26 {
                    Err(Exception::error(Term::atom("system_limit")))
                } else {
                    Ok(Term::List((from..=to).map(Term::Int).collect()))
                }
            }
            _ => Err(function_clause()),
        },
        ("seq", 3) => match (int_arg(&a[0]), int_arg(&a[1]), int_arg(&a[2])) {
            (Some(from), Some(to), Some(step)) => {
                // In i128: no overflow over the whole 64-bit range.
                let (from, to, step) = (from as i128, to as i128, step as i128);
                if (step > 0 && from - step <= to) || (step < 0 && from - step >= to) {
                    let n = (to - from) / step + 1;
                    if n > 1 << 26 {
                        Err(Exception::error(Term::atom("system_limit")))
                    } else {
                        Ok(Term::List((0..n).map(|i| Term::int(from + i * step)).collect()))
                    }
                } else if step == 0 && from == to {
                    Ok(Term::List(vec![Term::int(from)]))
                } else {
                    Err(badarg())
                }
            }
            _ => Err(function_clause()),
        },
        ("nth", 2) => match (index_arg(&a[0]), list_items(&a[1])) {
            (Some(n), Some(v)) if n >= 1 && n <= v.len() => Ok(v[n - 1].clone()),
            _ => Err(function_clause()),
        },
        ("nthtail", 2) => match (index_arg(&a[0]), list_items(&a[1])) {
            (Some(n), Some(v)) if n <= v.len() => Ok(Term::List(v[n..].to_vec())),
            _ => Err(function_clause()),
        },
        ("last", 1) => match list_items(&a[0]) {
            Some(v) if !v.is_empty() => Ok(v[v.len() - 1].clone()),
            _ => Err(function_clause()),
        },
        ("duplicate", 2) => match index_arg(&a[0]) {
            Some(n) if n < 1 << 26 => Ok(Term::List(vec![a[1].clone(); n])),
            // ERTS runs out of memory making it.
            Some(_) => Err(Exception::error(Term::atom("system_limit"))),
            _ => Err(function_clause()),
        },
        ("flatten", 1) => {
            let mut out = Vec::new();
            flatten_into(&a[0], &mut out).map(|_| Term::List(out))
        }
        ("flatten", 2) => {
            let mut out = Vec::new();
            match flatten_into(&a[0], &mut out) {
                Ok(()) => Ok(make_list(out, a[1].clone())),
                Err(e) => Err(e),
            }
        }
        ("sum", 1) => match list_items(&a[0]) {
            Some(v) => v.iter().try_fold(Term::Int(0), |acc, x| num::arith(b'+', &acc, x)),
            None => Err(function_clause()),
        },
        ("append", 1) => match list_items(&a[0]) {
            Some(v) => v.iter().rev().try_fold(Term::nil(), |acc, x| append(x, &acc)),
            None => Err(function_clause()),
        },
        ("append", 2) => append(&a[0], &a[1]),
        ("member", 2) => match list_items(&a[1]) {
            Some(v) => Ok(boolean(v.contains(&a[0]))),
            None => Err(badarg()),
        },
        ("delete", 2) => match list_items(&a[1]) {
            Some(v) => {
                let mut v = v.to_vec();
                if let Some(i) = v.iter().position(|x| *x == a[0]) {
                    v.remove(i);
                }
                Ok(Term::List(v))
            }
            None => Err(function_clause()),
        },
        ("keyfind", 3) | ("keymember", 3) => match (index_arg(&a[1]), list_items(&a[2])) {
            (Some(n), Some(v)) if n >= 1 => {
                let found = v.iter().find(|t| matches!(t, Term::Tuple(e) if e.len() >= n && compare(&e[n - 1], &a[0], false) == Ordering::Equal));
                if name == "keymember" {
                    Ok(boolean(found.is_some()))
                } else {
                    Ok(found.cloned().unwrap_or_else(|| boolean(false)))
                }
            }
            _ => Err(badarg()),
        },
        ("sort", 1) => match list_items(&a[0]) {
            Some(v) => {
                let mut v = v.to_vec();
                sort_terms(&mut v);
                Ok(Term::List(v))
            }
            None => Err(function_clause()),
        },
        ("usort", 1) => match list_items(&a[0]) {
            Some(v) => {
                let mut v = v.to_vec();
                sort_terms(&mut v);
                v.dedup_by(|x, y| compare(x, y, false) == Ordering::Equal);
                Ok(Term::List(v))
            }
            None => Err(function_clause()),
        },
        ("max", 1) | ("min", 1) => match list_items(&a[0]) {
            Some(v) if !v.is_empty() => {
                let want = if name == "max" { Ordering::Less } else { Ordering::Greater };
                let mut best = &v[0];
                for x in &v[1..] {
                    if compare(best, x, false) == want {
                        best = x;
                    }
                }
                Ok(best.clone())
            }
            _ => Err(function_clause()),
        },
        ("sublist", 2) => match (list_items(&a[0]), index_arg(&a[1])) {
            (Some(v), Some(n)) => Ok(Term::List(v[..n.min(v.len())].to_vec())),
            _ => Err(function_clause()),
        },
        ("sublist", 3) => match (list_items(&a[0]), index_arg(&a[1]), index_arg(&a[2])) {
            (Some(v), Some(s), Some(n)) if s >= 1 && s <= v.len() + 1 => {
                let end = (s - 1 + n).min(v.len());
                Ok(Term::List(v[s - 1..end].to_vec()))
            }
            _ => Err(function_clause()),
        },
        ("split", 2) => match (index_arg(&a[0]), list_items(&a[1])) {
            (Some(n), Some(v)) if n <= v.len() => {
                Ok(Term::tuple(vec![Term::List(v[..n].to_vec()), Term::List(v[n..].to_vec())]))
            }
            _ => Err(badarg()),
        },
        ("zip", 2) => match (list_items(&a[0]), list_items(&a[1])) {
            (Some(x), Some(y)) if x.len() == y.len() => Ok(Term::List(
                x.iter().zip(y).map(|(p, q)| Term::tuple(vec![p.clone(), q.clone()])).collect(),
            )),
            _ => Err(function_clause()),
        },
        _ => return None,
    };
    Some(r)
}

fn binary(name: &str, a: &[Term]) -> Option<R> {
    let r = match (name, a.len()) {
        ("copy", 1) => binary_arg(&a[0]).map(|b| Term::binary(b.as_slice())),
        ("copy", 2) => (|| {
            let b = binary_arg(&a[0])?;
            let n = index_arg(&a[1]).ok_or_else(badarg)?;
            if b.len().saturating_mul(n) > 1 << 32 {
                // ERTS tries, and aborts when it cannot allocate.
                return Err(Exception::error(Term::atom("system_limit")));
            }
            Ok(Term::binary(&b.as_slice().repeat(n)))
        })(),
        ("part", 3) => binary_part(&a[0], &a[1], &a[2]),
        ("part", 2) => match &a[1] {
            Term::Tuple(pl) if pl.len() == 2 => binary_part(&a[0], &pl[0], &pl[1]),
            _ => Err(badarg()),
        },
        ("at", 2) => (|| {
            let b = binary_arg(&a[0])?;
            let i = index_arg(&a[1]).filter(|&i| i < b.len()).ok_or_else(badarg)?;
            Ok(Term::Int(b.as_slice()[i] as i64))
        })(),
        ("first", 1) => binary_arg(&a[0])
            .and_then(|b| b.as_slice().first().map(|&x| Term::Int(x as i64)).ok_or_else(badarg)),
        ("last", 1) => binary_arg(&a[0])
            .and_then(|b| b.as_slice().last().map(|&x| Term::Int(x as i64)).ok_or_else(badarg)),
        ("bin_to_list", 1) => binary_arg(&a[0]).map(|b| Term::byte_list(b.as_slice())),
        ("list_to_bin", 1) => iolist_bytes(&a[0]).map(|b| Term::binary(&b)),
        _ => return None,
    };
    Some(r)
}
