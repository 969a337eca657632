//! Printing terms as Erlang's `io:format("~w", [T])` does (OTP 25).
//!
//! The rules follow `io_lib:write/1` and `io_lib_format:fwrite_g/1`:
//!
//! - atoms are quoted only when they must be (`io_lib:quote_atom/2`): when
//!   they do not start with a lowercase letter, contain characters other
//!   than letters, digits, `_` and `@`, or are reserved words; inside
//!   quotes, `'` and `\` are escaped, control characters use `\n`-style or
//!   octal escapes and characters above 255 print as `\x{H}`;
//! - floats print in the shortest form that reads back to the same value,
//!   in plain notation unless scientific notation is strictly shorter, and
//!   always in scientific notation from 2^53 up (see [`format_float`]);
//! - strings are lists and print as integer lists (`~w` never prints
//!   `"abc"`), binaries as `<<1,2,3>>` and bitstrings with their last
//!   partial byte as `Value:Bits` (`<<1,2:3>>`, `<<5:3>>`), maps as `#{a => 1,b => 2}` in key
//!   order (ERTS orders maps of more than 32 keys by hash; porthost always
//!   prints them in term order);
//! - pids print as `<0.N.0>`, ports as `#Port<0.N>` and references as
//!   `#Ref<0.0.0.N>`;
//! - a local fun prints as an `erl_eval` fun does under ERTS (see
//!   [`fun_index`]), an external fun as `fun M:F/A`.

use std::borrow::Cow;
use std::fmt::{self, Display, Formatter, Write};

use super::{Fun, Term};

/// The `Uniq` that OTP 25's `erl_eval` funs print (`#Fun<erl_eval.N.Uniq>`).
/// It is a hash of the `erl_eval` module's code, the same for every fun
/// the shell makes, but it changes with the OTP release: scripts compared
/// with ERTS should not print funs.
const ERL_EVAL_UNIQ: u32 = 3316493;

/// The index `N` of the `erl_eval` fun that ERTS prints for a fun made by
/// the shell (`#Fun<erl_eval.N.Uniq>`): `erl_eval` wraps a fun of arity A
/// in its own fun number `43 - A` (a named fun: `20 - A`), for A up to 20.
pub fn fun_index(arity: usize, named: bool) -> usize {
    let base = if named { 20 } else { 43 };
    base - arity.min(20)
}

/// The reserved words of OTP 25's `erl_scan` (`maybe` and `else` are only
/// reserved when the `maybe_expr` feature is enabled, which it is not by
/// default in OTP 25).
const RESERVED: &[&str] = &[
    "after", "and", "andalso", "band", "begin", "bnot", "bor", "bsl", "bsr", "bxor", "case",
    "catch", "cond", "div", "end", "fun", "if", "let", "not", "of", "or", "orelse", "receive",
    "rem", "try", "when", "xor",
];

fn is_lower_start(c: char) -> bool {
    c.is_ascii_lowercase() || (('\u{df}'..='\u{ff}').contains(&c) && c != '\u{f7}')
}

fn is_name_char(c: char) -> bool {
    is_lower_start(c)
        || c.is_ascii_uppercase()
        || c.is_ascii_digit()
        || c == '_'
        || c == '@'
        || (('\u{c0}'..='\u{de}').contains(&c) && c != '\u{d7}')
}

/// True when the atom `name` must be written in single quotes.
pub fn atom_needs_quotes(name: &str) -> bool {
    atom_needs_quotes_by_chars(name) || RESERVED.contains(&name)
}

/// True when `name` does not start with a lowercase letter or holds a
/// character other than letters, digits, `_` and `@`: the rule ERTS's C
/// printer uses for the atoms of `fun M:F/A`, which leaves reserved words
/// unquoted (`fun 'Mod':end/0`).
fn atom_needs_quotes_by_chars(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if is_lower_start(c) => !chars.all(is_name_char),
        _ => true,
    }
}

/// An atom of `fun M:F/A` as ERTS prints it (see
/// [`atom_needs_quotes_by_chars`]).
fn fun_atom(name: &str) -> Cow<'_, str> {
    if atom_needs_quotes_by_chars(name) {
        quote_atom(name)
    } else {
        Cow::Borrowed(name)
    }
}

/// Writes `c` as `io_lib` writes a character inside a quoted atom or a
/// string delimited by `quote` (latin1 mode, as `~w` uses).
fn write_quoted_char(out: &mut String, c: char, quote: char) {
    let code = c as u32;
    match c {
        _ if c == quote => {
            out.push('\\');
            out.push(c);
        }
        '\\' => out.push_str("\\\\"),
        ' '..='~' => out.push(c),
        '\u{a0}'..='\u{ff}' => out.push(c),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{b}' => out.push_str("\\v"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        '\u{1b}' => out.push_str("\\e"),
        '\u{7f}' => out.push_str("\\d"),
        _ if code < 0xa0 => {
            let _ = write!(out, "\\{}{}{}", (code >> 6) & 7, (code >> 3) & 7, code & 7);
        }
        _ => {
            let _ = write!(out, "\\x{{{:X}}}", code);
        }
    }
}

/// The atom `name` as Erlang writes it: unchanged when it needs no quotes,
/// otherwise in single quotes with escapes (`io_lib:write_atom/1`).
pub fn quote_atom(name: &str) -> Cow<'_, str> {
    if !atom_needs_quotes(name) {
        return Cow::Borrowed(name);
    }
    let mut s = String::with_capacity(name.len() + 2);
    s.push('\'');
    for c in name.chars() {
        write_quoted_char(&mut s, c, '\'');
    }
    s.push('\'');
    Cow::Owned(s)
}

/// A float as `io_lib_format:fwrite_g/1` (and so `~w`) writes it in OTP 25.
///
/// The digits are the shortest that read back to the same float. With the
/// decimal point at `Place` (the value is `0.DIGITS * 10^Place`), the plain
/// form (`0.000DIGITS`, `DIG.ITS` or `DIGITS000.0`) is used unless the
/// scientific form (`D.IGITSeX`, `D.0eX` for one digit) is strictly
/// shorter; numbers of magnitude 2^53 and more always use the scientific
/// form, since not every integer there is a float.
pub fn format_float(f: f64) -> String {
    if f == 0.0 {
        return if f.is_sign_negative() { "-0.0".into() } else { "0.0".into() };
    }
    if !f.is_finite() {
        // Erlang has no such floats; print something recognisable.
        return format!("{f}");
    }
    let sci = format!("{:e}", f.abs());
    let (mant, exp) = sci.split_once('e').expect("{:e} always has an exponent");
    let exp: i64 = exp.parse().expect("{:e} exponent is an integer");
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    let l = digits.len() as i64;
    let place = exp + 1;
    let mut out = String::new();
    if f.is_sign_negative() {
        out.push('-');
    }
    let insert_exp = |out: &mut String, expl: &str| {
        out.push_str(&digits[..1]);
        out.push('.');
        if l == 1 {
            out.push('0');
        } else {
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push_str(expl);
    };
    if place == 0 {
        out.push_str("0.");
        out.push_str(&digits);
    } else if place < 0 || place >= l {
        let expl = (place - 1).to_string();
        let exp_dot = if l == 1 { 2 } else { 1 };
        let exp_cost = expl.len() as i64 + 1 + exp_dot;
        if place < 0 {
            if 2 - place <= exp_cost {
                out.push_str("0.");
                out.extend(std::iter::repeat_n('0', (-place) as usize));
                out.push_str(&digits);
            } else {
                insert_exp(&mut out, &expl);
            }
        } else if place - l + 2 <= exp_cost && f.abs() < 9007199254740992.0 {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n('0', (place - l) as usize));
            out.push_str(".0");
        } else {
            insert_exp(&mut out, &expl);
        }
    } else {
        out.push_str(&digits[..place as usize]);
        out.push('.');
        out.push_str(&digits[place as usize..]);
    }
    out
}

fn write_seq(f: &mut Formatter<'_>, items: &[Term]) -> fmt::Result {
    for (i, t) in items.iter().enumerate() {
        if i > 0 {
            f.write_char(',')?;
        }
        Display::fmt(t, f)?;
    }
    Ok(())
}

fn write_bytes(f: &mut Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    for (i, byte) in bytes.iter().enumerate() {
        if i > 0 {
            f.write_char(',')?;
        }
        write!(f, "{byte}")?;
    }
    Ok(())
}

impl Display for Term {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        super::grow_stack(|| self.write_w(f))
    }
}

impl Term {
    /// [`Display::fmt`] for one level: nested terms go back through
    /// `fmt`, which grows the stack as deep terms need.
    fn write_w(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Term::Atom(a) => f.write_str(&quote_atom(a.name())),
            Term::Int(i) => write!(f, "{i}"),
            Term::BigInt(b) => write!(f, "{}", b.value),
            Term::Float(x) => f.write_str(&format_float(*x)),
            Term::Binary(b) => {
                f.write_str("<<")?;
                write_bytes(f, b.as_slice())?;
                f.write_str(">>")
            }
            Term::BitString(b, bits) => {
                let (whole, last) = b.as_slice().split_at(b.len() - 1);
                f.write_str("<<")?;
                write_bytes(f, whole)?;
                if !whole.is_empty() {
                    f.write_char(',')?;
                }
                write!(f, "{}:{bits}>>", last[0] >> (8 - bits))
            }
            Term::List(items) => {
                f.write_char('[')?;
                write_seq(f, items)?;
                f.write_char(']')
            }
            Term::ByteList(b) => {
                f.write_char('[')?;
                write_bytes(f, b.as_slice())?;
                f.write_char(']')
            }
            Term::Improper(items, tail) => {
                f.write_char('[')?;
                write_seq(f, items)?;
                f.write_char('|')?;
                Display::fmt(tail, f)?;
                f.write_char(']')
            }
            Term::Tuple(items) => {
                f.write_char('{')?;
                write_seq(f, items)?;
                f.write_char('}')
            }
            Term::Map(pairs) => {
                f.write_str("#{")?;
                for (i, (k, v)) in pairs.iter().enumerate() {
                    if i > 0 {
                        f.write_char(',')?;
                    }
                    write!(f, "{k} => {v}")?;
                }
                f.write_char('}')
            }
            Term::Pid(p) => write!(f, "<0.{}.0>", p.0),
            Term::Port(p) => write!(f, "#Port<0.{}>", p.0),
            Term::Ref(r) => write!(f, "#Ref<0.0.0.{}>", r.0),
            Term::Fun(Fun::Local(l)) => {
                write!(f, "#Fun<erl_eval.{}.{ERL_EVAL_UNIQ}>", fun_index(l.arity as usize, l.is_named()))
            }
            Term::Fun(Fun::External { module, function, arity }) => {
                write!(f, "fun {}:{}/{arity}", fun_atom(module.name()), fun_atom(function.name()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::term::{Atom, Pid, PortId, Ref};

    /// Expectations printed by OTP 25 (`erl -noshell -eval` with `~w`).
    #[test]
    fn floats_match_otp25() {
        let cases: &[(f64, &str)] = &[
            (1.0, "1.0"),
            (0.1, "0.1"),
            (1.5e300, "1.5e300"),
            (1.0e-10, "1.0e-10"),
            (123456789012345680.0, "1.2345678901234568e17"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
            (2.0e20, "2.0e20"),
            (1.0e21, "1.0e21"),
            (1.0e15, "1.0e15"),
            (1.0e16, "1.0e16"),
            (12345678901234567.0, "1.2345678901234568e16"),
            (1234567890123456.0, "1234567890123456.0"),
            (0.001, "0.001"),
            (0.0001, "0.0001"),
            (0.00001, "1.0e-5"),
            (1.5e-5, "1.5e-5"),
            (123.456, "123.456"),
            (1.0e100, "1.0e100"),
            (5.0e-324, "5.0e-324"),
            (1.7976931348623157e308, "1.7976931348623157e308"),
            (100.0, "100.0"),
            (1.0e10, "1.0e10"),
            (9007199254740992.0, "9.007199254740992e15"),
            (123456789.0, "123456789.0"),
            (1.2345678901234567e19, "1.2345678901234567e19"),
            (0.000123, "1.23e-4"),
            (3.25, "3.25"),
            (2.5e-7, "2.5e-7"),
            (0.3, "0.3"),
            (1.0 / 3.0, "0.3333333333333333"),
            (2.0 / 3.0, "0.6666666666666666"),
            (0.004, "0.004"),
            (1000.0, "1.0e3"),
            (1200.0, "1.2e3"),
            (123000.0, "1.23e5"),
            (0.00012, "1.2e-4"),
            (0.0012, "0.0012"),
            (12.5, "12.5"),
            (1.0e16 - 2.0, "9.999999999999998e15"),
            (4503599627370497.0, "4503599627370497.0"),
            (9007199254740991.0, "9007199254740991.0"),
            (-1000.0, "-1.0e3"),
            (-0.0001, "-0.0001"),
            (2.2250738585072014e-308, "2.2250738585072014e-308"),
            (123456.0, "123456.0"),
            (1234567.0, "1234567.0"),
            (10.0, "10.0"),
            (20.0, "20.0"),
            (-3.0, "-3.0"),
            (3.5, "3.5"),
        ];
        for &(f, want) in cases {
            assert_eq!(format_float(f), want, "formatting {f:?}");
        }
    }

    #[test]
    fn atoms_quote_like_io_lib() {
        let cases: &[(&str, &str)] = &[
            ("", "''"),
            ("a", "a"),
            ("A", "'A'"),
            ("aB9_@", "aB9_@"),
            ("a-b", "'a-b'"),
            ("9a", "'9a'"),
            ("end", "'end'"),
            ("receive", "'receive'"),
            ("maybe", "maybe"),
            ("else", "else"),
            ("cond", "'cond'"),
            ("andalso", "'andalso'"),
            ("ok", "ok"),
            ("hello world", "'hello world'"),
            ("it's", "'it\\'s'"),
            ("back\\slash", "'back\\\\slash'"),
            ("nl\n", "'nl\\n'"),
            ("c\r\u{b}\u{8}\u{c}\u{1b}", "'c\\r\\v\\b\\f\\e'"),
            ("\u{0}\u{1}\u{7f}\u{80}", "'\\000\\001\\d\\200'"),
            ("é", "é"),
            ("ßa", "ßa"),
            ("aé", "aé"),
            ("Éa", "'Éa'"),
            ("_a", "'_a'"),
            ("a.b", "'a.b'"),
            ("true", "true"),
            ("\u{4E16}", "'\\x{4E16}'"),
            ("a\u{4E16}", "'a\\x{4E16}'"),
            ("a\"b", "'a\"b'"),
            ("\u{1f}", "'\\037'"),
        ];
        for &(name, want) in cases {
            assert_eq!(quote_atom(name), want, "quoting {name:?}");
        }
    }

    #[test]
    fn compound_terms() {
        let big = Term::BigInt(eetf::BigInteger { value: (1i128 << 70).into() });
        let t = Term::List(vec![
            Term::Int(-1),
            big,
            Term::binary(&[]),
            Term::binary(&[1, 2, 3]),
            Term::bitstring(&[1], 7),
            Term::bitstring(&[1, 0x5f], 11),
            Term::bitstring(&[0xff], 7),
            Term::string("abc"),
            Term::nil(),
            Term::Improper(vec![Term::Int(1)], Box::new(Term::Int(2))),
            Term::Improper(vec![Term::Int(1), Term::Int(2)], Box::new(Term::Int(3))),
            Term::tuple(vec![]),
            Term::tuple(vec![Term::atom("a"), Term::tuple(vec![Term::atom("b")])]),
            Term::Map(vec![]),
            Term::Map(vec![(Term::atom("a"), Term::Int(2)), (Term::atom("b"), Term::Int(1))]),
            Term::Pid(Pid(9)),
            Term::Port(PortId(0)),
            Term::Ref(Ref(7)),
            Term::Fun(Fun::local(0, false, ())),
            Term::Fun(Fun::local(2, true, ())),
            Term::Fun(Fun::External { module: Atom::new("erlang"), function: Atom::new("length"), arity: 1 }),
            Term::Fun(Fun::External { module: Atom::new("Mod"), function: Atom::new("end"), arity: 0 }),
        ]);
        assert_eq!(
            t.to_string(),
            "[-1,1180591620717411303424,<<>>,<<1,2,3>>,<<0:7>>,<<1,2:3>>,<<127:7>>,[97,98,99],[],[1|2],[1,2|3],{},\
             {a,{b}},#{},#{a => 2,b => 1},<0.9.0>,#Port<0.0>,#Ref<0.0.0.7>,#Fun<erl_eval.43.3316493>,\
             #Fun<erl_eval.18.3316493>,fun erlang:length/1,fun 'Mod':end/0]"
        );
    }
}
