//! Erlang arithmetic over [`Term`] numbers: small integers (`i64`), big
//! integers (`eetf::BigInteger`, whose `num-bigint` value supplies the
//! arithmetic) and floats, with ERTS's promotion rules and `badarith`.
//!
//! Every integer result goes through [`normalize_big`], so a
//! `Term::BigInt` never holds a value that fits `i64`.

use crate::script::Exception;
use crate::term::Term;

type Big = eetf::BigInteger;

/// The most bits an integer may have: ERTS's `BIG_ARITY_MAX`, 2^19 - 1
/// words of 64 bits (OTP 25: `1 bsl 33554367` is an integer, `1 bsl
/// 33554368` and `(1 bsl 16777200) * (1 bsl 16777200)` are
/// `system_limit`). Checked before a result is computed where its size is
/// known ahead (`*`, `bsl`), so that no input makes an integer of
/// gigabytes.
const MAX_BIG_BITS: u64 = ((1 << 19) - 1) * 64;

fn system_limit() -> Exception {
    Exception::error(Term::atom("system_limit"))
}

/// A big integer result, or `system_limit` past [`MAX_BIG_BITS`].
fn big_result(value: num_bigint::BigInt) -> Result<Term, Exception> {
    if value.bits() > MAX_BIG_BITS {
        return Err(system_limit());
    }
    Ok(Term::from_big(Big { value }))
}

fn big(i: i64) -> Big {
    Big::from(i)
}

/// The integer in `t` as a big integer, if `t` is an integer.
pub fn to_big(t: &Term) -> Option<Big> {
    match t {
        Term::Int(i) => Some(big(*i)),
        Term::BigInt(b) => Some(b.clone()),
        _ => None,
    }
}

/// `t` converted to a float as `float/1` does; `None` for non-numbers and
/// for integers too large for a float.
pub fn to_f64(t: &Term) -> Option<f64> {
    match t {
        Term::Int(i) => Some(*i as f64),
        Term::Float(f) => Some(*f),
        Term::BigInt(b) => b.value.to_string().parse::<f64>().ok().filter(|f| f.is_finite()),
        _ => None,
    }
}

/// True for integers and floats.
pub fn is_number(t: &Term) -> bool {
    matches!(t, Term::Int(_) | Term::BigInt(_) | Term::Float(_))
}

/// True for integers, small or big.
pub fn is_integer(t: &Term) -> bool {
    matches!(t, Term::Int(_) | Term::BigInt(_))
}

/// True if the integer `t` is negative (false for non-integers).
pub fn is_negative(t: &Term) -> bool {
    match t {
        Term::Int(i) => *i < 0,
        Term::BigInt(b) => b.value < big(0).value,
        _ => false,
    }
}

/// `error:badarith`.
pub fn badarith() -> Exception {
    Exception::error(Term::atom("badarith"))
}

fn float_result(f: f64) -> Result<Term, Exception> {
    if f.is_finite() {
        Ok(Term::Float(f))
    } else {
        Err(badarith())
    }
}

/// Applies `+`, `-` or `*` (`op` is `b'+'`, `b'-'` or `b'*'`).
pub fn arith(op: u8, a: &Term, b: &Term) -> Result<Term, Exception> {
    match (a, b) {
        (Term::Int(x), Term::Int(y)) => {
            let r = match op {
                b'+' => x.checked_add(*y),
                b'-' => x.checked_sub(*y),
                _ => x.checked_mul(*y),
            };
            match r {
                Some(r) => Ok(Term::Int(r)),
                None => {
                    let (x, y) = (*x as i128, *y as i128);
                    Ok(Term::int(match op {
                        b'+' => x + y,
                        b'-' => x - y,
                        _ => x * y,
                    }))
                }
            }
        }
        _ if is_integer(a) && is_integer(b) => {
            let (x, y) = (to_big(a).unwrap(), to_big(b).unwrap());
            // A product has at least bits(x) + bits(y) - 1 bits.
            if op == b'*' && x.value.bits() + y.value.bits() > MAX_BIG_BITS + 1 && x.value.bits() > 0 && y.value.bits() > 0 {
                return Err(system_limit());
            }
            let value = match op {
                b'+' => &x.value + &y.value,
                b'-' => &x.value - &y.value,
                _ => &x.value * &y.value,
            };
            big_result(value)
        }
        _ if is_number(a) && is_number(b) => {
            let x = to_f64(a).ok_or_else(badarith)?;
            let y = to_f64(b).ok_or_else(badarith)?;
            float_result(match op {
                b'+' => x + y,
                b'-' => x - y,
                _ => x * y,
            })
        }
        _ => Err(badarith()),
    }
}

/// `A / B`: always a float; `badarith` on division by zero.
pub fn fdiv(a: &Term, b: &Term) -> Result<Term, Exception> {
    if !is_number(a) || !is_number(b) {
        return Err(badarith());
    }
    let x = to_f64(a).ok_or_else(badarith)?;
    let y = to_f64(b).ok_or_else(badarith)?;
    if y == 0.0 {
        return Err(badarith());
    }
    float_result(x / y)
}

/// `A div B` (`rem == false`) or `A rem B`: integers only, truncating
/// toward zero; `badarith` on zero divisors and non-integers.
pub fn int_div(a: &Term, b: &Term, rem: bool) -> Result<Term, Exception> {
    match (a, b) {
        (_, Term::Int(0)) => Err(badarith()),
        (Term::Int(x), Term::Int(y)) => {
            if rem {
                Ok(Term::Int(x.checked_rem(*y).unwrap_or(0)))
            } else {
                Ok(x.checked_div(*y).map(Term::Int).unwrap_or_else(|| Term::int(-(*x as i128))))
            }
        }
        _ if is_integer(a) && is_integer(b) => {
            let (x, y) = (to_big(a).unwrap(), to_big(b).unwrap());
            let value = if rem { &x.value % &y.value } else { &x.value / &y.value };
            Ok(Term::from_big(Big { value }))
        }
        _ => Err(badarith()),
    }
}

/// `band`, `bor`, `bxor` (`op` is `b'&'`, `b'|'`, `b'^'`).
pub fn bitwise(op: u8, a: &Term, b: &Term) -> Result<Term, Exception> {
    match (a, b) {
        (Term::Int(x), Term::Int(y)) => Ok(Term::Int(match op {
            b'&' => x & y,
            b'|' => x | y,
            _ => x ^ y,
        })),
        _ if is_integer(a) && is_integer(b) => {
            let (x, y) = (to_big(a).unwrap(), to_big(b).unwrap());
            let value = match op {
                b'&' => &x.value & &y.value,
                b'|' => &x.value | &y.value,
                _ => &x.value ^ &y.value,
            };
            Ok(Term::from_big(Big { value }))
        }
        _ => Err(badarith()),
    }
}

/// `A bsl B` (`left == true`) or `A bsr B`; a negative shift goes the
/// other way. `bsr` rounds toward negative infinity, as ERTS does.
pub fn shift(a: &Term, b: &Term, left: bool) -> Result<Term, Exception> {
    if !is_integer(a) || !is_integer(b) {
        return Err(badarith());
    }
    let n = match b {
        Term::Int(n) => *n,
        // A big shift: everything shifts out, or the result is too large.
        _ => {
            if is_negative(b) {
                i64::MIN / 2
            } else {
                i64::MAX / 2
            }
        }
    };
    let n = if left { n } else { n.saturating_neg() };
    if n == 0 {
        return Ok(a.clone());
    }
    if n > 0 {
        if matches!(a, Term::Int(0)) {
            return Ok(Term::Int(0));
        }
        let bits = to_big(a).map_or(0, |x| x.value.bits());
        if n as u64 > MAX_BIG_BITS || bits + n as u64 > MAX_BIG_BITS {
            return Err(system_limit());
        }
        if let Term::Int(x) = a {
            if n < 64 {
                let r = (*x as i128) << n;
                if r >> n == *x as i128 {
                    return Ok(Term::int(r));
                }
            }
        }
        let x = to_big(a).unwrap();
        Ok(Term::from_big(Big { value: &x.value << (n as usize) }))
    } else {
        let n = n.unsigned_abs();
        match a {
            Term::Int(x) => Ok(Term::Int(if n >= 64 { if *x < 0 { -1 } else { 0 } } else { x >> n })),
            _ => {
                let x = to_big(a).unwrap();
                let n = n.min(u32::MAX as u64) as usize;
                Ok(Term::from_big(Big { value: &x.value >> n }))
            }
        }
    }
}

/// `bnot A`.
pub fn bnot(a: &Term) -> Result<Term, Exception> {
    match a {
        Term::Int(x) => Ok(Term::Int(!x)),
        Term::BigInt(x) => Ok(Term::from_big(Big { value: -&x.value - big(1).value })),
        _ => Err(badarith()),
    }
}

/// Unary `-A`.
pub fn neg(a: &Term) -> Result<Term, Exception> {
    match a {
        Term::Int(x) => Ok(x.checked_neg().map(Term::Int).unwrap_or_else(|| Term::int(-(*x as i128)))),
        Term::BigInt(x) => Ok(Term::from_big(Big { value: -&x.value })),
        Term::Float(f) => Ok(Term::Float(-f)),
        _ => Err(badarith()),
    }
}

/// `abs/1`; `None` for non-numbers.
pub fn abs(a: &Term) -> Option<Term> {
    match a {
        Term::Float(f) => Some(Term::Float(f.abs())),
        _ if is_negative(a) => neg(a).ok(),
        _ if is_integer(a) => Some(a.clone()),
        _ => None,
    }
}

/// The integer nearest to the float `f` toward zero (`trunc/1`), as a term.
pub fn float_to_int(f: f64) -> Term {
    let t = f.trunc();
    if t.abs() < 9.2e18 {
        Term::Int(t as i64)
    } else {
        Term::from_big(Big { value: format!("{t:.0}").parse().expect("integral float") })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(r: Result<Term, Exception>) -> String {
        match r {
            Ok(t) => t.to_string(),
            Err(e) => format!("{}", e.reason),
        }
    }

    #[test]
    fn promotion_and_normalisation() {
        assert_eq!(s(arith(b'+', &Term::Int(i64::MAX), &Term::Int(1))), "9223372036854775808");
        let big = arith(b'+', &Term::Int(i64::MAX), &Term::Int(1)).unwrap();
        // Back into i64 range: a small integer again.
        assert!(matches!(arith(b'-', &big, &Term::Int(1)).unwrap(), Term::Int(i64::MAX)));
        assert_eq!(s(shift(&Term::Int(1), &Term::Int(64), true)), "18446744073709551616");
        assert_eq!(s(neg(&Term::Int(i64::MIN))), "9223372036854775808");
        assert_eq!(s(int_div(&Term::Int(i64::MIN), &Term::Int(-1), false)), "9223372036854775808");
        assert_eq!(s(int_div(&Term::Int(-7), &Term::Int(2), false)), "-3");
        assert_eq!(s(int_div(&Term::Int(7), &Term::Int(-2), true)), "1");
        assert_eq!(s(int_div(&Term::Int(1), &Term::Int(0), false)), "badarith");
        assert_eq!(s(fdiv(&Term::Int(4), &Term::Int(2))), "2.0");
        assert_eq!(s(fdiv(&Term::Int(1), &Term::Float(0.0))), "badarith");
        assert_eq!(s(arith(b'*', &Term::Int(3), &Term::Float(1.5))), "4.5");
        assert_eq!(s(arith(b'+', &Term::Int(1), &Term::atom("a"))), "badarith");
        assert_eq!(s(bitwise(b'&', &Term::Int(1), &Term::Float(1.0))), "badarith");
        assert_eq!(s(shift(&Term::Int(-1), &Term::Int(100), false)), "-1");
        let b70 = shift(&Term::Int(-1), &Term::Int(70), true).unwrap();
        assert_eq!(b70.to_string(), "-1180591620717411303424");
        assert_eq!(s(shift(&b70, &Term::Int(69), false)), "-2");
        assert_eq!(s(shift(&b70, &Term::Int(80), false)), "-1");
        assert_eq!(s(bnot(&b70)), "1180591620717411303423");
        assert_eq!(s(bitwise(b'&', &b70, &Term::Int(-1))), "-1180591620717411303424");
        assert_eq!(float_to_int(-2.5).to_string(), "-2");
        assert_eq!(float_to_int(1.0e20).to_string(), "100000000000000000000");
    }

    /// OTP 25's limits: integers of at most 33,554,368 bits; a shift by
    /// -2^63 overflowed negating it.
    #[test]
    fn integers_past_erts_size_limit_are_system_limit() {
        let one = Term::Int(1);
        let max = shift(&one, &Term::Int(33_554_367), true).unwrap();
        assert!(matches!(&max, Term::BigInt(b) if b.value.bits() == 33_554_368));
        assert_eq!(s(shift(&one, &Term::Int(33_554_368), true)), "system_limit");
        assert_eq!(s(shift(&max, &Term::Int(1), true)), "system_limit");
        assert_eq!(s(arith(b'+', &max, &max)), "system_limit");
        let half = shift(&one, &Term::Int(16_777_200), true).unwrap();
        assert_eq!(s(arith(b'*', &half, &half)), "system_limit");
        assert_eq!(s(shift(&one, &Term::Int(i64::MIN), false)), "system_limit");
        assert_eq!(s(shift(&Term::Int(0), &Term::Int(i64::MAX), true)), "0");
        assert_eq!(s(shift(&one, &Term::int(1 << 100), true)), "system_limit");
    }
}
