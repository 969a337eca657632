//! The evaluator: expressions, patterns, guards and calls, with the
//! semantics (and the exception reasons) of OTP 25's `erl_eval` as
//! `erlrun.escript` drives it.
//!
//! Bindings are one map per session. A match binds into it directly (a
//! failed top-level match raises, and [`Session`] then discards the form's
//! bindings, as the Erlang shell does); a `case`, `receive` or comprehension
//! clause matches into a copy that replaces the bindings only when the
//! pattern and guard succeed.
//!
//! A fun closes over all the bindings in scope when it is made (as
//! `erl_eval` does); a call matches its parameters in a copy of those,
//! where the parameters' variables are fresh (they shadow outer ones), and
//! nothing bound in its body leaks out. `spawn/1` hands the fun to
//! [`Runtime::spawn`], which runs it in a new process over that process's
//! own runtime.

use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::sync::Arc;
use std::time::Duration;

use super::bifs::{self, as_bool, make_list};
use super::bits::{self, BitReader, BitWriter};
use super::num;
use super::parse::{BinSeg, Clause, Expr, Form, FunDef, Guard, MapField, Qualifier, UnOp};
use super::{Exception, ProcessBody, Runtime, SpawnOptions};
use crate::term::{ext, grow_stack, Atom, Fun, Ref, Term};

/// Variable bindings.
pub(crate) type Bindings = HashMap<String, Term>;

type R = Result<Term, Exception>;

/// What an evaluation may touch besides bindings: the runtime (absent in
/// guards of `receive` and in pure evaluation) and the output `flush()`
/// writes to.
pub(crate) struct Ctx<'a> {
    rt: Option<&'a mut dyn Runtime>,
    out: Option<&'a mut dyn Write>,
    /// The variables of the fun clause being evaluated that its body reads
    /// once (see [`Closure`]): evaluating one moves its value out of the
    /// clause's bindings instead of copying it.
    movable: Option<Arc<std::collections::HashSet<String>>>,
}

impl Ctx<'_> {
    fn pure() -> Ctx<'static> {
        Ctx { rt: None, out: None, movable: None }
    }
}

fn err2(tag: &str, v: Term) -> Exception {
    Exception::error(Term::tuple(vec![Term::atom(tag), v]))
}

fn unbound(name: &str) -> Exception {
    err2("unbound", Term::atom(name))
}

fn t_true() -> Term {
    Term::atom("true")
}

fn t_false() -> Term {
    Term::atom("false")
}

/// A session of the script language: the bindings that carry from one
/// form to the next, as in the Erlang shell.
#[derive(Default)]
pub struct Session {
    bindings: Bindings,
}

impl Session {
    /// A session with no bindings.
    pub fn new() -> Session {
        Session::default()
    }

    /// Evaluates one form; its value is the value of its last expression.
    /// `flush()` writes to `out`. On an exception the bindings are left as
    /// they were before the form.
    ///
    /// # Errors
    /// The uncaught exception (class and reason as ERTS would raise them).
    pub fn eval_form(&mut self, form: &Form, rt: &mut dyn Runtime, out: &mut dyn Write) -> Result<Term, Exception> {
        let mut b = self.bindings.clone();
        let mut cx = Ctx { rt: Some(rt), out: Some(out), movable: None };
        let v = eval_body(&mut b, &form.exprs, &mut cx)?;
        self.bindings = b;
        Ok(v)
    }

    /// Evaluates a form without a runtime: calls that need one raise
    /// `error:undef`, `receive` and `flush()` raise `error:badarg`.
    ///
    /// # Errors
    /// The uncaught exception.
    pub fn eval_pure(&mut self, form: &Form) -> Result<Term, Exception> {
        let mut b = self.bindings.clone();
        let v = eval_body(&mut b, &form.exprs, &mut Ctx::pure())?;
        self.bindings = b;
        Ok(v)
    }

    /// The value bound to `name`, if any.
    pub fn binding(&self, name: &str) -> Option<&Term> {
        self.bindings.get(name)
    }

    /// All bindings, sorted by name.
    pub fn bindings(&self) -> Vec<(&str, &Term)> {
        let mut v: Vec<_> = self.bindings.iter().map(|(k, v)| (k.as_str(), v)).collect();
        v.sort_by(|a, b| a.0.cmp(b.0));
        v
    }

    /// Forgets all bindings (the shell's `f()`).
    pub fn forget_all(&mut self) {
        self.bindings.clear();
    }

    /// Forgets one binding (the shell's `f(X)`).
    pub fn forget(&mut self, name: &str) {
        self.bindings.remove(name);
    }
}

fn eval_body(b: &mut Bindings, body: &[Expr], cx: &mut Ctx<'_>) -> R {
    let mut v = Term::atom("ok");
    for e in body {
        v = eval(b, e, cx)?;
    }
    Ok(v)
}

/// The value of an expression in tail position: a term, or a fun call
/// still to make. A fun whose body ends in a fun call (through `case`,
/// `if`, `receive` and `begin` too) returns the call instead of making it,
/// and [`apply_fun`] makes it in a loop: a process's receive loop
/// (`fun Loop() -> receive ... -> Loop() end end`) runs in constant stack,
/// as Erlang's last call optimisation makes it.
enum Tail {
    Value(Term),
    Call(Fun, Vec<Term>),
}

/// [`eval_body`] with the last expression in tail position.
fn eval_body_tail(b: &mut Bindings, body: &[Expr], cx: &mut Ctx<'_>) -> Result<Tail, Exception> {
    match body.split_last() {
        None => Ok(Tail::Value(Term::atom("ok"))),
        Some((last, init)) => {
            for e in init {
                eval(b, e, cx)?;
            }
            eval_tail(b, last, cx)
        }
    }
}

/// Evaluates `e` in tail position (see [`Tail`]).
fn eval_tail(b: &mut Bindings, e: &Expr, cx: &mut Ctx<'_>) -> Result<Tail, Exception> {
    match e {
        Expr::Call(None, f, args) if !matches!(**f, Expr::Lit(Term::Atom(_))) => {
            let fv = eval(b, f, cx)?;
            let argv = eval_list(b, args, cx)?;
            match fv {
                Term::Fun(ref fun) => Ok(Tail::Call(fun.clone(), argv)),
                fv => Err(err2("badfun", fv)),
            }
        }
        Expr::Block(body) => eval_body_tail(b, body, cx),
        Expr::Case(e, clauses) => {
            let v = eval(b, e, cx)?;
            for cl in clauses {
                let mut trial = b.clone();
                if match_pattern(&mut trial, &cl.pattern, &v, cx)? && guard_ok(&mut trial, &cl.guard, cx) {
                    *b = trial;
                    return eval_body_tail(b, &cl.body, cx);
                }
            }
            Err(err2("case_clause", v))
        }
        Expr::If(clauses) => {
            for (g, body) in clauses {
                if guard_ok(b, g, cx) {
                    return eval_body_tail(b, body, cx);
                }
            }
            Err(Exception::error(Term::atom("if_clause")))
        }
        Expr::Receive(clauses, after) => eval_receive(b, clauses, after.as_ref(), cx),
        e => eval(b, e, cx).map(Tail::Value),
    }
}

/// The value of a [`Tail`]: makes the pending call, if any.
fn finish(t: Tail, cx: &mut Ctx<'_>) -> R {
    match t {
        Tail::Value(v) => Ok(v),
        Tail::Call(fun, args) => apply_fun(&fun, args, cx),
    }
}

fn eval_list(b: &mut Bindings, items: &[Expr], cx: &mut Ctx<'_>) -> Result<Vec<Term>, Exception> {
    items.iter().map(|e| eval(b, e, cx)).collect()
}

/// Evaluates `e`. Nested expressions and non-tail calls recurse through
/// here, on a stack that grows as deep as memory allows (ERTS's processes
/// have growing heaps: a body-recursive function 100,000 calls deep runs).
fn eval(b: &mut Bindings, e: &Expr, cx: &mut Ctx<'_>) -> R {
    grow_stack(|| eval_here(b, e, cx))
}

fn eval_here(b: &mut Bindings, e: &Expr, cx: &mut Ctx<'_>) -> R {
    match e {
        Expr::Lit(t) => Ok(t.clone()),
        Expr::Str(s) => Ok(Term::string(s)),
        Expr::Var(v) if cx.movable.as_ref().is_some_and(|m| m.contains(v)) => b.remove(v).ok_or_else(|| unbound(v)),
        Expr::Var(v) => b.get(v).cloned().ok_or_else(|| unbound(v)),
        Expr::Tuple(items) => Ok(Term::Tuple(eval_list(b, items, cx)?)),
        Expr::List(items, tail) => {
            let vals = eval_list(b, items, cx)?;
            match tail {
                None => Ok(Term::List(vals)),
                Some(t) => {
                    let tv = eval(b, t, cx)?;
                    Ok(make_list(vals, tv))
                }
            }
        }
        Expr::Bin(segs) => build_binary(b, segs, cx),
        Expr::Map(base, fields) => eval_map(b, base.as_deref(), fields, cx),
        Expr::Match(p, e) => {
            let v = eval(b, e, cx)?;
            if match_pattern(b, p, &v, cx)? {
                Ok(v)
            } else {
                Err(err2("badmatch", v))
            }
        }
        Expr::Send(d, m) => {
            let dv = eval(b, d, cx)?;
            let mv = eval(b, m, cx)?;
            call_remote(Atom::new("erlang"), Atom::new("send"), vec![dv, mv], cx)
        }
        Expr::Op(op, l, r) => {
            let lv = eval(b, l, cx)?;
            let rv = eval(b, r, cx)?;
            bifs::binop(*op, &lv, &rv)
        }
        Expr::Unary(op, x) => {
            let v = eval(b, x, cx)?;
            unary(*op, &v)
        }
        Expr::AndAlso(l, r) => match eval(b, l, cx)? {
            v if v.is_atom("true") => eval(b, r, cx),
            v if v.is_atom("false") => Ok(v),
            v => Err(err2("badarg", v)),
        },
        Expr::OrElse(l, r) => match eval(b, l, cx)? {
            v if v.is_atom("false") => eval(b, r, cx),
            v if v.is_atom("true") => Ok(v),
            v => Err(err2("badarg", v)),
        },
        Expr::Call(m, f, args) => eval_call(b, m.as_deref(), f, args, cx),
        Expr::Block(_) | Expr::Case(..) | Expr::If(_) | Expr::Receive(..) => {
            let t = eval_tail(b, e, cx)?;
            finish(t, cx)
        }
        Expr::ListComp(e, quals) => {
            let mut out = Vec::new();
            comprehension(b.clone(), e, quals, cx, &mut out)?;
            Ok(Term::List(out))
        }
        Expr::Fun(def) => make_fun(def, b),
        Expr::ExternalFun(m, f, a) => {
            let (mv, fv, av) = (eval(b, m, cx)?, eval(b, f, cx)?, eval(b, a, cx)?);
            match (mv, fv, av) {
                (Term::Atom(module), Term::Atom(function), Term::Int(arity)) if (0..=255).contains(&arity) => {
                    Ok(Term::Fun(Fun::External { module, function, arity: arity as u32 }))
                }
                _ => Err(Exception::badarg()),
            }
        }
        Expr::Try(t) => eval_try(b, t, cx),
        Expr::BinComp(e, quals) => {
            let mut out = Vec::new();
            comprehension(b.clone(), e, quals, cx, &mut out)?;
            let mut w = BitWriter::new();
            for v in &out {
                let (bytes, n) = v.as_bits().ok_or_else(Exception::badarg)?;
                w.push_bits_of(bytes, n);
            }
            let (bytes, n) = w.into_bits();
            Ok(Term::bitstring(&bytes, n))
        }
        Expr::Catch(e) => match eval(b, e, cx) {
            Ok(v) => Ok(v),
            Err(ex) => Ok(match ex.class.name() {
                "throw" => ex.reason,
                "exit" => Term::tuple(vec![Term::atom("EXIT"), ex.reason]),
                _ => Term::tuple(vec![Term::atom("EXIT"), Term::tuple(vec![ex.reason, Term::nil()])]),
            }),
        },
    }
}

fn unary(op: UnOp, v: &Term) -> R {
    match op {
        UnOp::Plus => {
            if num::is_number(v) {
                Ok(v.clone())
            } else {
                Err(num::badarith())
            }
        }
        UnOp::Minus => num::neg(v),
        UnOp::Bnot => num::bnot(v),
        UnOp::Not => as_bool(v).map(|x| if x { t_false() } else { t_true() }).ok_or_else(Exception::badarg),
    }
}

fn eval_map(b: &mut Bindings, base: Option<&Expr>, fields: &[MapField], cx: &mut Ctx<'_>) -> R {
    let base = match base {
        Some(e) => match eval(b, e, cx)? {
            Term::Map(ref mut pairs) => Some(std::mem::take(pairs)),
            v => {
                // Fields are evaluated before the base is checked.
                for f in fields {
                    eval(b, &f.key, cx)?;
                    eval(b, &f.value, cx)?;
                }
                return Err(err2("badmap", v));
            }
        },
        None => None,
    };
    let mut kv = Vec::with_capacity(fields.len());
    for f in fields {
        let k = eval(b, &f.key, cx)?;
        let v = eval(b, &f.value, cx)?;
        kv.push((k, v, f.exact));
    }
    let mut pairs = base.unwrap_or_default();
    for (k, v, exact) in kv {
        match pairs.iter_mut().find(|(pk, _)| *pk == k) {
            Some(slot) => slot.1 = v,
            None if exact => return Err(err2("badkey", k)),
            None => pairs.push((k, v)),
        }
    }
    Ok(Term::map(pairs))
}

fn build_binary(b: &mut Bindings, segs: &[BinSeg], cx: &mut Ctx<'_>) -> R {
    let mut w = BitWriter::new();
    for seg in segs {
        match &seg.value {
            Expr::Str(s) => {
                let size = match &seg.size {
                    Some(e) => Some(eval(b, e, cx)?),
                    None => None,
                };
                let n = bits::segment_bits(&seg.spec, size.as_ref())?;
                for c in s.chars() {
                    bits::write_segment(&mut w, &Term::Int(c as i64), n, &seg.spec)?;
                }
            }
            value => {
                let v = eval(b, value, cx)?;
                let size = match &seg.size {
                    Some(e) => Some(eval(b, e, cx)?),
                    None => None,
                };
                let n = bits::segment_bits(&seg.spec, size.as_ref())?;
                bits::write_segment(&mut w, &v, n, &seg.spec)?;
            }
        }
    }
    Ok(w.into_term())
}

/// The cells of a list term: its elements and the tail (`None` for `[]`).
fn list_cells(t: &Term) -> Option<(&[Term], Option<&Term>)> {
    match t {
        Term::List(v) => Some((v, None)),
        Term::Improper(v, tail) => Some((v, Some(tail))),
        _ => None,
    }
}

/// Evaluates an expression in a pattern that must be a constant or use
/// bound variables only (map keys, binary sizes, `-1`, `"pre" ++ T`).
fn eval_in_pattern(b: &mut Bindings, e: &Expr, cx: &mut Ctx<'_>) -> R {
    eval(b, e, cx)
}

/// Matches `v` against pattern `p`, binding new variables into `b`.
/// `Ok(false)` when it does not match (`b` may then hold some of the
/// pattern's bindings; callers match into a copy when that matters).
pub(crate) fn match_pattern(b: &mut Bindings, p: &Expr, v: &Term, cx: &mut Ctx<'_>) -> Result<bool, Exception> {
    grow_stack(|| match_here(b, p, v, cx))
}

fn match_here(b: &mut Bindings, p: &Expr, v: &Term, cx: &mut Ctx<'_>) -> Result<bool, Exception> {
    Ok(match p {
        Expr::Var(n) if n == "_" => true,
        Expr::Var(n) => match b.get(n) {
            Some(bound) => bound == v,
            None => {
                b.insert(n.clone(), v.clone());
                true
            }
        },
        Expr::Lit(t) => t == v,
        Expr::Str(s) => *v == Term::string(s),
        Expr::Tuple(ps) => match v {
            Term::Tuple(vs) if vs.len() == ps.len() => {
                for (p, v) in ps.iter().zip(vs) {
                    if !match_pattern(b, p, v, cx)? {
                        return Ok(false);
                    }
                }
                true
            }
            _ => false,
        },
        Expr::List(ps, tail) => {
            if ps.is_empty() && tail.is_none() {
                return Ok(v.is_nil());
            }
            let (items, vtail) = match list_cells(v) {
                Some(c) => c,
                None => return Ok(false),
            };
            let n = ps.len();
            if items.len() < n || (tail.is_none() && (items.len() != n || vtail.is_some())) {
                return Ok(false);
            }
            for (p, v) in ps.iter().zip(items) {
                if !match_pattern(b, p, v, cx)? {
                    return Ok(false);
                }
            }
            match tail {
                None => true,
                Some(tp) => {
                    let rest = make_list(items[n..].to_vec(), vtail.cloned().unwrap_or_else(Term::nil));
                    match_pattern(b, tp, &rest, cx)?
                }
            }
        }
        Expr::Bin(segs) => match BitReader::of_term(v) {
            Some(r) => match_binary(b, segs, r, cx)?,
            None => false,
        },
        Expr::Map(None, fields) => match v {
            Term::Map(pairs) => {
                for f in fields {
                    if !f.exact {
                        return Err(Exception::error(Term::atom("illegal_pattern")));
                    }
                    let k = eval_in_pattern(b, &f.key, cx)?;
                    match pairs.iter().find(|(pk, _)| *pk == k) {
                        Some((_, pv)) => {
                            if !match_pattern(b, &f.value, pv, cx)? {
                                return Ok(false);
                            }
                        }
                        None => return Ok(false),
                    }
                }
                true
            }
            _ => false,
        },
        Expr::Match(p1, p2) => match_pattern(b, p1, v, cx)? && match_pattern(b, p2, v, cx)?,
        Expr::Op(super::parse::BinOp::Append, l, r) => {
            let prefix = eval_in_pattern(b, l, cx)?;
            let pre = match bifs::list_items(&prefix) {
                Some(p) => p,
                None => return Err(Exception::error(Term::atom("illegal_pattern"))),
            };
            let (items, vtail) = match list_cells(v) {
                Some(c) => c,
                None => return Ok(pre.is_empty() && match_pattern(b, r, v, cx)?),
            };
            if items.len() < pre.len() || pre.iter().zip(items).any(|(x, y)| x != y) {
                return Ok(false);
            }
            let rest = make_list(items[pre.len()..].to_vec(), vtail.cloned().unwrap_or_else(Term::nil));
            match_pattern(b, r, &rest, cx)?
        }
        Expr::Unary(..) | Expr::Op(..) => {
            let c = eval_in_pattern(b, p, cx)?;
            c == *v
        }
        _ => return Err(Exception::error(Term::atom("illegal_pattern"))),
    })
}

fn match_binary(b: &mut Bindings, segs: &[BinSeg], mut r: BitReader<'_>, cx: &mut Ctx<'_>) -> Result<bool, Exception> {
    for seg in segs {
        let size = match &seg.size {
            Some(e) => Some(eval_in_pattern(b, e, cx)?),
            None => None,
        };
        let n = match bits::segment_bits(&seg.spec, size.as_ref()) {
            Ok(n) => n,
            Err(_) => return Ok(false),
        };
        if let Expr::Str(s) = &seg.value {
            for c in s.chars() {
                match bits::read_segment(&mut r, n, &seg.spec)? {
                    Some(Term::Int(got)) if got == c as i64 => {}
                    _ => return Ok(false),
                }
            }
            continue;
        }
        let got = match bits::read_segment(&mut r, n, &seg.spec)? {
            Some(t) => t,
            None => return Ok(false),
        };
        if !match_pattern(b, &seg.value, &got, cx)? {
            return Ok(false);
        }
    }
    Ok(r.remaining() == 0)
}

/// True if some alternative of the guard has all its tests `true`; an
/// exception in a test makes that test false, as in Erlang.
fn guard_ok(b: &mut Bindings, g: &Guard, cx: &mut Ctx<'_>) -> bool {
    g.is_empty()
        || g.iter().any(|alt| alt.iter().all(|test| matches!(eval(b, test, cx), Ok(v) if v.is_atom("true"))))
}

fn eval_receive(
    b: &mut Bindings,
    clauses: &[Clause],
    after: Option<&(Box<Expr>, Vec<Expr>)>,
    cx: &mut Ctx<'_>,
) -> Result<Tail, Exception> {
    let timeout = match after {
        None => None,
        Some((t, _)) => match eval(b, t, cx)? {
            v if v.is_atom("infinity") => None,
            Term::Int(ms) if ms >= 0 => Some(Duration::from_millis(ms as u64)),
            Term::BigInt(_) => None,
            _ => return Err(Exception::error(Term::atom("timeout_value"))),
        },
    };
    loop {
        let mut chosen: Option<(usize, Bindings)> = None;
        let got = {
            let rt = cx.rt.as_deref_mut().ok_or_else(Exception::badarg)?;
            let snapshot: &Bindings = b;
            let mut matcher = |m: &Term| -> bool {
                let mut pure = Ctx::pure();
                for (i, cl) in clauses.iter().enumerate() {
                    let mut trial = snapshot.clone();
                    if matches!(match_pattern(&mut trial, &cl.pattern, m, &mut pure), Ok(true))
                        && guard_ok(&mut trial, &cl.guard, &mut pure)
                    {
                        chosen = Some((i, trial));
                        return true;
                    }
                }
                false
            };
            rt.receive(&mut matcher, timeout)?
        };
        match (got, chosen) {
            (Some(_), Some((i, nb))) => {
                *b = nb;
                return eval_body_tail(b, &clauses[i].body, cx);
            }
            (Some(_), None) => {
                // The runtime handed back a message the matcher rejected;
                // should not happen, but wait again rather than misbehave.
                continue;
            }
            (None, _) => match after {
                Some((_, body)) => return eval_body_tail(b, body, cx),
                None => continue,
            },
        }
    }
}

/// The variables a pattern binds (for comprehension generators, whose
/// patterns shadow outer variables).
fn pattern_vars(p: &Expr, out: &mut Vec<String>) {
    grow_stack(|| match p {
        Expr::Var(v) if v != "_" => out.push(v.clone()),
        Expr::Tuple(items) => items.iter().for_each(|e| pattern_vars(e, out)),
        Expr::List(items, tail) => {
            items.iter().for_each(|e| pattern_vars(e, out));
            if let Some(t) = tail {
                pattern_vars(t, out);
            }
        }
        Expr::Bin(segs) => segs.iter().for_each(|s| pattern_vars(&s.value, out)),
        Expr::Map(_, fields) => fields.iter().for_each(|f| pattern_vars(&f.value, out)),
        Expr::Match(a, c) => {
            pattern_vars(a, out);
            pattern_vars(c, out);
        }
        Expr::Op(_, _, r) => pattern_vars(r, out),
        _ => {}
    })
}

/// True for expressions that are guard tests (`erl_lint:is_guard_test/1`):
/// literals, variables, operators and the guard BIFs over guard tests.
fn is_guard_expr(e: &Expr) -> bool {
    const GUARD_BIFS: &[&str] = &[
        "abs", "binary_part", "bit_size", "byte_size", "ceil", "element", "float", "floor", "hd",
        "is_atom", "is_binary", "is_bitstring", "is_boolean", "is_float", "is_function",
        "is_integer", "is_list", "is_map", "is_map_key", "is_number", "is_pid", "is_port",
        "is_record", "is_reference", "is_tuple", "length", "map_get", "map_size", "max", "min",
        "node", "round", "self", "size", "tl", "trunc", "tuple_size",
    ];
    let all = |v: &[Expr]| v.iter().all(is_guard_expr);
    grow_stack(|| match e {
        Expr::Lit(_) | Expr::Str(_) | Expr::Var(_) => true,
        Expr::Tuple(v) => all(v),
        Expr::List(v, t) => all(v) && t.as_deref().is_none_or(is_guard_expr),
        Expr::Bin(segs) => segs.iter().all(|s| is_guard_expr(&s.value)),
        Expr::Map(base, fields) => {
            base.as_deref().is_none_or(is_guard_expr)
                && fields.iter().all(|f| is_guard_expr(&f.key) && is_guard_expr(&f.value))
        }
        Expr::Op(_, l, r) | Expr::AndAlso(l, r) | Expr::OrElse(l, r) => is_guard_expr(l) && is_guard_expr(r),
        Expr::Unary(_, x) => is_guard_expr(x),
        Expr::Call(m, f, args) => {
            let module_ok = match m.as_deref() {
                None => true,
                Some(Expr::Lit(t)) => t.is_atom("erlang"),
                Some(_) => false,
            };
            module_ok && matches!(&**f, Expr::Lit(Term::Atom(a)) if GUARD_BIFS.contains(&a.name())) && all(args)
        }
        _ => false,
    })
}

fn comprehension(b: Bindings, e: &Expr, quals: &[Qualifier], cx: &mut Ctx<'_>, out: &mut Vec<Term>) -> Result<(), Exception> {
    match quals.split_first() {
        None => {
            let mut b = b;
            out.push(eval(&mut b, e, cx)?);
        }
        Some((Qualifier::Generator(p, src), rest)) => {
            let mut b1 = b.clone();
            let items = match eval(&mut b1, src, cx)? {
                Term::List(ref mut items) => std::mem::take(items),
                v => return Err(err2("bad_generator", v)),
            };
            let mut fresh = Vec::new();
            pattern_vars(p, &mut fresh);
            for item in &items {
                let mut trial = b.clone();
                for v in &fresh {
                    trial.remove(v);
                }
                if match_pattern(&mut trial, p, item, cx)? {
                    comprehension(trial, e, rest, cx, out)?;
                }
            }
        }
        Some((Qualifier::BinGenerator(p, src), rest)) => {
            let v = eval(&mut b.clone(), src, cx)?;
            let segs = match p {
                Expr::Bin(segs) => segs,
                _ => return Err(Exception::error(Term::atom("illegal_pattern"))),
            };
            let mut r = BitReader::of_term(&v).ok_or_else(|| err2("bad_generator", v.clone()))?;
            let mut fresh = Vec::new();
            pattern_vars(p, &mut fresh);
            while let Some(trial) = bin_generate(&b, &fresh, segs, &mut r, cx)? {
                if let Some(trial) = trial {
                    comprehension(trial, e, rest, cx, out)?;
                }
            }
        }
        Some((Qualifier::Filter(f), rest)) if is_guard_expr(f) => {
            // A filter that is a guard test is evaluated as a guard: an
            // exception or a non-boolean value just skips the element.
            let mut b1 = b;
            if guard_ok(&mut b1, &vec![vec![f.clone()]], cx) {
                comprehension(b1, e, rest, cx, out)?;
            }
        }
        Some((Qualifier::Filter(f), rest)) => {
            let mut b1 = b;
            match eval(&mut b1, f, cx)? {
                v if v.is_atom("true") => comprehension(b1, e, rest, cx, out)?,
                v if v.is_atom("false") => {}
                v => return Err(err2("bad_filter", v)),
            }
        }
    }
    Ok(())
}

/// One step of a binary generator (`eval_bits:bin_gen`): matches the
/// segments at the reader's position. `None` when a segment cannot be read
/// (the generator is done), `Some(None)` when the bits were read but some
/// value did not match (skipped), `Some(Some(bindings))` on a match.
fn bin_generate(
    b: &Bindings,
    fresh: &[String],
    segs: &[BinSeg],
    r: &mut BitReader<'_>,
    cx: &mut Ctx<'_>,
) -> Result<Option<Option<Bindings>>, Exception> {
    let mut trial = b.clone();
    for v in fresh {
        trial.remove(v);
    }
    let mut matched = true;
    for seg in segs {
        let size = match &seg.size {
            Some(e) => Some(eval_in_pattern(&mut trial, e, cx)?),
            None => None,
        };
        let n = match bits::segment_bits(&seg.spec, size.as_ref()) {
            Ok(n) => n,
            Err(_) => return Ok(None),
        };
        let want: Vec<Term> = match &seg.value {
            Expr::Str(s) => s.chars().map(|c| Term::Int(c as i64)).collect(),
            _ => Vec::new(),
        };
        if !want.is_empty() {
            for w in want {
                match bits::read_segment(r, n, &seg.spec)? {
                    Some(got) => matched &= got == w,
                    None => return Ok(None),
                }
            }
            continue;
        }
        match bits::read_segment(r, n, &seg.spec)? {
            Some(got) => {
                if matched && !match_pattern(&mut trial, &seg.value, &got, cx)? {
                    matched = false;
                }
            }
            None => return Ok(None),
        }
    }
    Ok(Some(matched.then_some(trial)))
}

/// `try Body of Clauses catch CatchClauses after After end`, as
/// `erl_eval` runs it: an exception in the body goes to the first catch
/// clause whose class, reason and guard match (none: it propagates); the
/// `of` clauses see the body's value (none matching: `{try_clause, V}`)
/// and their exceptions are not caught; `after` runs in every case, its
/// value discarded (an exception in it replaces the result). The stack
/// trace a clause binds is `[]` (porthost keeps none). An exit signal
/// that killed the process is not an exception and is never caught.
fn eval_try(b: &mut Bindings, t: &super::parse::TryExpr, cx: &mut Ctx<'_>) -> R {
    let result = match eval_body(b, &t.body, cx) {
        Ok(v) if t.of.is_empty() => Ok(v),
        Ok(v) => (|| {
            for cl in &t.of {
                let mut trial = b.clone();
                if match_pattern(&mut trial, &cl.pattern, &v, cx)? && guard_ok(&mut trial, &cl.guard, cx) {
                    *b = trial;
                    return eval_body(b, &cl.body, cx);
                }
            }
            Err(err2("try_clause", v))
        })(),
        Err(ex) => {
            let killed = match cx.rt.as_deref_mut() {
                Some(rt) => rt.check_signals().err(),
                None => None,
            };
            match killed {
                Some(k) => Err(k),
                None => try_catch(b, &t.catches, ex, cx),
            }
        }
    };
    if !t.after.is_empty() {
        let mut ab = b.clone();
        eval_body(&mut ab, &t.after, cx)?;
    }
    result
}

/// The catch clauses of a `try` applied to `ex`.
fn try_catch(b: &mut Bindings, catches: &[super::parse::CatchClause], ex: Exception, cx: &mut Ctx<'_>) -> R {
    let class = Term::Atom(ex.class);
    for cl in catches {
        let mut trial = b.clone();
        if let Some(s) = &cl.stack {
            if trial.contains_key(s) {
                // erl_lint: the stack variable must be unbound.
                return Err(unbound_stack(s));
            }
            trial.insert(s.clone(), Term::nil());
        }
        if match_pattern(&mut trial, &cl.class, &class, cx)?
            && match_pattern(&mut trial, &cl.reason, &ex.reason, cx)?
            && guard_ok(&mut trial, &cl.guard, cx)
        {
            *b = trial;
            return eval_body(b, &cl.body, cx);
        }
    }
    Err(ex)
}

fn unbound_stack(name: &str) -> Exception {
    err2("stacktrace_bound", Term::atom(name))
}

fn eval_call(b: &mut Bindings, m: Option<&Expr>, f: &Expr, args: &[Expr], cx: &mut Ctx<'_>) -> R {
    match m {
        Some(me) => {
            let mv = eval(b, me, cx)?;
            let fv = eval(b, f, cx)?;
            let argv = eval_list(b, args, cx)?;
            match (mv, fv) {
                (Term::Atom(m), Term::Atom(f)) => call_remote(m, f, argv, cx),
                (mv, fv) => Err(err2("badfun", Term::tuple(vec![mv, fv]))),
            }
        }
        None => match f {
            Expr::Lit(Term::Atom(name)) => {
                let argv = eval_list(b, args, cx)?;
                call_local(*name, argv, cx)
            }
            _ => {
                let fv = eval(b, f, cx)?;
                let argv = eval_list(b, args, cx)?;
                match fv {
                    Term::Fun(ref fun) => apply_fun(fun, argv, cx),
                    fv => Err(err2("badfun", fv)),
                }
            }
        },
    }
}

/// What a local fun made by the evaluator carries: its clauses and the
/// bindings it closed over.
///
/// A fun keeps only the bindings its clauses name (`erl_eval` keeps them
/// all, which no program can tell apart), so that a call does not copy
/// a large term the fun never reads (`lists:map(fun(X) -> X end, L)` with
/// a long `L` in scope was quadratic). Per clause, the parameters its
/// body reads exactly once, outside any fun or comprehension (`movable`),
/// are moved into the body rather than copied: folding `fun(_, A) -> {A}
/// end` 20,000 times was quadratic in the depth of `A`.
struct Closure {
    def: Arc<FunDef>,
    bindings: Bindings,
    movable: Vec<Arc<std::collections::HashSet<String>>>,
}

/// The fun value of `def` in the bindings `b`.
fn make_fun(def: &Arc<FunDef>, b: &Bindings) -> R {
    let arity = u8::try_from(def.arity()).map_err(|_| Exception::error(Term::atom("system_limit")))?;
    let mut uses = VarUses::default();
    for c in &def.clauses {
        c.params.iter().for_each(|p| uses.expr(p, false));
        c.guard.iter().flatten().for_each(|e| uses.expr(e, false));
        c.body.iter().for_each(|e| uses.expr(e, false));
    }
    let bindings = b.iter().filter(|(k, _)| uses.count.contains_key(k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect();
    let movable = def.clauses.iter().map(|c| Arc::new(movable_params(c, def.name.as_deref()))).collect();
    let closure = Closure { def: def.clone(), bindings, movable };
    Ok(Term::Fun(Fun::local(arity, def.name.is_some(), closure)))
}

/// The parameters of clause `c` (plain variables, each once) that its
/// body reads exactly once, not in its guard, nor inside a fun or a
/// comprehension (which may evaluate it again).
fn movable_params(c: &super::parse::FunClause, name: Option<&str>) -> std::collections::HashSet<String> {
    let mut params = VarUses::default();
    c.params.iter().for_each(|p| params.expr(p, false));
    let mut body = VarUses::default();
    c.guard.iter().flatten().for_each(|e| body.expr(e, true));
    c.body.iter().for_each(|e| body.expr(e, false));
    c.params
        .iter()
        .filter_map(|p| match p {
            Expr::Var(v) if v != "_" && Some(v.as_str()) != name => Some(v),
            _ => None,
        })
        .filter(|v| params.count.get(v.as_str()) == Some(&1) && body.count.get(v.as_str()) == Some(&1))
        .cloned()
        .collect()
}

/// How often each variable occurs in expressions (an occurrence that may
/// be evaluated more than once, in a guard, a fun or a comprehension,
/// counts as two).
#[derive(Default)]
struct VarUses {
    count: HashMap<String, usize>,
}

impl VarUses {
    fn expr(&mut self, e: &Expr, again: bool) {
        grow_stack(|| self.expr_here(e, again))
    }

    fn all(&mut self, es: &[Expr], again: bool) {
        es.iter().for_each(|e| self.expr(e, again));
    }

    fn expr_here(&mut self, e: &Expr, again: bool) {
        match e {
            Expr::Var(v) => *self.count.entry(v.clone()).or_default() += if again { 2 } else { 1 },
            Expr::Lit(_) | Expr::Str(_) => {}
            Expr::Tuple(v) | Expr::Block(v) => self.all(v, again),
            Expr::List(v, t) => {
                self.all(v, again);
                if let Some(t) = t {
                    self.expr(t, again);
                }
            }
            Expr::Bin(segs) => segs.iter().for_each(|s| {
                self.expr(&s.value, again);
                if let Some(z) = &s.size {
                    self.expr(z, again);
                }
            }),
            Expr::Map(base, fields) => {
                if let Some(b) = base {
                    self.expr(b, again);
                }
                fields.iter().for_each(|f| {
                    self.expr(&f.key, again);
                    self.expr(&f.value, again);
                });
            }
            Expr::Match(a, b) | Expr::Send(a, b) | Expr::Op(_, a, b) | Expr::AndAlso(a, b) | Expr::OrElse(a, b) => {
                self.expr(a, again);
                self.expr(b, again);
            }
            Expr::Unary(_, a) | Expr::Catch(a) => self.expr(a, again),
            Expr::Call(m, f, args) => {
                if let Some(m) = m {
                    self.expr(m, again);
                }
                self.expr(f, again);
                self.all(args, again);
            }
            Expr::Case(x, clauses) => {
                self.expr(x, again);
                self.clauses(clauses, again);
            }
            Expr::If(branches) => branches.iter().for_each(|(g, body)| {
                g.iter().flatten().for_each(|e| self.expr(e, true));
                self.all(body, again);
            }),
            Expr::Receive(clauses, after) => {
                self.clauses(clauses, again);
                if let Some((t, body)) = after {
                    self.expr(t, again);
                    self.all(body, again);
                }
            }
            Expr::ListComp(x, quals) | Expr::BinComp(x, quals) => {
                self.expr(x, true);
                quals.iter().for_each(|q| match q {
                    Qualifier::Generator(p, src) | Qualifier::BinGenerator(p, src) => {
                        self.expr(p, true);
                        self.expr(src, true);
                    }
                    Qualifier::Filter(f) => self.expr(f, true),
                });
            }
            Expr::Try(t) => {
                // The body may run partly before an exception: its uses,
                // and the clauses', count as repeated.
                self.all(&t.body, true);
                self.clauses(&t.of, true);
                t.catches.iter().for_each(|c| {
                    self.expr(&c.class, true);
                    self.expr(&c.reason, true);
                    if let Some(s) = &c.stack {
                        *self.count.entry(s.clone()).or_default() += 2;
                    }
                    c.guard.iter().flatten().for_each(|e| self.expr(e, true));
                    self.all(&c.body, true);
                });
                self.all(&t.after, true);
            }
            Expr::Fun(def) => def.clauses.iter().for_each(|c| {
                c.params.iter().for_each(|p| self.expr(p, true));
                c.guard.iter().flatten().for_each(|e| self.expr(e, true));
                self.all(&c.body, true);
            }),
            Expr::ExternalFun(m, f, a) => {
                self.expr(m, again);
                self.expr(f, again);
                self.expr(a, again);
            }
        }
    }

    fn clauses(&mut self, clauses: &[Clause], again: bool) {
        clauses.iter().for_each(|c| {
            self.expr(&c.pattern, again);
            c.guard.iter().flatten().for_each(|e| self.expr(e, true));
            self.all(&c.body, again);
        });
    }
}

/// Calls `fun` with `args`, as `erl_eval` does: `{badarity, {Fun, Args}}`
/// for the wrong number of arguments, `function_clause` when no clause
/// matches. Calls in tail position are made here, in a loop (see
/// [`Tail`]).
fn apply_fun(fun: &Fun, args: Vec<Term>, cx: &mut Ctx<'_>) -> R {
    let mut next = call_once(fun, args, cx)?;
    loop {
        match next {
            Tail::Value(v) => return Ok(v),
            Tail::Call(f, a) => next = call_once(&f, a, cx)?,
        }
    }
}

/// One step of [`apply_fun`]: selects the clause and evaluates its body,
/// returning a call the body ends with unmade.
fn call_once(fun: &Fun, args: Vec<Term>, cx: &mut Ctx<'_>) -> Result<Tail, Exception> {
    if fun.arity() != args.len() {
        return Err(err2("badarity", Term::tuple(vec![Term::Fun(fun.clone()), Term::List(args)])));
    }
    let closure = match fun {
        Fun::External { module, function, .. } => return call_remote(*module, *function, args, cx).map(Tail::Value),
        Fun::Local(_) => match fun.payload::<Closure>() {
            Some(c) => c,
            // A fun some other maker made: nothing here can call it.
            None => return Err(err2("badfun", Term::Fun(fun.clone()))),
        },
    };
    // The caller's movable variables are not this clause's: none while
    // the clauses match, the chosen clause's in its body, the caller's
    // again afterwards, whatever happens.
    let outer = cx.movable.take();
    let r = select_clause(fun, closure, args, cx);
    cx.movable = outer;
    r
}

/// [`call_once`]'s clause selection and body (with `cx.movable` unset).
fn select_clause(fun: &Fun, closure: &Closure, args: Vec<Term>, cx: &mut Ctx<'_>) -> Result<Tail, Exception> {
    let mut args = args;
    for (i, clause) in closure.def.clauses.iter().enumerate() {
        let mut trial = closure.bindings.clone();
        if let Some(name) = &closure.def.name {
            trial.insert(name.clone(), Term::Fun(fun.clone()));
        }
        let mut fresh = Vec::new();
        clause.params.iter().for_each(|p| pattern_vars(p, &mut fresh));
        for v in &fresh {
            trial.remove(v);
        }
        let movable = closure.movable.get(i).filter(|m| !m.is_empty());
        let mut matched = true;
        let mut moved = Vec::new();
        for (j, p) in clause.params.iter().enumerate() {
            // A parameter the body reads once takes the argument itself.
            if let (Expr::Var(v), Some(m)) = (p, movable) {
                if m.contains(v) {
                    trial.insert(v.clone(), std::mem::replace(&mut args[j], Term::nil()));
                    moved.push((j, v));
                    continue;
                }
            }
            if !match_pattern(&mut trial, p, &args[j], cx)? {
                matched = false;
                break;
            }
        }
        if matched && guard_ok(&mut trial, &clause.guard, cx) {
            cx.movable = movable.cloned();
            return eval_body_tail(&mut trial, &clause.body, cx);
        }
        // Give the moved arguments back for the next clause.
        for (j, v) in moved {
            if let Some(a) = trial.remove(v.as_str()) {
                args[j] = a;
            }
        }
    }
    Err(Exception::error(Term::atom("function_clause")))
}

/// The `lists` functions that take a fun: `map/2`, `foreach/2`,
/// `filter/2`, `any/2`, `all/2`, `foldl/3`, `foldr/3`; `None` for others.
/// Bad arguments raise what OTP 25's `lists.erl` raises: `function_clause`
/// for a fun of the wrong arity or a non-list (`{case_clause, L}` from
/// `map`, `any`, `all` and `foldl`, `{bad_generator, L}` from `filter`),
/// `{bad_filter, V}` or `{case_clause, V}` when a predicate answers `V`,
/// not a boolean. An improper list raises `function_clause` at once
/// (`lists.erl` first applies the fun to the elements before the tail).
fn lists_fun_bif(f: &str, args: &[Term], cx: &mut Ctx<'_>) -> Option<R> {
    let arity = match (f, args.len()) {
        ("map" | "foreach" | "filter" | "any" | "all", 2) => 1,
        ("foldl" | "foldr", 3) => 2,
        _ => return None,
    };
    let function_clause = || Exception::error(Term::atom("function_clause"));
    let fun = match &args[0] {
        Term::Fun(fun) if fun.arity() == arity => fun,
        _ => return Some(Err(function_clause())),
    };
    let list = &args[args.len() - 1];
    let items = match (list, bifs::list_items(list)) {
        (_, Some(items)) => items.to_vec(),
        (Term::Improper(..), None) => return Some(Err(function_clause())),
        (_, None) => {
            return Some(Err(match f {
                "map" | "foldl" | "any" | "all" => err2("case_clause", list.clone()),
                "filter" => err2("bad_generator", list.clone()),
                _ => function_clause(),
            }))
        }
    };
    let tag = if f == "filter" { "bad_filter" } else { "case_clause" };
    let boolean = |v: Term| match v {
        v if v.is_atom("true") => Ok(true),
        v if v.is_atom("false") => Ok(false),
        v => Err(err2(tag, v)),
    };
    let run = || -> R {
        Ok(match f {
            "map" => {
                let mut out = Vec::with_capacity(items.len());
                for x in items {
                    out.push(apply_fun(fun, vec![x], cx)?);
                }
                Term::List(out)
            }
            "foreach" => {
                for x in items {
                    apply_fun(fun, vec![x], cx)?;
                }
                Term::atom("ok")
            }
            "filter" => {
                let mut out = Vec::new();
                for x in items {
                    if boolean(apply_fun(fun, vec![x.clone()], cx)?)? {
                        out.push(x);
                    }
                }
                Term::List(out)
            }
            "any" | "all" => {
                let stop_at = f == "any";
                for x in items {
                    if boolean(apply_fun(fun, vec![x], cx)?)? == stop_at {
                        return Ok(Term::atom(if stop_at { "true" } else { "false" }));
                    }
                }
                Term::atom(if stop_at { "false" } else { "true" })
            }
            _ => {
                let mut acc = args[1].clone();
                let ordered: Box<dyn Iterator<Item = Term>> =
                    if f == "foldl" { Box::new(items.into_iter()) } else { Box::new(items.into_iter().rev()) };
                for x in ordered {
                    acc = apply_fun(fun, vec![x, acc], cx)?;
                }
                acc
            }
        })
    };
    Some(run())
}

/// A spawned process's standard output: the same open file as the
/// script's (a duplicate of descriptor 1), written a whole line at a time.
/// The process's `flush()` prints there; it does not go through the
/// script's `out`, which belongs to the main process (and whose lock the
/// CLI holds while the script runs).
fn child_stdout() -> Option<std::io::LineWriter<std::fs::File>> {
    use std::os::fd::AsFd;
    let fd = std::io::stdout().as_fd().try_clone_to_owned().ok()?;
    Some(std::io::LineWriter::new(std::fs::File::from(fd)))
}

/// `spawn/1,3`, `spawn_link/1,3`, `spawn_monitor/1,3` (and the `/2,4`
/// forms without their node): `None` when `args`
/// are not a fun or `Module, Function, Args` (the caller raises `badarg`).
/// The new process applies the fun to no arguments (a fun of another arity
/// makes it exit with `{badarity, ...}`, as in ERTS).
fn spawn_body(args: &[Term]) -> Option<ProcessBody> {
    enum What {
        Fun(Fun),
        Mfa(Atom, Atom, Vec<Term>),
    }
    let what = match args {
        [Term::Fun(f)] => What::Fun(f.clone()),
        [Term::Atom(m), Term::Atom(f), a] => What::Mfa(*m, *f, bifs::list_items(a)?.to_vec()),
        _ => return None,
    };
    Some(Box::new(move |rt: &mut dyn Runtime| {
        let mut stdout = child_stdout();
        let mut cx = Ctx { rt: Some(rt), out: stdout.as_mut().map(|w| w as &mut dyn Write), movable: None };
        match what {
            What::Fun(f) => apply_fun(&f, Vec::new(), &mut cx),
            What::Mfa(m, f, a) => call_remote(m, f, a, &mut cx),
        }
        .map(|_| ())
    }))
}

/// The BIFs that need funs or the evaluator (`is_function/1,2`,
/// `apply/2`, `spawn*`, `term_to_binary/1,2` of a fun); `None` for others.
fn erlang_fun_bif(f: &str, args: &[Term], cx: &mut Ctx<'_>) -> Option<R> {
    Some(match (f, args) {
        ("is_function", [t]) => Ok(Term::atom(if matches!(t, Term::Fun(_)) { "true" } else { "false" })),
        ("is_function", [Term::Fun(fun), n]) => match n {
            Term::Int(a) if *a >= 0 => Ok(Term::atom(if fun.arity() as i64 == *a { "true" } else { "false" })),
            Term::BigInt(_) if crate::term::order::compare(n, &Term::Int(0), false).is_gt() => Ok(t_false()),
            _ => Err(Exception::badarg()),
        },
        ("apply", [Term::Fun(fun), list]) => match bifs::list_items(list) {
            Some(items) => apply_fun(fun, items.to_vec(), cx),
            None => Err(Exception::badarg()),
        },
        ("term_to_binary", [t, ..]) if !ext::encodable(t) => Err(Exception::badarg()),
        ("spawn" | "spawn_link" | "spawn_monitor", _) if (1..=4).contains(&args.len()) => {
            // spawn/2,4 take a node first: this one is the only node.
            let args = match args.len() {
                2 | 4 if args[0].is_atom("nonode@nohost") => &args[1..],
                2 | 4 => return Some(Err(Exception::badarg())),
                _ => args,
            };
            let body = spawn_body(args).ok_or_else(Exception::badarg);
            let opts = SpawnOptions { link: f == "spawn_link", monitor: f == "spawn_monitor" };
            let r = match (body, cx.rt.as_deref_mut()) {
                (Err(e), _) => Err(e),
                (Ok(_), None) => Err(undef()),
                (Ok(body), Some(rt)) => rt.spawn(body, opts),
            };
            r.map(|(pid, mref)| match mref {
                Some(m) => Term::tuple(vec![Term::Pid(pid), Term::Ref(m)]),
                None => Term::Pid(pid),
            })
        }
        _ => return None,
    })
}

fn call_local(name: Atom, args: Vec<Term>, cx: &mut Ctx<'_>) -> R {
    let n = name.name();
    if n == "flush" && args.is_empty() {
        return flush(cx);
    }
    if bifs::is_auto_imported(n, args.len()) {
        return call_remote(Atom::new("erlang"), name, args, cx);
    }
    Err(Exception::error(Term::tuple(vec![Term::atom("undef"), Term::Atom(name), Term::Int(args.len() as i64)])))
}

fn undef() -> Exception {
    Exception::error(Term::atom("undef"))
}

/// The stack left for a call into the runtime, which may run a driver.
const DRIVER_STACK: usize = 1 << 20;

/// Local references, for `make_ref/0` when the runtime has none of its own.
static NEXT_REF: AtomicU64 = AtomicU64::new(1 << 40);

fn call_remote(m: Atom, f: Atom, args: Vec<Term>, cx: &mut Ctx<'_>) -> R {
    let (mn, fnm) = (m.name(), f.name());
    if mn == "erlang" {
        if let Some(r) = erlang_fun_bif(fnm, &args, cx) {
            return r;
        }
    }
    if mn == "lists" {
        if let Some(r) = lists_fun_bif(fnm, &args, cx) {
            return r;
        }
    }
    if matches!(mn, "lists" | "maps" | "proplists" | "string" | "binary" | "timer") {
        let mut apply = |f: &Fun, a: Vec<Term>| apply_fun(f, a, cx);
        if let Some(r) = super::lib::call(mn, fnm, &args, &mut apply) {
            return r;
        }
    }
    if let Some(r) = super::os::call(mn, fnm, &args, cx.rt.as_deref_mut()) {
        return r;
    }
    if mn == "io" || mn == "io_lib" {
        if let Some(r) = super::format::call(mn, fnm, &args, cx.out.as_deref_mut()) {
            return r;
        }
    }
    if let Some(r) = bifs::call(mn, fnm, &args) {
        return r;
    }
    if mn == "erlang" {
        match (fnm, args.len()) {
            ("apply", 3) => {
                let argv = bifs::list_items(&args[2]).ok_or_else(Exception::badarg)?.to_vec();
                return match (&args[0], &args[1]) {
                    (Term::Atom(m2), Term::Atom(f2)) => call_remote(*m2, *f2, argv, cx),
                    _ => Err(Exception::badarg()),
                };
            }
            ("apply", 2) => return Err(err2("badfun", args[0].clone())),
            ("make_ref", 0) => {
                let r = match cx.rt.as_deref_mut() {
                    Some(rt) => rt.call(m, f, Vec::new()),
                    None => Err(undef()),
                };
                return match r {
                    Err(e) if e.reason.is_atom("undef") => {
                        Ok(Term::Ref(Ref(NEXT_REF.fetch_add(1, AtomicOrdering::Relaxed))))
                    }
                    r => r,
                };
            }
            _ => {}
        }
    }
    match cx.rt.as_deref_mut() {
        // The port BIFs run driver callbacks on this thread: give them the
        // stack an ERTS scheduler has (about 1 MiB), however deep the
        // script's recursion is.
        Some(rt) => stacker::maybe_grow(DRIVER_STACK, 4 * DRIVER_STACK, || rt.call(m, f, args)),
        None => Err(undef()),
    }
}

/// `flush()`: prints `Shell got ~w` for each waiting message; returns `ok`.
fn flush(cx: &mut Ctx<'_>) -> R {
    loop {
        let msg = {
            let rt = cx.rt.as_deref_mut().ok_or_else(Exception::badarg)?;
            rt.receive(&mut |_| true, Some(Duration::ZERO))?
        };
        match msg {
            Some(m) => {
                if let Some(out) = cx.out.as_deref_mut() {
                    let _ = writeln!(out, "Shell got {m}");
                }
            }
            None => return Ok(Term::atom("ok")),
        }
    }
}
