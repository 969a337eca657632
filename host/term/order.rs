//! Erlang's standard term order.
//!
//! `number < atom < reference < fun < port < pid < tuple < map < nil < list
//! < bitstring`. Within a type: numbers by value; atoms by their text;
//! references, ports and pids by number; local funs by identity (in the
//! order they were made) and before external funs, which compare by
//! module, function name and arity (see [`crate::term::Fun`]); tuples by size, then element by
//! element; maps by size, then by their keys in order, then by the values in
//! key order; lists element by element (a proper list's end, `[]`, sorts
//! before any further element); bitstrings (binaries included) bit by bit,
//! a prefix first, as ERTS's `erts_cmp_bits` does, so `<<1:1>> < <<128>> <
//! <<128,0:1>>`.
//!
//! Two modes, as in ERTS's `erts_cmp`:
//! - **arithmetic** (`exact == false`; `<`, `==`, `lists:sort/1`): an
//!   integer and a float compare by their exact mathematical values, so
//!   `1 == 1.0`;
//! - **exact** (`exact == true`; `=:=`, `=/=`, map keys): integers and floats
//!   are never equal, and every integer orders before every float (this is
//!   the order ERTS uses for the keys of a map: `#{-1 => a,2 => b,0.5 => c}`).
//!
//! Map keys are always compared exactly, in both modes (`#{1 => a} ==
//! #{1.0 => a}` is `false` in ERTS).

use std::cmp::Ordering;

use super::{Fun, Term};

/// The rank of a term's type in the standard order.
fn rank(t: &Term) -> u8 {
    match t {
        Term::Int(_) | Term::BigInt(_) | Term::Float(_) => 0,
        Term::Atom(_) => 1,
        Term::Ref(_) => 2,
        Term::Fun(_) => 3,
        Term::Port(_) => 4,
        Term::Pid(_) => 5,
        Term::Tuple(_) => 6,
        Term::Map(_) => 7,
        Term::List(v) if v.is_empty() => 8,
        Term::List(_) | Term::ByteList(_) | Term::Improper(..) => 9,
        Term::Binary(_) | Term::BitString(..) => 10,
    }
}

/// Compares two terms in the standard order; `exact` selects `=:=`
/// semantics for numbers (see the module documentation).
pub fn compare(a: &Term, b: &Term, exact: bool) -> Ordering {
    // Nested terms compare by recursion: on a stack that grows as needed.
    // Only terms with terms inside recurse: leaves need no stack check.
    if a.nests() || b.nests() {
        super::grow_stack(|| compare_here(a, b, exact))
    } else {
        compare_here(a, b, exact)
    }
}

fn compare_here(a: &Term, b: &Term, exact: bool) -> Ordering {
    let (ra, rb) = (rank(a), rank(b));
    if ra != rb {
        return ra.cmp(&rb);
    }
    match (a, b) {
        // Byte lists compare as their integers do, element by element.
        (Term::ByteList(x), Term::ByteList(y)) => x.as_slice().cmp(y.as_slice()),
        (Term::ByteList(_), _) | (_, Term::ByteList(_)) => compare(&a.expanded(), &b.expanded(), exact),
        (Term::Atom(x), Term::Atom(y)) => {
            if x == y {
                Ordering::Equal
            } else {
                x.name().cmp(y.name())
            }
        }
        (Term::Ref(x), Term::Ref(y)) => x.cmp(y),
        (Term::Fun(x), Term::Fun(y)) => compare_funs(x, y),
        (Term::Port(x), Term::Port(y)) => x.cmp(y),
        (Term::Pid(x), Term::Pid(y)) => x.cmp(y),
        (Term::Tuple(x), Term::Tuple(y)) => {
            x.len().cmp(&y.len()).then_with(|| compare_seq(x, y, exact))
        }
        (Term::Map(x), Term::Map(y)) => x.len().cmp(&y.len()).then_with(|| {
            for ((ka, _), (kb, _)) in x.iter().zip(y) {
                match compare(ka, kb, true) {
                    Ordering::Equal => {}
                    o => return o,
                }
            }
            for ((_, va), (_, vb)) in x.iter().zip(y) {
                match compare(va, vb, exact) {
                    Ordering::Equal => {}
                    o => return o,
                }
            }
            Ordering::Equal
        }),
        (Term::Binary(x), Term::Binary(y)) => x.as_slice().cmp(y.as_slice()),
        (Term::Binary(_) | Term::BitString(..), Term::Binary(_) | Term::BitString(..)) => {
            let (x, xbits) = a.as_bits().expect("a bitstring");
            let (y, ybits) = b.as_bits().expect("a bitstring");
            compare_bits(x, xbits, y, ybits)
        }
        (Term::List(_) | Term::Improper(..), Term::List(_) | Term::Improper(..)) => {
            compare_lists(a, b, exact)
        }
        _ => compare_numbers(a, b, exact),
    }
}

fn compare_funs(x: &Fun, y: &Fun) -> Ordering {
    match (x, y) {
        (Fun::Local(a), Fun::Local(b)) => a.id().cmp(&b.id()),
        (Fun::Local(_), Fun::External { .. }) => Ordering::Less,
        (Fun::External { .. }, Fun::Local(_)) => Ordering::Greater,
        (
            Fun::External { module: m1, function: f1, arity: a1 },
            Fun::External { module: m2, function: f2, arity: a2 },
        ) => m1.name().cmp(m2.name()).then_with(|| f1.name().cmp(f2.name())).then(a1.cmp(a2)),
    }
}

/// Compares the first `xbits` bits of `x` with the first `ybits` bits of
/// `y`: the first differing bit decides, else the shorter sorts first.
fn compare_bits(x: &[u8], xbits: usize, y: &[u8], ybits: usize) -> Ordering {
    let n = xbits.min(ybits);
    let whole = n / 8;
    x[..whole].cmp(&y[..whole]).then_with(|| {
        let rest = n % 8;
        if rest == 0 {
            return Ordering::Equal;
        }
        (x[whole] >> (8 - rest)).cmp(&(y[whole] >> (8 - rest)))
    })
    .then(xbits.cmp(&ybits))
}

fn compare_seq(x: &[Term], y: &[Term], exact: bool) -> Ordering {
    for (p, q) in x.iter().zip(y) {
        match compare(p, q, exact) {
            Ordering::Equal => {}
            o => return o,
        }
    }
    Ordering::Equal
}

/// The cons cells of a list term: its elements and what follows them.
fn list_parts(t: &Term) -> (&[Term], Option<&Term>) {
    match t {
        Term::List(v) => (v, None),
        Term::Improper(v, tail) => (v, Some(tail)),
        _ => (&[], Some(t)),
    }
}

fn compare_lists(a: &Term, b: &Term, exact: bool) -> Ordering {
    let (xa, ta) = list_parts(a);
    let (xb, tb) = list_parts(b);
    match compare_seq(xa, xb, exact) {
        Ordering::Equal => {}
        o => return o,
    }
    // What follows the common prefix: either more cells of the longer list,
    // or each list's tail (`[]` for a proper list).
    let nil = Term::nil();
    let n = xa.len().min(xb.len());
    match (xa.len() > n, xb.len() > n) {
        (false, false) => match (ta, tb) {
            (None, None) => Ordering::Equal,
            _ => compare(ta.unwrap_or(&nil), tb.unwrap_or(&nil), exact),
        },
        // `b` continues with a cons cell; `a` ends with its tail.
        (false, true) => rank(ta.unwrap_or(&nil)).cmp(&9).then(Ordering::Less),
        (true, false) => 9.cmp(&rank(tb.unwrap_or(&nil))).then(Ordering::Greater),
        (true, true) => unreachable!("compare_seq covered the common prefix"),
    }
}

/// 2^63 as a float.
const TWO_63: f64 = 9223372036854775808.0;

fn big_is_negative(b: &eetf::BigInteger) -> bool {
    b.value < eetf::BigInteger::from(0u8).value
}

/// Compares an integer with a float by their exact values.
fn cmp_int_float(i: i64, f: f64) -> Ordering {
    if f >= TWO_63 {
        return Ordering::Less;
    }
    if f < -TWO_63 {
        return Ordering::Greater;
    }
    let t = f.trunc();
    match i.cmp(&(t as i64)) {
        Ordering::Equal => {
            let frac = f - t;
            if frac > 0.0 {
                Ordering::Less
            } else if frac < 0.0 {
                Ordering::Greater
            } else {
                Ordering::Equal
            }
        }
        o => o,
    }
}

/// Compares a big integer (outside the `i64` range) with a float exactly.
fn cmp_big_float(b: &eetf::BigInteger, f: f64) -> Ordering {
    if f.abs() < TWO_63 {
        return if big_is_negative(b) { Ordering::Less } else { Ordering::Greater };
    }
    // A float of magnitude 2^63 or more is an integer: compare exactly.
    let fb = eetf::BigInteger { value: format!("{f:.0}").parse().expect("integral float") };
    b.value.cmp(&fb.value)
}

fn compare_numbers(a: &Term, b: &Term, exact: bool) -> Ordering {
    use Term::*;
    match (a, b) {
        (Int(x), Int(y)) => x.cmp(y),
        (Float(x), Float(y)) => x.partial_cmp(y).unwrap_or(Ordering::Equal),
        (BigInt(x), BigInt(y)) => x.value.cmp(&y.value),
        (Int(_), BigInt(y)) => {
            if big_is_negative(y) {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
        (BigInt(x), Int(_)) => {
            if big_is_negative(x) {
                Ordering::Less
            } else {
                Ordering::Greater
            }
        }
        (Int(_) | BigInt(_), Float(_)) if exact => Ordering::Less,
        (Float(_), Int(_) | BigInt(_)) if exact => Ordering::Greater,
        (Int(x), Float(y)) => cmp_int_float(*x, *y),
        (Float(x), Int(y)) => cmp_int_float(*y, *x).reverse(),
        (BigInt(x), Float(y)) => cmp_big_float(x, *y),
        (Float(x), BigInt(y)) => cmp_big_float(y, *x).reverse(),
        _ => unreachable!("compare_numbers on non-numbers"),
    }
}

/// A hash consistent with exact equality (`=:=`): terms that compare equal
/// with `exact` hash the same (a byte list as the list of its integers,
/// `0.0` as `-0.0`). It looks at no more than the first 64 nodes of a term
/// (in a fixed pre-order), so it costs O(1) whatever the term's size or
/// depth: for hash-based multisets (`--`), where collisions only cost time.
pub fn exact_hash(t: &Term) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    let mut stack: Vec<&Term> = vec![t];
    let mut budget = 64usize;
    while let Some(t) = stack.pop() {
        if budget == 0 {
            break;
        }
        budget -= 1;
        rank(t).hash(&mut h);
        match t {
            Term::Atom(a) => a.index().hash(&mut h),
            Term::Int(i) => (b'i', *i).hash(&mut h),
            Term::BigInt(b) => (b'b', b.value.to_signed_bytes_le()).hash(&mut h),
            Term::Float(f) => (b'f', if *f == 0.0 { 0 } else { f.to_bits() }).hash(&mut h),
            Term::Binary(b) => (b.len() * 8, &b.as_slice()[..b.len().min(64)]).hash(&mut h),
            Term::BitString(b, bits) => ((b.len() - 1) * 8 + *bits as usize, &b.as_slice()[..b.len().min(64)]).hash(&mut h),
            Term::ByteList(b) => {
                // As the list of its integers, element by element.
                for &x in b.as_slice().iter().take(budget) {
                    rank(&Term::Int(0)).hash(&mut h);
                    (b'i', x as i64).hash(&mut h);
                }
                budget = budget.saturating_sub(b.len());
            }
            Term::List(v) | Term::Tuple(v) => {
                if matches!(t, Term::Tuple(_)) {
                    v.len().hash(&mut h);
                }
                stack.extend(v.iter().take(budget).rev());
            }
            Term::Improper(v, tail) => {
                stack.push(tail);
                stack.extend(v.iter().take(budget).rev());
            }
            Term::Map(kv) => {
                kv.len().hash(&mut h);
                for (k, v) in kv.iter().take(budget).rev() {
                    stack.push(v);
                    stack.push(k);
                }
            }
            Term::Pid(p) => p.hash(&mut h),
            Term::Port(p) => p.hash(&mut h),
            Term::Ref(r) => r.hash(&mut h),
            Term::Fun(Fun::Local(l)) => (b'l', l.id()).hash(&mut h),
            Term::Fun(Fun::External { module, function, arity }) => (module.index(), function.index(), *arity).hash(&mut h),
        }
    }
    h.finish()
}

#[cfg(test)]
mod tests {
    #[test]
    fn terms_equal_exactly_hash_the_same() {
        let same = [
            (Term::compact_byte_list(&[1, 2, 3]), Term::List(vec![Term::Int(1), Term::Int(2), Term::Int(3)])),
            (Term::Float(0.0), Term::Float(-0.0)),
            (Term::tuple(vec![Term::atom("a"), Term::compact_byte_list(&[7])]), Term::tuple(vec![Term::atom("a"), Term::List(vec![Term::Int(7)])])),
        ];
        for (a, b) in same {
            assert!(a == b);
            assert_eq!(super::exact_hash(&a), super::exact_hash(&b), "{a:?} {b:?}");
        }
        assert_ne!(super::exact_hash(&Term::Int(1)), super::exact_hash(&Term::Float(1.0)));
    }

    use super::*;
    use crate::term::{Atom, Pid, PortId, Ref};
    use Ordering::*;

    fn big(v: i128) -> Term {
        Term::BigInt(eetf::BigInteger { value: v.into() })
    }

    #[test]
    fn type_order() {
        let ascending = [
            Term::Int(5),
            Term::atom("a"),
            Term::Ref(Ref(1)),
            Term::Fun(Fun::local(0, false, ())),
            Term::Fun(Fun::local(0, false, ())),
            Term::Fun(Fun::External { module: Atom::new("erlang"), function: Atom::new("abs"), arity: 1 }),
            Term::Fun(Fun::External { module: Atom::new("erlang"), function: Atom::new("length"), arity: 1 }),
            Term::Fun(Fun::External { module: Atom::new("erlang"), function: Atom::new("length"), arity: 2 }),
            Term::Port(PortId(1)),
            Term::Pid(Pid(1)),
            Term::tuple(vec![]),
            Term::Map(vec![]),
            Term::nil(),
            Term::List(vec![Term::Int(1)]),
            Term::binary(b""),
        ];
        for (i, a) in ascending.iter().enumerate() {
            for (j, b) in ascending.iter().enumerate() {
                assert_eq!(compare(a, b, false), i.cmp(&j), "{a} vs {b}");
            }
        }
    }

    #[test]
    fn numbers() {
        assert_eq!(compare(&Term::Int(1), &Term::Float(1.0), false), Equal);
        assert_eq!(compare(&Term::Int(1), &Term::Float(1.0), true), Less);
        assert_eq!(compare(&Term::Int(2), &Term::Float(1.5), false), Greater);
        assert_eq!(compare(&Term::Int(2), &Term::Float(1.5), true), Less);
        assert_eq!(compare(&Term::Int(-1), &Term::Float(-0.5), false), Less);
        assert_eq!(compare(&Term::Float(0.5), &Term::Int(1), false), Less);
        assert_eq!(compare(&big(1 << 64), &Term::Float(1.8446744073709552e19), false), Equal);
        assert_eq!(compare(&big(1 << 64), &Term::Float(1.0e30), false), Less);
        assert_eq!(compare(&big(-(1 << 64)), &Term::Float(1.0), false), Less);
        assert_eq!(compare(&big(1 << 64), &Term::Int(i64::MAX), false), Greater);
        assert_eq!(compare(&big(-(1 << 64)), &Term::Int(i64::MIN), false), Less);
        assert_eq!(compare(&big(1 << 65), &big(1 << 64), false), Greater);
        assert_eq!(compare(&Term::Int(i64::MAX), &Term::Float(9.3e18), false), Less);
    }

    #[test]
    fn compound() {
        let t = |v: Vec<Term>| Term::tuple(v);
        assert_eq!(compare(&t(vec![Term::Int(1), Term::Int(2)]), &t(vec![Term::Int(3)]), false), Greater);
        let l = |v: Vec<i64>| Term::List(v.into_iter().map(Term::Int).collect());
        assert_eq!(compare(&l(vec![1]), &l(vec![1, 2]), false), Less);
        assert_eq!(compare(&l(vec![2]), &l(vec![1, 2]), false), Greater);
        // [1|2] vs [1,2]: tail 2 (a number) < [2] (a list).
        let imp = Term::Improper(vec![Term::Int(1)], Box::new(Term::Int(2)));
        assert_eq!(compare(&imp, &l(vec![1, 2]), false), Less);
        // [1|<<>>] vs [1,2]: a binary tail sorts after a list.
        let imp2 = Term::Improper(vec![Term::Int(1)], Box::new(Term::binary(b"")));
        assert_eq!(compare(&imp2, &l(vec![1, 2]), false), Greater);
        assert_eq!(compare(&imp, &imp, true), Equal);
        assert_eq!(compare(&Term::binary(b"ab"), &Term::binary(b"b"), false), Less);
        assert_eq!(compare(&Term::binary(b"a"), &Term::binary(b"ab"), false), Less);
        assert_eq!(compare(&Term::atom("b"), &Term::atom("ab"), false), Greater);
        // [1] == [1.0] but not =:=.
        let lf = Term::List(vec![Term::Float(1.0)]);
        assert_eq!(compare(&l(vec![1]), &lf, false), Equal);
        assert_ne!(compare(&l(vec![1]), &lf, true), Equal);
    }

    /// Expectations from OTP 25: `lists:sort([<<1:1>>, <<128>>, <<>>,
    /// <<0:1>>, <<1>>, <<1,0:1>>, <<255:7>>, <<254>>])` is `[<<>>,<<0:1>>,
    /// <<1>>,<<1,0:1>>,<<1:1>>,<<128>>,<<127:7>>,<<254>>]`, and `<<1:7>> <
    /// <<1>>` is false.
    #[test]
    fn bitstrings_compare_bit_by_bit() {
        let ascending = [
            Term::binary(b""),
            Term::bitstring(&[0], 1),
            Term::binary(&[1]),
            Term::bitstring(&[1, 0], 9),
            Term::bitstring(&[0x80], 1),
            Term::binary(&[128]),
            Term::bitstring(&[0xfe], 7),
            Term::binary(&[254]),
        ];
        for (i, a) in ascending.iter().enumerate() {
            for (j, b) in ascending.iter().enumerate() {
                assert_eq!(compare(a, b, false), i.cmp(&j), "{a} vs {b}");
                assert_eq!(compare(a, b, true), i.cmp(&j), "{a} vs {b}");
            }
        }
        assert_eq!(compare(&Term::bitstring(&[2], 7), &Term::binary(&[1]), false), Greater);
        assert_eq!(compare(&Term::bitstring(&[1, 0x40], 11), &Term::bitstring(&[1, 0x5f], 11), false), Equal);
        assert_eq!(compare(&Term::bitstring(&[1], 7), &Term::List(vec![Term::Int(1)]), false), Greater);
    }

    #[test]
    fn maps_compare_keys_exactly() {
        let m = |k: Term, v: Term| Term::Map(vec![(k, v)]);
        // #{1 => a} == #{1.0 => a} is false in ERTS.
        assert_ne!(compare(&m(Term::Int(1), Term::atom("a")), &m(Term::Float(1.0), Term::atom("a")), false), Equal);
        // #{a => 1} == #{a => 1.0} is true.
        assert_eq!(compare(&m(Term::atom("a"), Term::Int(1)), &m(Term::atom("a"), Term::Float(1.0)), false), Equal);
        // #{a=>1,b=>2} < #{a=>2,c=>1}: keys first.
        let m2 = |a: (&str, i64), b: (&str, i64)| {
            Term::Map(vec![(Term::atom(a.0), Term::Int(a.1)), (Term::atom(b.0), Term::Int(b.1))])
        };
        assert_eq!(compare(&m2(("a", 1), ("b", 2)), &m2(("a", 2), ("c", 1)), false), Less);
    }
}
