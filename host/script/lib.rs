//! The standard-library subset a driver test uses, beyond the BIFs of
//! [`super::bifs`]: more of `lists` (those that take funs too), `maps`,
//! `proplists`, `string` and `binary`, with the results and the error
//! reasons OTP 25 gives (each checked under `erlrun.escript`): BIFs raise
//! `badarg`, functions written in Erlang raise what their clauses give
//! (`function_clause`, `{case_clause, V}` when a predicate answers a
//! non-boolean, `{badmap, M}`, `{badkey, K}`).
//!
//! Funs are called back through [`Apply`], which the evaluator supplies.

use std::cmp::Ordering;

use super::bifs::{append, list_items, make_list};
use super::Exception;
use crate::term::order::compare;
use crate::term::{Fun, Term};

type R = Result<Term, Exception>;

/// The longest list or string these functions build from a count
/// argument (`string:pad/3`, `string:left/2`...): beyond it, the error
/// the function gives for a bad count, rather than gigabytes.
const MAX_BUILD: usize = 1 << 26;

/// Calls a fun with arguments (the evaluator's `apply_fun`).
pub(crate) type Apply<'a> = dyn FnMut(&Fun, Vec<Term>) -> R + 'a;

fn badarg() -> Exception {
    Exception::badarg()
}

fn function_clause() -> Exception {
    Exception::error(Term::atom("function_clause"))
}

fn err2(tag: &str, v: Term) -> Exception {
    Exception::error(Term::tuple(vec![Term::atom(tag), v]))
}

fn boolean(b: bool) -> Term {
    Term::atom(if b { "true" } else { "false" })
}

fn ok_tuple(v: Term) -> Term {
    Term::tuple(vec![Term::atom("ok"), v])
}

/// The fun in `t` if it takes `arity` arguments.
fn fun_of(t: &Term, arity: usize) -> Option<&Fun> {
    match t {
        Term::Fun(f) if f.arity() == arity => Some(f),
        _ => None,
    }
}

/// A predicate's answer: `{case_clause, V}` for a non-boolean.
fn truth(v: Term) -> Result<bool, Exception> {
    match v {
        v if v.is_atom("true") => Ok(true),
        v if v.is_atom("false") => Ok(false),
        v => Err(err2("case_clause", v)),
    }
}

/// A key position: an integer from 1.
fn key_pos(t: &Term) -> Option<usize> {
    t.as_int().filter(|&n| n >= 1).and_then(|n| usize::try_from(n).ok())
}

/// The `N`th element of a tuple that has one.
fn key_of(t: &Term, n: usize) -> Option<&Term> {
    match t {
        Term::Tuple(e) if e.len() >= n => Some(&e[n - 1]),
        _ => None,
    }
}

fn key_eq(t: &Term, n: usize, key: &Term) -> bool {
    key_of(t, n).is_some_and(|k| compare(k, key, false) == Ordering::Equal)
}

/// A stable merge sort by `le` ("a comes first or ties"), bottom-up, so
/// that it needs no recursion.
fn merge_sort(items: Vec<Term>, le: &mut dyn FnMut(&Term, &Term) -> Result<bool, Exception>) -> Result<Vec<Term>, Exception> {
    let mut runs: Vec<Vec<Term>> = items.into_iter().map(|x| vec![x]).collect();
    while runs.len() > 1 {
        let mut next = Vec::with_capacity(runs.len().div_ceil(2));
        let mut it = runs.into_iter();
        while let Some(a) = it.next() {
            match it.next() {
                None => next.push(a),
                Some(b) => {
                    let mut out = Vec::with_capacity(a.len() + b.len());
                    let (mut a, mut b) = (a.into_iter().peekable(), b.into_iter().peekable());
                    loop {
                        match (a.peek(), b.peek()) {
                            (Some(x), Some(y)) => {
                                if le(x, y)? {
                                    out.extend(a.next());
                                } else {
                                    out.extend(b.next());
                                }
                            }
                            (Some(_), None) => out.extend(a.by_ref()),
                            (None, Some(_)) => out.extend(b.by_ref()),
                            (None, None) => break,
                        }
                    }
                    next.push(out);
                }
            }
        }
        runs = next;
    }
    Ok(runs.pop().unwrap_or_default())
}

/// Calls `module:name(args)` if it is one of the functions here; `None`
/// otherwise.
pub(crate) fn call(module: &str, name: &str, args: &[Term], apply: &mut Apply<'_>) -> Option<R> {
    match module {
        "lists" => lists(name, args, apply),
        "maps" => maps(name, args, apply),
        "proplists" => proplists(name, args),
        "string" => string(name, args),
        "binary" => binary(name, args),
        "timer" => timer_tc(name, args, apply),
        _ => None,
    }
}

fn lists(name: &str, a: &[Term], apply: &mut Apply<'_>) -> Option<R> {
    let items = |t: &Term| list_items(t).map(<[Term]>::to_vec).ok_or_else(function_clause);
    let r = match (name, a) {
        ("keysort" | "ukeysort", [n, l]) => (|| {
            let n = key_pos(n).ok_or_else(function_clause)?;
            let v = list_items(l).ok_or_else(|| err2("case_clause", l.clone()))?.to_vec();
            if v.len() <= 1 {
                return Ok(Term::List(v));
            }
            if v.iter().any(|t| key_of(t, n).is_none()) {
                return Err(badarg());
            }
            let mut v = v;
            v.sort_by(|x, y| compare(key_of(x, n).expect("checked"), key_of(y, n).expect("checked"), false));
            if name == "ukeysort" {
                v.dedup_by(|x, y| compare(key_of(x, n).expect("checked"), key_of(y, n).expect("checked"), false).is_eq());
            }
            Ok(Term::List(v))
        })(),
        ("keydelete" | "keytake", [k, n, l]) => (|| {
            let n = key_pos(n).ok_or_else(function_clause)?;
            let mut v = items(l)?;
            match v.iter().position(|t| key_eq(t, n, k)) {
                Some(i) => {
                    let found = v.remove(i);
                    Ok(if name == "keytake" {
                        Term::tuple(vec![Term::atom("value"), found, Term::List(v)])
                    } else {
                        Term::List(v)
                    })
                }
                None => Ok(if name == "keytake" { boolean(false) } else { Term::List(v) }),
            }
        })(),
        ("keystore" | "keyreplace", [k, n, l, new]) => (|| {
            let n = key_pos(n).ok_or_else(function_clause)?;
            let mut v = items(l)?;
            if !matches!(new, Term::Tuple(_)) {
                return Err(function_clause());
            }
            match v.iter().position(|t| key_eq(t, n, k)) {
                Some(i) => v[i] = new.clone(),
                None if name == "keystore" => v.push(new.clone()),
                None => {}
            }
            Ok(Term::List(v))
        })(),
        ("sublist", [l, s, n]) => (|| {
            let v = items(l)?;
            let s = key_pos(s).ok_or_else(function_clause)?;
            let n = n.as_int().filter(|&n| n >= 0).ok_or_else(function_clause)? as usize;
            let start = (s - 1).min(v.len());
            Ok(Term::List(v[start..(start.saturating_add(n)).min(v.len())].to_vec()))
        })(),
        ("unzip", [l]) => (|| {
            let (mut xs, mut ys) = (Vec::new(), Vec::new());
            for t in items(l)? {
                match t.into_tuple() {
                    Ok(mut e) if e.len() == 2 => {
                        ys.extend(e.pop());
                        xs.extend(e.pop());
                    }
                    _ => return Err(function_clause()),
                }
            }
            Ok(Term::tuple(vec![Term::List(xs), Term::List(ys)]))
        })(),
        ("unzip3", [l]) => (|| {
            let mut out = [Vec::new(), Vec::new(), Vec::new()];
            for t in items(l)? {
                match t.into_tuple() {
                    Ok(e) if e.len() == 3 => {
                        for (o, x) in out.iter_mut().zip(e) {
                            o.push(x);
                        }
                    }
                    _ => return Err(function_clause()),
                }
            }
            Ok(Term::Tuple(out.into_iter().map(Term::List).collect()))
        })(),
        ("zip3", [x, y, z]) => match (list_items(x), list_items(y), list_items(z)) {
            (Some(x), Some(y), Some(z)) if x.len() == y.len() && y.len() == z.len() => Ok(Term::List(
                x.iter().zip(y).zip(z).map(|((p, q), r)| Term::tuple(vec![p.clone(), q.clone(), r.clone()])).collect(),
            )),
            _ => Err(function_clause()),
        },
        ("zipwith", [f, x, y]) => (|| {
            let f = fun_of(f, 2).ok_or_else(function_clause)?;
            match (list_items(x), list_items(y)) {
                (Some(x), Some(y)) if x.len() == y.len() => {
                    let mut out = Vec::with_capacity(x.len());
                    for (p, q) in x.iter().zip(y) {
                        out.push(apply(f, vec![p.clone(), q.clone()])?);
                    }
                    Ok(Term::List(out))
                }
                _ => Err(function_clause()),
            }
        })(),
        ("partition" | "splitwith", [f, l]) => (|| {
            let f = fun_of(f, 1).ok_or_else(function_clause)?;
            let v = items(l)?;
            let (mut yes, mut no) = (Vec::new(), Vec::new());
            if name == "partition" {
                for x in v {
                    if truth(apply(f, vec![x.clone()])?)? {
                        yes.push(x);
                    } else {
                        no.push(x);
                    }
                }
            } else {
                let mut it = v.into_iter();
                for x in it.by_ref() {
                    if truth(apply(f, vec![x.clone()])?)? {
                        yes.push(x);
                    } else {
                        no.push(x);
                        break;
                    }
                }
                no.extend(it);
            }
            Ok(Term::tuple(vec![Term::List(yes), Term::List(no)]))
        })(),
        ("takewhile" | "dropwhile", [f, l]) => (|| {
            let f = fun_of(f, 1).ok_or_else(function_clause)?;
            let v = items(l)?;
            let mut i = 0;
            while i < v.len() && truth(apply(f, vec![v[i].clone()])?)? {
                i += 1;
            }
            Ok(Term::List(if name == "takewhile" { v[..i].to_vec() } else { v[i..].to_vec() }))
        })(),
        ("mapfoldl" | "mapfoldr", [f, acc, l]) => (|| {
            let f = fun_of(f, 2).ok_or_else(function_clause)?;
            let mut v = items(l)?;
            if name == "mapfoldr" {
                v.reverse();
            }
            let mut acc = acc.clone();
            let mut out = Vec::with_capacity(v.len());
            for x in v {
                match apply(f, vec![x, acc])?.into_tuple() {
                    Ok(mut p) if p.len() == 2 => {
                        let (Some(a), Some(y)) = (p.pop(), p.pop()) else { unreachable!("a pair") };
                        acc = a;
                        out.push(y);
                    }
                    Ok(p) => return Err(err2("badmatch", Term::Tuple(p))),
                    Err(other) => return Err(err2("badmatch", other)),
                }
            }
            if name == "mapfoldr" {
                out.reverse();
            }
            Ok(Term::tuple(vec![Term::List(out), acc]))
        })(),
        ("filtermap", [f, l]) => (|| {
            let f = fun_of(f, 1).ok_or_else(function_clause)?;
            let mut out = Vec::new();
            for x in items(l)? {
                match apply(f, vec![x.clone()])? {
                    v if v.is_atom("true") => out.push(x),
                    v if v.is_atom("false") => {}
                    Term::Tuple(ref p) if p.len() == 2 && p[0].is_atom("true") => out.push(p[1].clone()),
                    v => return Err(err2("case_clause", v)),
                }
            }
            Ok(Term::List(out))
        })(),
        ("flatmap", [f, l]) => (|| {
            let f = fun_of(f, 1).ok_or_else(function_clause)?;
            let mut acc = Vec::new();
            for x in items(l)? {
                acc.push(apply(f, vec![x])?);
            }
            acc.into_iter().rev().try_fold(Term::nil(), |tail, x| append(&x, &tail))
        })(),
        ("search", [f, l]) => (|| {
            let f = fun_of(f, 1).ok_or_else(function_clause)?;
            for x in items(l)? {
                if truth(apply(f, vec![x.clone()])?)? {
                    return Ok(Term::tuple(vec![Term::atom("value"), x]));
                }
            }
            Ok(boolean(false))
        })(),
        ("sort" | "usort", [f, l]) if matches!(f, Term::Fun(_)) => (|| {
            let f = fun_of(f, 2).ok_or_else(function_clause)?;
            let v = items(l)?;
            let mut le = |x: &Term, y: &Term| truth(apply(f, vec![x.clone(), y.clone()])?);
            let mut sorted = merge_sort(v, &mut le)?;
            if name == "usort" {
                let mut out: Vec<Term> = Vec::with_capacity(sorted.len());
                for x in sorted.drain(..) {
                    match out.last() {
                        Some(prev) if le(prev, &x)? && le(&x, prev)? => {}
                        _ => out.push(x),
                    }
                }
                sorted = out;
            }
            Ok(Term::List(sorted))
        })(),
        ("concat", [l]) => (|| {
            let mut s = String::new();
            for x in items(l)? {
                match &x {
                    Term::Atom(at) => s.push_str(at.name()),
                    Term::Int(_) | Term::BigInt(_) => s.push_str(&x.to_string()),
                    Term::Float(f) => s.push_str(&float_to_list(*f)),
                    Term::List(_) => {
                        let chars = list_items(&x).expect("list").iter().map(|c| c.as_int().and_then(|c| char::from_u32(c as u32)));
                        for c in chars {
                            s.push(c.ok_or_else(function_clause)?);
                        }
                    }
                    _ => return Err(function_clause()),
                }
            }
            Ok(Term::string(&s))
        })(),
        ("join", [sep, l]) => (|| {
            let v = items(l)?;
            let mut out = Vec::with_capacity(v.len() * 2);
            for (i, x) in v.into_iter().enumerate() {
                if i > 0 {
                    out.push(sep.clone());
                }
                out.push(x);
            }
            Ok(Term::List(out))
        })(),
        ("subtract", [x, y]) => super::bifs::subtract(x, y),
        ("uniq", [l]) => (|| {
            let mut out: Vec<Term> = Vec::new();
            for x in items(l)? {
                if !out.contains(&x) {
                    out.push(x);
                }
            }
            Ok(Term::List(out))
        })(),
        ("enumerate", [l]) => items(l).map(|v| Term::List(v.into_iter().enumerate().map(|(i, x)| Term::tuple(vec![Term::Int(i as i64 + 1), x])).collect())),
        ("enumerate", [Term::Int(s), l]) => {
            items(l).map(|v| Term::List(v.into_iter().enumerate().map(|(i, x)| Term::tuple(vec![Term::Int(i as i64 + s), x])).collect()))
        }
        ("prefix" | "suffix", [p, l]) => match (list_items(p), list_items(l)) {
            (Some(p), Some(l)) => Ok(boolean(if name == "prefix" { l.starts_with(p) } else { l.ends_with(p) })),
            _ => Err(function_clause()),
        },
        _ => return None,
    };
    Some(r)
}

/// `timer:tc/1,2,3`: `{Microseconds, Value}`.
fn timer_tc(name: &str, a: &[Term], apply: &mut Apply<'_>) -> Option<R> {
    let (fun, args) = match (name, a) {
        ("tc", [Term::Fun(f)]) => (f.clone(), Vec::new()),
        ("tc", [Term::Fun(f), l]) => (f.clone(), list_items(l)?.to_vec()),
        ("tc", [Term::Atom(m), Term::Atom(f), l]) => {
            let arity = u32::try_from(list_items(l)?.len()).ok()?;
            (Fun::External { module: *m, function: *f, arity }, list_items(l)?.to_vec())
        }
        _ => return None,
    };
    let start = std::time::Instant::now();
    Some(apply(&fun, args).map(|v| Term::tuple(vec![Term::Int(start.elapsed().as_micros() as i64), v])))
}

/// `float_to_list/1`: 20 digits in scientific notation, a two-digit
/// exponent at least (`2.50000000000000000000e+00`).
fn float_to_list(f: f64) -> String {
    let s = format!("{f:.20e}");
    let (m, e) = s.split_once('e').expect("exponent");
    let e: i32 = e.parse().expect("exponent");
    format!("{m}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs())
}

fn map_arg(t: &Term) -> Result<&Vec<(Term, Term)>, Exception> {
    match t {
        Term::Map(kv) => Ok(kv),
        t => Err(err2("badmap", t.clone())),
    }
}

fn map_get<'a>(m: &'a [(Term, Term)], k: &Term) -> Option<&'a Term> {
    m.iter().find(|(x, _)| x == k).map(|(_, v)| v)
}

fn maps(name: &str, a: &[Term], apply: &mut Apply<'_>) -> Option<R> {
    let r = match (name, a) {
        ("new", []) => Ok(Term::Map(Vec::new())),
        ("get", [k, m]) => map_arg(m).and_then(|m| map_get(m, k).cloned().ok_or_else(|| err2("badkey", k.clone()))),
        ("get", [k, m, d]) => map_arg(m).map(|m| map_get(m, k).cloned().unwrap_or_else(|| d.clone())),
        ("find", [k, m]) => map_arg(m).map(|m| map_get(m, k).map(|v| ok_tuple(v.clone())).unwrap_or_else(|| Term::atom("error"))),
        ("is_key", [k, m]) => map_arg(m).map(|m| boolean(map_get(m, k).is_some())),
        ("put", [k, v, m]) => map_arg(m).map(|m| {
            let mut kv = m.clone();
            kv.push((k.clone(), v.clone()));
            Term::map(kv)
        }),
        ("update", [k, v, m]) => map_arg(m).and_then(|m| {
            if map_get(m, k).is_none() {
                return Err(err2("badkey", k.clone()));
            }
            Ok(Term::Map(m.iter().map(|(x, y)| (x.clone(), if x == k { v.clone() } else { y.clone() })).collect()))
        }),
        ("remove", [k, m]) => map_arg(m).map(|m| Term::Map(m.iter().filter(|(x, _)| x != k).cloned().collect())),
        ("take", [k, m]) => map_arg(m).map(|m| match map_get(m, k) {
            Some(v) => Term::tuple(vec![v.clone(), Term::Map(m.iter().filter(|(x, _)| x != k).cloned().collect())]),
            None => Term::atom("error"),
        }),
        ("keys", [m]) => map_arg(m).map(|m| Term::List(m.iter().map(|(k, _)| k.clone()).collect())),
        ("values", [m]) => map_arg(m).map(|m| Term::List(m.iter().map(|(_, v)| v.clone()).collect())),
        ("to_list", [m]) => map_arg(m).map(|m| Term::List(m.iter().map(|(k, v)| Term::tuple(vec![k.clone(), v.clone()])).collect())),
        ("size", [m]) => map_arg(m).map(|m| Term::Int(m.len() as i64)),
        ("from_list", [l]) => (|| {
            let mut kv = Vec::new();
            for p in list_items(l).ok_or_else(badarg)? {
                match p {
                    Term::Tuple(e) if e.len() == 2 => kv.push((e[0].clone(), e[1].clone())),
                    _ => return Err(badarg()),
                }
            }
            Ok(Term::map(kv))
        })(),
        ("merge", [x, y]) => map_arg(x).and_then(|x| {
            let y = map_arg(y)?;
            let mut kv = x.clone();
            kv.extend(y.iter().cloned());
            Ok(Term::map(kv))
        }),
        ("with" | "without", [ks, m]) => (|| {
            let m = map_arg(m)?;
            let ks = list_items(ks).ok_or_else(badarg)?;
            let keep = name == "with";
            Ok(Term::Map(m.iter().filter(|(k, _)| ks.contains(k) == keep).cloned().collect()))
        })(),
        ("fold", [f, acc, m]) => (|| {
            let m = map_arg(m)?;
            let f = fun_of(f, 3).ok_or_else(badarg)?;
            let mut acc = acc.clone();
            for (k, v) in m.clone() {
                acc = apply(f, vec![k, v, acc])?;
            }
            Ok(acc)
        })(),
        ("map" | "filter" | "foreach", [f, m]) => (|| {
            let m = map_arg(m)?;
            let f = fun_of(f, 2).ok_or_else(badarg)?;
            let mut out = Vec::with_capacity(m.len());
            for (k, v) in m.clone() {
                let r = apply(f, vec![k.clone(), v.clone()])?;
                match name {
                    "map" => out.push((k, r)),
                    "filter" if truth(r)? => out.push((k, v)),
                    _ => {}
                }
            }
            Ok(if name == "foreach" { Term::atom("ok") } else { Term::Map(out) })
        })(),
        ("update_with", [k, f, m]) | ("update_with", [k, f, _, m]) => (|| {
            let mm = map_arg(m)?;
            let f = fun_of(f, 1).ok_or_else(badarg)?;
            match map_get(mm, k) {
                Some(v) => {
                    let nv = apply(f, vec![v.clone()])?;
                    Ok(Term::Map(mm.iter().map(|(x, y)| (x.clone(), if x == k { nv.clone() } else { y.clone() })).collect()))
                }
                None if a.len() == 4 => {
                    let mut kv = mm.clone();
                    kv.push((k.clone(), a[2].clone()));
                    Ok(Term::map(kv))
                }
                None => Err(err2("badkey", k.clone())),
            }
        })(),
        _ => return None,
    };
    Some(r)
}

/// The entries of a property list that match `key` (`=:=`): the value of
/// `{Key, Value}`, `true` for the atom `Key`; a tuple of another size
/// matches too (`lookup` returns it, `get_value` gives `undefined`).
fn prop_entry<'a>(key: &Term, e: &'a Term) -> Option<&'a Term> {
    match e {
        Term::Atom(_) if e == key => Some(e),
        Term::Tuple(t) if !t.is_empty() && t[0] == *key => Some(e),
        _ => None,
    }
}

fn proplists(name: &str, a: &[Term]) -> Option<R> {
    fn items(t: &Term) -> Result<&[Term], Exception> {
        list_items(t).ok_or_else(function_clause)
    }
    let value = |e: &Term| match e {
        Term::Atom(_) => Term::atom("true"),
        Term::Tuple(t) if t.len() == 2 => t[1].clone(),
        _ => Term::atom("undefined"),
    };
    let r = match (name, a) {
        ("get_value", [k, l]) | ("get_value", [k, l, _]) => items(l).map(|v| match v.iter().find_map(|e| prop_entry(k, e)) {
            Some(e) => value(e),
            None => a.get(2).cloned().unwrap_or_else(|| Term::atom("undefined")),
        }),
        ("lookup", [k, l]) => items(l).map(|v| match v.iter().find_map(|e| prop_entry(k, e)) {
            Some(e @ Term::Atom(_)) => Term::tuple(vec![e.clone(), Term::atom("true")]),
            Some(e) => e.clone(),
            None => Term::atom("none"),
        }),
        ("is_defined", [k, l]) => items(l).map(|v| boolean(v.iter().any(|e| prop_entry(k, e).is_some()))),
        ("get_bool", [k, l]) => items(l).map(|v| boolean(v.iter().find_map(|e| prop_entry(k, e)).is_some_and(|e| value(e).is_atom("true")))),
        ("get_all_values", [k, l]) => items(l).map(|v| {
            Term::List(v.iter().filter_map(|e| prop_entry(k, e)).filter(|e| matches!(e, Term::Atom(_)) || matches!(e, Term::Tuple(t) if t.len() == 2)).map(value).collect())
        }),
        ("delete", [k, l]) => items(l).map(|v| Term::List(v.iter().filter(|e| prop_entry(k, e).is_none()).cloned().collect())),
        ("get_keys", [l]) => items(l).map(|v| {
            let mut keys: Vec<Term> = v
                .iter()
                .filter_map(|e| match e {
                    Term::Atom(_) => Some(e.clone()),
                    Term::Tuple(t) if !t.is_empty() => Some(t[0].clone()),
                    _ => None,
                })
                .collect();
            keys.sort_by(|x, y| compare(x, y, true));
            keys.dedup();
            Term::List(keys)
        }),
        _ => return None,
    };
    Some(r)
}

/// A string argument of `string`: its characters, and whether it was a
/// binary (results are then binaries too).
fn text_arg(t: &Term) -> Option<(Vec<char>, bool)> {
    match t {
        Term::Binary(b) => Some((std::str::from_utf8(b.as_slice()).ok()?.chars().collect(), true)),
        Term::List(_) => {
            let mut out = Vec::new();
            let mut stack = vec![t];
            while let Some(t) = stack.pop() {
                match t {
                    Term::List(v) => stack.extend(v.iter().rev()),
                    Term::Binary(b) => out.extend(std::str::from_utf8(b.as_slice()).ok()?.chars()),
                    Term::Int(c) => out.push(char::from_u32(u32::try_from(*c).ok()?)?),
                    _ => return None,
                }
            }
            Some((out, false))
        }
        _ => None,
    }
}

fn text_term(chars: &[char], binary: bool) -> Term {
    if binary {
        Term::binary(chars.iter().collect::<String>().as_bytes())
    } else {
        Term::List(chars.iter().map(|&c| Term::Int(c as i64)).collect())
    }
}

fn find_sub(hay: &[char], pat: &[char], from: usize) -> Option<usize> {
    if pat.is_empty() || hay.len() < pat.len() {
        return None;
    }
    (from..=hay.len() - pat.len()).find(|&i| hay[i..i + pat.len()] == *pat)
}

fn is_space(c: char) -> bool {
    c.is_whitespace()
}

fn string(name: &str, a: &[Term]) -> Option<R> {
    let arg = |t: &Term| text_arg(t).ok_or_else(function_clause);
    let r = match (name, a) {
        ("tokens", [s, seps]) => (|| {
            let (s, _) = arg(s)?;
            let (seps, _) = arg(seps)?;
            let toks: Vec<Term> =
                s.split(|c| seps.contains(c)).filter(|t| !t.is_empty()).map(|t| text_term(t, false)).collect();
            Ok(Term::List(toks))
        })(),
        ("join", [l, sep]) => (|| {
            let parts = list_items(l).ok_or_else(function_clause)?;
            let (sep, _) = arg(sep)?;
            let mut out = Vec::new();
            for (i, p) in parts.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(&sep);
                }
                out.extend(arg(p)?.0);
            }
            Ok(text_term(&out, false))
        })(),
        ("split", [s, p]) | ("split", [s, p, _]) => (|| {
            let (s, bin) = text_arg(s).ok_or_else(badarg)?;
            let (p, _) = text_arg(p).ok_or_else(badarg)?;
            let how = a.get(2).and_then(Term::as_atom).map(|w| w.name()).unwrap_or("leading");
            let mut parts: Vec<&[char]> = Vec::new();
            match how {
                "leading" | "all" => {
                    let mut start = 0;
                    while let Some(i) = find_sub(&s, &p, start) {
                        parts.push(&s[start..i]);
                        start = i + p.len();
                        if how == "leading" {
                            break;
                        }
                    }
                    parts.push(&s[start..]);
                }
                "trailing" => {
                    let last = (0..s.len()).rev().find(|&i| !p.is_empty() && s[i..].starts_with(&p));
                    match last {
                        Some(i) => {
                            parts.push(&s[..i]);
                            parts.push(&s[i + p.len()..]);
                        }
                        None => parts.push(&s),
                    }
                }
                _ => return Err(badarg()),
            }
            Ok(Term::List(parts.into_iter().map(|x| text_term(x, bin)).collect()))
        })(),
        ("trim", [s]) | ("trim", [s, _]) | ("trim", [s, _, _]) => (|| {
            let (s, bin) = text_arg(s).ok_or_else(badarg)?;
            let dir = a.get(1).and_then(Term::as_atom).map(|w| w.name()).unwrap_or("both");
            let set: Option<Vec<char>> = match a.get(2) {
                Some(cs) => Some(list_items(cs).ok_or_else(badarg)?.iter().filter_map(|c| c.as_int().and_then(|c| char::from_u32(c as u32))).collect()),
                None => None,
            };
            let strip = |c: &char| match &set {
                Some(set) => set.contains(c),
                None => is_space(*c),
            };
            let (mut i, mut j) = (0, s.len());
            if matches!(dir, "leading" | "both") {
                while i < j && strip(&s[i]) {
                    i += 1;
                }
            }
            if matches!(dir, "trailing" | "both") {
                while j > i && strip(&s[j - 1]) {
                    j -= 1;
                }
            }
            if !matches!(dir, "leading" | "trailing" | "both") {
                return Err(badarg());
            }
            Ok(text_term(&s[i..j], bin))
        })(),
        ("uppercase" | "lowercase", [s]) => match text_arg(s) {
            Some((cs, bin)) => {
                let t: String = cs.into_iter().collect();
                let t = if name == "uppercase" { t.to_uppercase() } else { t.to_lowercase() };
                Ok(text_term(&t.chars().collect::<Vec<_>>(), bin))
            }
            None => Err(err2("badarg", s.clone())),
        },
        ("length", [s]) => arg(s).map(|(cs, _)| {
            let crlf = cs.windows(2).filter(|w| w == &['\r', '\n']).count();
            Term::Int((cs.len() - crlf) as i64)
        }),
        ("lexemes", [s, seps]) => (|| {
            let (s, bin) = arg(s)?;
            let (seps, _) = arg(seps)?;
            Ok(Term::List(s.split(|c| seps.contains(c)).filter(|t| !t.is_empty()).map(|t| text_term(t, bin)).collect()))
        })(),
        ("find", [s, p]) | ("find", [s, p, _]) => (|| {
            let (s, bin) = arg(s)?;
            let (p, _) = arg(p)?;
            let at = match a.get(2).and_then(Term::as_atom).map(|w| w.name()) {
                None | Some("leading") => find_sub(&s, &p, 0),
                Some("trailing") => (0..s.len()).rev().find(|&i| !p.is_empty() && s[i..].starts_with(&p)),
                _ => return Err(badarg()),
            };
            Ok(match at {
                Some(i) => text_term(&s[i..], bin),
                None if p.is_empty() => text_term(&s, bin),
                None => Term::atom("nomatch"),
            })
        })(),
        ("replace", [s, p, r]) | ("replace", [s, p, r, _]) => (|| {
            // lists:join(Replacement, split(String, Pattern, Where)).
            let parts = string("split", &[s.clone(), p.clone(), a.get(3).cloned().unwrap_or_else(|| Term::atom("leading"))])
                .expect("split")?;
            let parts = list_items(&parts).expect("split gives a list").to_vec();
            let mut out = Vec::new();
            for (i, x) in parts.into_iter().enumerate() {
                if i > 0 {
                    out.push(r.clone());
                }
                out.push(x);
            }
            Ok(Term::List(out))
        })(),
        ("slice", [s, start]) | ("slice", [s, start, _]) => (|| {
            let (s, bin) = arg(s)?;
            let from = start.as_int().filter(|&i| i >= 0).ok_or_else(badarg)? as usize;
            let len = match a.get(2) {
                None => usize::MAX,
                Some(t) if t.is_atom("infinity") => usize::MAX,
                Some(t) => t.as_int().filter(|&i| i >= 0).ok_or_else(badarg)? as usize,
            };
            let from = from.min(s.len());
            Ok(text_term(&s[from..from.saturating_add(len).min(s.len())], bin))
        })(),
        ("pad", [s, n]) | ("pad", [s, n, _]) | ("pad", [s, n, _, _]) => (|| {
            let (chars, _) = arg(s)?;
            let n = n.as_int().ok_or_else(badarg)?;
            let dir = a.get(2).and_then(Term::as_atom).map(|w| w.name()).unwrap_or("trailing");
            let c = a.get(3).cloned().unwrap_or(Term::Int(32));
            let k = (n - chars.len() as i64).max(0) as usize;
            if k > MAX_BUILD {
                return Err(badarg());
            }
            let dup = |k: usize| Term::List(vec![c.clone(); k]);
            Ok(match dir {
                "trailing" => make_list(vec![s.clone()], dup(k)),
                "leading" => Term::List(vec![dup(k), s.clone()]),
                "both" => {
                    let pre = k / 2;
                    let post = k - pre;
                    let mut v = vec![dup(pre), s.clone()];
                    if post > 0 {
                        v.push(dup(post - 1));
                        v.push(c.clone());
                    }
                    Term::List(v)
                }
                _ => return Err(badarg()),
            })
        })(),
        ("prefix", [s, p]) => (|| {
            let (s, bin) = arg(s)?;
            let (p, _) = arg(p)?;
            Ok(if s.starts_with(&p) { text_term(&s[p.len()..], bin) } else { Term::atom("nomatch") })
        })(),
        ("reverse", [s]) => arg(s).map(|(mut s, _)| {
            s.reverse();
            text_term(&s, false)
        }),
        ("is_empty", [s]) => arg(s).map(|(s, _)| boolean(s.is_empty())),
        ("chomp", [s]) => arg(s).map(|(s, bin)| {
            let n = if s.ends_with(&['\r', '\n']) { 2 } else { usize::from(s.last() == Some(&'\n')) };
            text_term(&s[..s.len() - n], bin)
        }),
        ("equal", [x, y]) => match (text_arg(x), text_arg(y)) {
            (Some((x, _)), Some((y, _))) => Ok(boolean(x == y)),
            _ => Err(badarg()),
        },
        ("concat", [x, y]) => match (list_items(x), list_items(y)) {
            (Some(_), Some(_)) => append(x, y),
            _ => Err(function_clause()),
        },
        ("str" | "rstr", [s, p]) => (|| {
            let (s, _) = arg(s)?;
            let (p, _) = arg(p)?;
            let at = if name == "str" { find_sub(&s, &p, 0) } else { (0..s.len()).rev().find(|&i| !p.is_empty() && s[i..].starts_with(&p)) };
            Ok(Term::Int(at.map_or(0, |i| i as i64 + 1)))
        })(),
        ("chr" | "rchr", [s, c]) => (|| {
            let (s, _) = arg(s)?;
            let c = c.as_int().and_then(|c| char::from_u32(c as u32)).ok_or_else(function_clause)?;
            let at = if name == "chr" { s.iter().position(|&x| x == c) } else { s.iter().rposition(|&x| x == c) };
            Ok(Term::Int(at.map_or(0, |i| i as i64 + 1)))
        })(),
        ("substr", [s, start]) | ("substr", [s, start, _]) => (|| {
            let (s, _) = arg(s)?;
            let from = start.as_int().filter(|&i| i >= 1 && i as usize <= s.len() + 1).ok_or_else(function_clause)? as usize - 1;
            let len = match a.get(2) {
                None => s.len() - from,
                Some(t) => t.as_int().filter(|&l| l >= 0).ok_or_else(function_clause)? as usize,
            };
            Ok(text_term(&s[from..(from + len).min(s.len())], false))
        })(),
        ("strip", [s]) => arg(s).map(|(s, _)| {
            let t: Vec<char> = s.iter().copied().skip_while(|&c| c == ' ').collect();
            let end = t.iter().rposition(|&c| c != ' ').map_or(0, |i| i + 1);
            text_term(&t[..end], false)
        }),
        ("left" | "right", [s, n]) | ("left" | "right", [s, n, _]) => (|| {
            let (s, _) = arg(s)?;
            let n = n.as_int().filter(|&n| n >= 0 && n as usize <= MAX_BUILD).ok_or_else(function_clause)? as usize;
            let c = match a.get(2) {
                None => ' ',
                Some(c) => c.as_int().and_then(|c| char::from_u32(c as u32)).ok_or_else(function_clause)?,
            };
            let out: Vec<char> = if name == "left" {
                s.iter().copied().chain(std::iter::repeat(c)).take(n).collect()
            } else if s.len() >= n {
                s[s.len() - n..].to_vec()
            } else {
                std::iter::repeat_n(c, n - s.len()).chain(s.iter().copied()).collect()
            };
            Ok(text_term(&out, false))
        })(),
        ("to_upper" | "to_lower", [s]) => match s {
            Term::Int(c) => match char::from_u32(*c as u32) {
                Some(ch) => Ok(Term::Int(if name == "to_upper" { ch.to_ascii_uppercase() } else { ch.to_ascii_lowercase() } as i64)),
                None => Err(function_clause()),
            },
            _ => arg(s).map(|(s, _)| {
                let m: Vec<char> =
                    s.iter().map(|c| if name == "to_upper" { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() }).collect();
                text_term(&m, false)
            }),
        },
        ("words", [s]) => arg(s).map(|(s, _)| Term::Int(s.split(|&c| c == ' ').filter(|w| !w.is_empty()).count() as i64)),
        ("copies", [s, n]) => (|| {
            let (s, _) = arg(s)?;
            let n = n.as_int().filter(|&n| n >= 0 && (n as usize).saturating_mul(s.len()) < MAX_BUILD).ok_or_else(function_clause)?;
            Ok(text_term(&s.repeat(n as usize), false))
        })(),
        ("to_float", [s]) => Ok(match text_arg(s) {
            None => Term::tuple(vec![Term::atom("error"), Term::atom("badarg")]),
            Some((cs, bin)) => match float_prefix(&cs) {
                Some((x, n)) => Term::tuple(vec![Term::Float(x), text_term(&cs[n..], bin)]),
                None => Term::tuple(vec![Term::atom("error"), Term::atom("no_float")]),
            },
        }),
        ("to_integer", [s]) => Ok(match text_arg(s) {
            None => Term::tuple(vec![Term::atom("error"), Term::atom("badarg")]),
            Some((cs, bin)) => {
                let sign = usize::from(matches!(cs.first(), Some('+' | '-')));
                let digits = cs[sign..].iter().take_while(|c| c.is_ascii_digit()).count();
                if digits == 0 {
                    Term::tuple(vec![Term::atom("error"), Term::atom("no_integer")])
                } else {
                    let text: String = cs[..sign + digits].iter().collect();
                    let v = super::bifs::call("erlang", "list_to_integer", &[Term::string(&text)]).and_then(Result::ok).unwrap_or(Term::Int(0));
                    Term::tuple(vec![v, text_term(&cs[sign + digits..], bin)])
                }
            }
        }),
        _ => return None,
    };
    Some(r)
}

/// The float at the start of `cs` in Erlang's syntax (`[+-]D+.D+[eE[+-]D+]`)
/// and its length in characters.
fn float_prefix(cs: &[char]) -> Option<(f64, usize)> {
    let digits = |from: usize| cs[from.min(cs.len())..].iter().take_while(|c| c.is_ascii_digit()).count();
    let mut i = usize::from(matches!(cs.first(), Some('+' | '-')));
    let int = digits(i);
    if int == 0 || cs.get(i + int) != Some(&'.') {
        return None;
    }
    i += int + 1;
    let frac = digits(i);
    if frac == 0 {
        return None;
    }
    i += frac;
    if matches!(cs.get(i), Some('e' | 'E')) {
        let sign = usize::from(matches!(cs.get(i + 1), Some('+' | '-')));
        let exp = digits(i + 1 + sign);
        if exp > 0 {
            i += 1 + sign + exp;
        }
    }
    let text: String = cs[..i].iter().collect();
    text.parse::<f64>().ok().filter(|x| x.is_finite()).map(|x| (x, i))
}

/// The patterns of `binary:split/match/replace`: a non-empty binary or a
/// non-empty list of them.
fn patterns(t: &Term) -> Result<Vec<Vec<u8>>, Exception> {
    let one = |t: &Term| match t {
        Term::Binary(b) if !b.is_empty() => Ok(b.as_slice().to_vec()),
        _ => Err(badarg()),
    };
    match t {
        Term::List(v) if !v.is_empty() => v.iter().map(one).collect(),
        t => Ok(vec![one(t)?]),
    }
}

/// The first match at or after `from`: the earliest start, the longest
/// pattern there.
fn first_match(hay: &[u8], pats: &[Vec<u8>], from: usize) -> Option<(usize, usize)> {
    (from..hay.len()).find_map(|i| pats.iter().filter(|p| hay[i..].starts_with(p)).map(Vec::len).max().map(|l| (i, l)))
}

fn bin_arg(t: &Term) -> Result<&[u8], Exception> {
    match t {
        Term::Binary(b) => Ok(b.as_slice()),
        _ => Err(badarg()),
    }
}

fn binary(name: &str, a: &[Term]) -> Option<R> {
    let r = match (name, a) {
        ("split", [s, p]) | ("split", [s, p, _]) => (|| {
            let hay = bin_arg(s)?;
            let pats = patterns(p)?;
            let (mut global, mut trim, mut trim_all) = (false, false, false);
            if let Some(opts) = a.get(2) {
                for o in list_items(opts).ok_or_else(badarg)? {
                    match o.as_atom().map(|x| x.name()) {
                        Some("global") => global = true,
                        Some("trim") => trim = true,
                        Some("trim_all") => trim_all = true,
                        _ => return Err(badarg()),
                    }
                }
            }
            let mut parts: Vec<&[u8]> = Vec::new();
            let mut start = 0;
            while let Some((i, l)) = first_match(hay, &pats, start) {
                parts.push(&hay[start..i]);
                start = i + l;
                if !global {
                    break;
                }
            }
            parts.push(&hay[start..]);
            if trim_all {
                parts.retain(|p| !p.is_empty());
            } else if trim {
                while parts.last().is_some_and(|p| p.is_empty()) {
                    parts.pop();
                }
            }
            Ok(Term::List(parts.into_iter().map(Term::binary).collect()))
        })(),
        ("match", [s, p]) => (|| {
            let hay = bin_arg(s)?;
            Ok(match first_match(hay, &patterns(p)?, 0) {
                Some((i, l)) => Term::tuple(vec![Term::Int(i as i64), Term::Int(l as i64)]),
                None => Term::atom("nomatch"),
            })
        })(),
        ("matches", [s, p]) => (|| {
            let hay = bin_arg(s)?;
            let pats = patterns(p)?;
            let mut out = Vec::new();
            let mut start = 0;
            while let Some((i, l)) = first_match(hay, &pats, start) {
                out.push(Term::tuple(vec![Term::Int(i as i64), Term::Int(l as i64)]));
                start = i + l;
            }
            Ok(Term::List(out))
        })(),
        ("replace", [s, p, rep]) | ("replace", [s, p, rep, _]) => (|| {
            let hay = bin_arg(s)?;
            let pats = patterns(p)?;
            let rep = bin_arg(rep)?;
            let mut global = false;
            if let Some(opts) = a.get(3) {
                for o in list_items(opts).ok_or_else(badarg)? {
                    match o.as_atom().map(|x| x.name()) {
                        Some("global") => global = true,
                        _ => return Err(badarg()),
                    }
                }
            }
            let mut out = Vec::with_capacity(hay.len());
            let mut start = 0;
            while let Some((i, l)) = first_match(hay, &pats, start) {
                out.extend_from_slice(&hay[start..i]);
                out.extend_from_slice(rep);
                start = i + l;
                if !global {
                    break;
                }
            }
            out.extend_from_slice(&hay[start..]);
            Ok(Term::binary(&out))
        })(),
        ("encode_unsigned", [n]) => match n {
            Term::Int(i) if *i >= 0 => {
                let bytes = i.to_be_bytes();
                let skip = bytes.iter().take_while(|&&b| b == 0).count().min(7);
                Ok(Term::binary(&bytes[skip..]))
            }
            _ => Err(badarg()),
        },
        ("decode_unsigned", [b]) | ("decode_unsigned", [b, _]) => (|| {
            let mut bytes = bin_arg(b)?.to_vec();
            match a.get(1).and_then(Term::as_atom).map(|x| x.name()) {
                None | Some("big") => {}
                Some("little") => bytes.reverse(),
                _ => return Err(badarg()),
            }
            let mut v = eetf::BigInteger::from(0u8).value;
            for byte in bytes {
                v = (v << 8usize) + eetf::BigInteger::from(byte).value;
            }
            Ok(Term::from_big(eetf::BigInteger { value: v }))
        })(),
        _ => return None,
    };
    Some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_to_list_as_erlang() {
        assert_eq!(float_to_list(2.5), "2.50000000000000000000e+00");
        assert_eq!(float_to_list(-1.0e-300), "-1.00000000000000002506e-300");
    }
}
