//! `io:format/1,2,3`, `io:fwrite/1,2,3` and `io_lib:format/2` with the
//! control sequences of OTP 25's `io_lib_format`: `~w ~p ~s ~b ~B ~x ~X
//! ~# ~+ ~c ~e ~f ~g ~i ~n ~~`, the `t` and `l` modifiers, field width
//! (`-` to left-justify, `*` from the arguments), precision and padding
//! character (`~10.3.0f`). `~p` lays terms out as `io_lib_pretty` does (see
//! [`crate::term::pretty`]). A format that is not a flat string, an atom or
//! a binary, arguments that are not a proper list, too few or too many
//! arguments, an unknown control character or an argument of the wrong type
//! raise `error:badarg`, as in ERTS.
//!
//! Output is a sequence of Erlang characters (code points). The script's
//! standard output is a Latin-1 device, as `erlrun.escript`'s is: a
//! character below 256 is one byte, a larger one prints as `\x{H}`.
//!
//! `io_lib:format/2` returns a character list whose nesting approximates
//! OTP's: literal characters, `~n`, `~c`, `~~` and the float controls sit
//! in the outer list, every other control's text is one sublist.
//! (OTP nests padded fields and compound terms deeper; the flattened text
//! is the same.) `~W` and `~P` print what lies deeper than their depth
//! argument as `...`. A field width or precision above [`MAX_FIELD`]
//! raises `badarg` (ERTS would build the field).

use std::io::Write;

use super::Exception;
use crate::term::fmt::quote_atom;
use crate::term::pretty::pretty_opts;
use crate::term::Term;

type Chars = Vec<u32>;

/// The largest field width or precision porthost formats (characters);
/// beyond it a control sequence raises `badarg`.
const MAX_FIELD: usize = 1 << 20;

fn badarg() -> Exception {
    Exception::badarg()
}

/// One piece of formatted output: a character of the outer list, or the
/// text of one control sequence.
pub(crate) enum Piece {
    Char(u32),
    Field(Chars),
}

/// Formatted output.
pub(crate) struct Formatted(pub Vec<Piece>);

impl Formatted {
    /// The `io_lib:format/2` value.
    pub fn to_term(&self) -> Term {
        Term::List(
            self.0
                .iter()
                .map(|p| match p {
                    Piece::Char(c) => Term::Int(*c as i64),
                    Piece::Field(cs) => Term::List(cs.iter().map(|&c| Term::Int(c as i64)).collect()),
                })
                .collect(),
        )
    }

    /// The characters, in order.
    pub fn chars(&self) -> impl Iterator<Item = u32> + '_ {
        self.0.iter().flat_map(|p| match p {
            Piece::Char(c) => std::slice::from_ref(c).iter().copied(),
            Piece::Field(cs) => cs.iter().copied(),
        })
    }

    /// The bytes a Latin-1 device writes for these characters.
    pub fn latin1_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for c in self.chars() {
            match u8::try_from(c) {
                Ok(b) => out.push(b),
                Err(_) => out.extend_from_slice(format!("\\x{{{c:X}}}").as_bytes()),
            }
        }
        out
    }
}

fn text(s: &str) -> Chars {
    s.chars().map(|c| c as u32).collect()
}

/// The characters of a format: a flat list of characters, an atom or a
/// binary (UTF-8, or Latin-1 when not valid UTF-8).
fn format_chars(t: &Term) -> Result<Chars, Exception> {
    match t {
        Term::Atom(a) => Ok(text(a.name())),
        Term::Binary(b) => Ok(match std::str::from_utf8(b.as_slice()) {
            Ok(s) => text(s),
            Err(_) => b.as_slice().iter().map(|&c| c as u32).collect(),
        }),
        Term::ByteList(b) => Ok(b.as_slice().iter().map(|&c| c as u32).collect()),
        Term::List(items) => items.iter().map(|c| char_code(c).ok_or_else(badarg)).collect(),
        _ => Err(badarg()),
    }
}

fn char_code(t: &Term) -> Option<u32> {
    t.as_int().and_then(|c| u32::try_from(c).ok()).filter(|&c| c <= 0x10ffff)
}

/// Flattens chardata (`~s`): characters, binaries and nested lists, with a
/// binary or `[]` tail. Latin-1 (`unicode == false`): characters above 255
/// are refused and binaries are bytes; Unicode: binaries are UTF-8.
fn chardata(t: &Term, unicode: bool, out: &mut Chars) -> Option<()> {
    if matches!(t, Term::Int(_)) {
        return None;
    }
    let mut stack: Vec<&Term> = vec![t];
    while let Some(t) = stack.pop() {
        match t {
            Term::Binary(b) => {
                if unicode {
                    out.extend(std::str::from_utf8(b.as_slice()).ok()?.chars().map(|c| c as u32));
                } else {
                    out.extend(b.as_slice().iter().map(|&c| c as u32));
                }
            }
            Term::ByteList(b) => out.extend(b.as_slice().iter().map(|&c| c as u32)),
            Term::List(items) => stack.extend(items.iter().rev()),
            Term::Improper(items, tail) => {
                if !matches!(**tail, Term::Binary(_)) {
                    return None;
                }
                stack.push(tail);
                stack.extend(items.iter().rev());
            }
            Term::Int(_) => {
                let c = char_code(t)?;
                if !unicode && c > 255 {
                    return None;
                }
                out.push(c);
            }
            _ => return None,
        }
    }
    Some(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Adj {
    Left,
    Right,
}

struct Spec {
    width: Option<usize>,
    adj: Adj,
    prec: Option<i64>,
    pad: u32,
    unicode: bool,
    strings: bool,
}

fn adjust(data: Chars, pad: Chars, adj: Adj) -> Chars {
    match adj {
        Adj::Left => [data, pad].concat(),
        Adj::Right => [pad, data].concat(),
    }
}

fn repeat(c: u32, n: usize) -> Chars {
    vec![c; n]
}

/// `io_lib_format:term/5`: a field of width `f` (stars when too long).
fn term_field(s: Chars, f: Option<usize>, adj: Adj, p: Option<usize>, pad: u32) -> Chars {
    let (f, p0) = match (f, p) {
        (None, None) => return s,
        (None, Some(p)) => (p, Some(p)),
        (Some(f), p) => (f, p),
    };
    let l = s.len();
    let p = l.min(match p0 {
        None => f,
        Some(p0) => p0.min(f),
    });
    if l > p {
        adjust(repeat('*' as u32, p), repeat(pad, f - p), adj)
    } else {
        adjust(s, repeat(pad, f.saturating_sub(l)), adj)
    }
}

/// `io_lib_format:string/5` (`~s`: truncates to the field).
fn string_field(s: Chars, spec: &Spec) -> Result<Chars, Exception> {
    let n = s.len();
    let field = |s: Chars, f: usize, adj: Adj| -> Chars {
        if n > f {
            s[..f].to_vec()
        } else {
            adjust(s, repeat(spec.pad, f - n), adj)
        }
    };
    Ok(match (spec.width, precision(spec)?) {
        (None, None) => s,
        (Some(f), None) => field(s, f, spec.adj),
        (None, Some(p)) => field(s, p, Adj::Left),
        (Some(f), Some(p)) if f >= p => {
            let inner = if n > p { s[..p].to_vec() } else { [s, repeat(spec.pad, p - n)].concat() };
            adjust(inner, repeat(spec.pad, f - p), spec.adj)
        }
        _ => return Err(badarg()),
    })
}

fn precision(spec: &Spec) -> Result<Option<usize>, Exception> {
    match spec.prec {
        None => Ok(None),
        Some(p) => usize::try_from(p).map(Some).map_err(|_| badarg()),
    }
}

fn char_field(c: u32, spec: &Spec) -> Result<Chars, Exception> {
    Ok(match (spec.width, precision(spec)?) {
        (None, None) => vec![c],
        (Some(f), None) => repeat(c, f),
        (None, Some(p)) => repeat(c, p),
        (Some(f), Some(p)) if f >= p => adjust(repeat(c, p), repeat(spec.pad, f - p), spec.adj),
        _ => return Err(badarg()),
    })
}

/// The digits of `t` (an integer) in `base`, upper case.
fn int_digits(t: &Term, base: u32) -> Result<(bool, String), Exception> {
    let big = super::num::to_big(t).ok_or_else(badarg)?;
    let neg = super::num::is_negative(t);
    let v = if neg { -&big.value } else { big.value.clone() };
    Ok((neg, v.to_str_radix(base).to_uppercase()))
}

fn base_of(spec: &Spec) -> Result<u32, Exception> {
    match spec.prec {
        None => Ok(10),
        Some(b @ 2..=36) => Ok(b as u32),
        Some(_) => Err(badarg()),
    }
}

/// The 21 significant digits and the exponent `E` of a float, as
/// `io_lib_format:float_data/1` takes them from `float_to_list/1`
/// (value = 0.D1D2... × 10^E).
fn float_data(x: f64) -> (Vec<u8>, i64) {
    let s = format!("{:.20e}", x.abs());
    let (mant, exp) = s.split_once('e').expect("exponent");
    let digits: Vec<u8> = mant.bytes().filter(u8::is_ascii_digit).collect();
    (digits, exp.parse::<i64>().expect("exponent") + 1)
}

/// The first `n` digits of `ds` (zero-padded), rounded half up on the
/// next digit; `true` when the rounding carried out of the first digit.
fn round_digits(ds: &[u8], n: usize) -> (Vec<u8>, bool) {
    let mut out: Vec<u8> = (0..n).map(|i| ds.get(i).copied().unwrap_or(b'0')).collect();
    if ds.get(n).is_some_and(|&d| d >= b'5') {
        for d in out.iter_mut().rev() {
            if *d == b'9' {
                *d = b'0';
            } else {
                *d += 1;
                return (out, false);
            }
        }
        return (out, true);
    }
    (out, false)
}

fn sign(x: f64) -> &'static str {
    if x.is_sign_negative() {
        "-"
    } else {
        ""
    }
}

/// `~f` with `p` decimals.
fn float_f(x: f64, p: usize) -> String {
    let (mut ds, mut e) = float_data(x);
    if e <= 0 {
        let mut z = vec![b'0'; (-e + 1) as usize];
        z.extend(ds);
        ds = z;
        e = 1;
    }
    let e = e as usize;
    let (digits, carry) = round_digits(&ds, e + p);
    let int = String::from_utf8_lossy(&digits[..e]);
    let frac = String::from_utf8_lossy(&digits[e..]);
    format!("{}{}{int}.{frac}", sign(x), if carry { "1" } else { "" })
}

/// `~e` with `p` significant digits.
fn float_e(x: f64, p: usize) -> String {
    let (ds, e) = float_data(x);
    let (digits, carry) = round_digits(&ds, p);
    let (first, exp) = if carry { (b'1', e) } else { (digits[0], e - 1) };
    let frac = String::from_utf8_lossy(&digits[1..]);
    let exp = if exp >= 0 { format!("+{exp}") } else { exp.to_string() };
    format!("{}{}.{frac}e{exp}", sign(x), first as char)
}

/// `~g`: `~f` for 0.1 =< |x| < 10^P, `~e` otherwise.
fn float_g(x: f64, p: usize) -> String {
    let a = x.abs();
    let e: Option<i64> = [1.0e-1, 1.0e0, 1.0e1, 1.0e2, 1.0e3, 1.0e4].iter().position(|&lim| a < lim).map(|i| i as i64 - 2);
    let p = p as i64;
    match e {
        Some(-1) if p <= 1 => float_f(x, (p - 1 + 1) as usize),
        Some(e) if p - 1 > e && e >= -1 => float_f(x, (p - 1 - e) as usize),
        _ if p <= 1 => float_e(x, 2),
        _ => float_e(x, p as usize),
    }
}

/// The state of one `format` call: the arguments left and the output.
struct Run<'a> {
    args: std::slice::Iter<'a, Term>,
    out: Vec<Piece>,
}

impl<'a> Run<'a> {
    fn next(&mut self) -> Result<&'a Term, Exception> {
        self.args.next().ok_or_else(badarg)
    }

    fn next_int(&mut self) -> Result<i64, Exception> {
        self.next()?.as_int().ok_or_else(badarg)
    }

    /// The 1-based column the output has reached.
    fn column(&self) -> usize {
        let mut n = 0;
        for p in self.out.iter().rev() {
            match p {
                Piece::Char(10) => return n + 1,
                Piece::Char(_) => n += 1,
                Piece::Field(cs) => match cs.iter().rposition(|&c| c == 10) {
                    Some(i) => return n + cs.len() - i,
                    None => n += cs.len(),
                },
            }
        }
        n + 1
    }

    /// A field value: digits or `*`.
    fn field_value(&mut self, f: &[u32], i: &mut usize) -> Result<Option<i64>, Exception> {
        if f.get(*i) == Some(&('*' as u32)) {
            *i += 1;
            return self.next_int().map(Some);
        }
        let start = *i;
        let mut v: i64 = 0;
        while let Some(d) = f.get(*i).and_then(|&c| char::from_u32(c)).and_then(|c| c.to_digit(10)) {
            v = v.saturating_mul(10).saturating_add(d as i64);
            *i += 1;
        }
        Ok((*i > start).then_some(v))
    }

    fn control(&mut self, f: &[u32], i: &mut usize) -> Result<(), Exception> {
        let neg = f.get(*i) == Some(&('-' as u32));
        if neg {
            *i += 1;
        }
        let width = match self.field_value(f, i)? {
            None if neg => return Err(badarg()),
            None => None,
            Some(w) => Some(if neg { -w } else { w }),
        };
        let (width, adj) = match width {
            Some(w) if w < 0 => (Some(w.unsigned_abs() as usize), Adj::Left),
            Some(w) => (Some(w as usize), Adj::Right),
            None => (None, Adj::Right),
        };
        let prec = if f.get(*i) == Some(&('.' as u32)) {
            *i += 1;
            self.field_value(f, i)?
        } else {
            None
        };
        let mut pad = ' ' as u32;
        if f.get(*i) == Some(&('.' as u32)) {
            match f.get(*i + 1) {
                Some(&c) if c == '*' as u32 => {
                    *i += 2;
                    pad = char_code(self.next()?).ok_or_else(badarg)?;
                }
                Some(&c) => {
                    *i += 2;
                    pad = c;
                }
                None => return Err(badarg()),
            }
        }
        // ERTS would build fields of any size; porthost refuses ones that
        // would take gigabytes (a mistyped width must not abort the host).
        if width.is_some_and(|w| w > MAX_FIELD) || prec.is_some_and(|p| p > MAX_FIELD as i64) {
            return Err(badarg());
        }
        let mut spec = Spec { width, adj, prec, pad, unicode: false, strings: true };
        loop {
            match f.get(*i).copied().and_then(char::from_u32) {
                Some('t') => spec.unicode = true,
                Some('l') => spec.strings = false,
                _ => break,
            }
            *i += 1;
        }
        let c = f.get(*i).copied().and_then(char::from_u32).ok_or_else(badarg)?;
        *i += 1;
        self.directive(c, &spec)
    }

    fn field(&mut self, cs: Chars) {
        self.out.push(Piece::Field(cs));
    }

    fn directive(&mut self, c: char, spec: &Spec) -> Result<(), Exception> {
        match c {
            '~' => self.out.push(Piece::Char('~' as u32)),
            'n' => self.out.push(Piece::Char(10)),
            'i' => {
                self.next()?;
            }
            'c' => {
                let a = self.next()?.as_int().ok_or_else(badarg)?;
                let ch = if spec.unicode { u32::try_from(a).map_err(|_| badarg())? } else { (a & 255) as u32 };
                let cs = char_field(ch, spec)?;
                self.out.extend(cs.into_iter().map(Piece::Char));
            }
            'w' => {
                let t = self.next()?;
                let s = text(&t.to_string());
                self.field(term_field(s, spec.width, spec.adj, precision(spec)?, spec.pad));
            }
            'W' | 'P' => {
                let t = self.next()?;
                let depth = self.next_int()?;
                let depth = if depth < 0 { -1 } else { depth };
                let s = if c == 'W' {
                    crate::term::pretty::write_depth(t, depth)
                } else {
                    let ll = spec.width.unwrap_or(80);
                    crate::term::pretty::pretty_depth(t, self.column(), ll, spec.unicode, spec.strings, depth)
                };
                let s = text(&s);
                self.field(if c == 'W' { term_field(s, spec.width, spec.adj, precision(spec)?, spec.pad) } else { s });
            }
            'p' => {
                let t = self.next()?;
                let ll = spec.width.unwrap_or(80);
                let col = self.column();
                let s = pretty_opts(t, col, ll, spec.unicode, spec.strings);
                self.field(text(&s));
            }
            's' => {
                let t = self.next()?;
                let s = match t {
                    Term::Atom(a) => text(a.name()),
                    Term::Int(_) => return Err(badarg()),
                    _ => {
                        let mut cs = Vec::new();
                        chardata(t, spec.unicode, &mut cs).ok_or_else(badarg)?;
                        cs
                    }
                };
                self.field(string_field(s, spec)?);
            }
            'b' | 'B' => {
                let t = self.next()?;
                let (neg, digits) = int_digits(t, base_of(spec)?)?;
                let digits = if c == 'b' { digits.to_lowercase() } else { digits };
                let s = format!("{}{digits}", if neg { "-" } else { "" });
                self.field(term_field(text(&s), spec.width, spec.adj, None, spec.pad));
            }
            'x' | 'X' | '#' | '+' => {
                let t = self.next()?;
                let base = base_of(spec)?;
                let prefix = match c {
                    'x' | 'X' => match self.next()? {
                        Term::Atom(a) => a.name().to_string(),
                        p => {
                            let mut cs = Vec::new();
                            chardata(p, true, &mut cs).ok_or_else(badarg)?;
                            cs.into_iter().filter_map(char::from_u32).collect()
                        }
                    },
                    _ => format!("{base}#"),
                };
                let (neg, digits) = int_digits(t, base)?;
                let digits = if matches!(c, 'x' | '+') { digits.to_lowercase() } else { digits };
                let s = format!("{}{prefix}{digits}", if neg { "-" } else { "" });
                self.field(term_field(text(&s), spec.width, spec.adj, None, spec.pad));
            }
            'e' | 'f' | 'g' => {
                let x = match self.next()? {
                    Term::Float(x) => *x,
                    _ => return Err(badarg()),
                };
                let p = match spec.prec {
                    None => 6,
                    Some(p) if p >= 2 || (p >= 1 && c != 'e') => p as usize,
                    Some(_) => return Err(badarg()),
                };
                let s = match c {
                    'e' => float_e(x, p),
                    'f' => float_f(x, p),
                    _ => float_g(x, p),
                };
                let cs = term_field(text(&s), spec.width, spec.adj, spec.width, spec.pad);
                self.out.extend(cs.into_iter().map(Piece::Char));
            }
            _ => return Err(badarg()),
        }
        Ok(())
    }
}

/// Formats `args` (a proper list) by `format`.
pub(crate) fn format(format: &Term, args: &Term) -> Result<Formatted, Exception> {
    let f = format_chars(format)?;
    let args = match args {
        Term::List(v) => v.as_slice(),
        _ => return Err(badarg()),
    };
    let mut run = Run { args: args.iter(), out: Vec::new() };
    let mut i = 0;
    while i < f.len() {
        let c = f[i];
        i += 1;
        if c == '~' as u32 {
            run.control(&f, &mut i)?;
        } else {
            run.out.push(Piece::Char(c));
        }
    }
    if run.args.next().is_some() {
        return Err(badarg());
    }
    Ok(Formatted(run.out))
}

/// The `io` and `io_lib` functions: `None` for others. Output of `io`
/// goes to `out` (the process's standard output; `standard_error` to the
/// real standard error).
pub(crate) fn call<'a, 'b>(module: &str, name: &str, args: &[Term], out: Option<&'a mut (dyn Write + 'b)>) -> Option<Result<Term, Exception>> {
    let r = match (module, name, args) {
        ("io_lib", "format" | "fwrite", [f, a]) => format(f, a).map(|x| x.to_term()),
        ("io_lib", "write", [t]) => Ok(Term::string(&t.to_string())),
        ("io_lib", "write_atom", [Term::Atom(a)]) => Ok(Term::string(&quote_atom(a.name()))),
        ("io", "format" | "fwrite", [f]) => emit(format(f, &Term::nil()), out, false),
        ("io", "format" | "fwrite", [f, a]) => emit(format(f, a), out, false),
        ("io", "format" | "fwrite", [dev, f, a]) => match device(dev) {
            Some(err) => emit(format(f, a), out, err),
            None if matches!(dev, Term::Atom(_) | Term::Pid(_)) => Err(badarg()),
            None => Err(Exception::error(Term::atom("function_clause"))),
        },
        ("io", "put_chars", [cs]) => {
            let mut v = Vec::new();
            match chardata(cs, false, &mut v).or_else(|| cs.as_atom().map(|a| v = text(a.name()))) {
                Some(()) => emit(Ok(Formatted(vec![Piece::Field(v)])), out, false),
                None => Err(badarg()),
            }
        }
        ("io", "nl", []) => emit(Ok(Formatted(vec![Piece::Char(10)])), out, false),
        _ => return None,
    };
    Some(r)
}

/// `Some(true)` for `standard_error`, `Some(false)` for the standard output
/// devices.
fn device(t: &Term) -> Option<bool> {
    match t.as_atom()?.name() {
        "standard_io" | "user" => Some(false),
        "standard_error" => Some(true),
        _ => None,
    }
}

fn emit<'a, 'b>(f: Result<Formatted, Exception>, out: Option<&'a mut (dyn Write + 'b)>, stderr: bool) -> Result<Term, Exception> {
    let bytes = f?.latin1_bytes();
    if stderr {
        let mut e = std::io::stderr();
        let _ = e.write_all(&bytes);
    } else if let Some(out) = out {
        let _ = out.write_all(&bytes);
        let _ = out.flush();
    }
    Ok(Term::atom("ok"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(fmt: &str, args: Vec<Term>) -> String {
        let r = format(&Term::string(fmt), &Term::List(args)).unwrap();
        r.chars().map(|c| char::from_u32(c).unwrap()).collect()
    }

    #[test]
    fn floats_as_otp() {
        assert_eq!(f("~.1f", vec![Term::Float(0.25)]), "0.3");
        assert_eq!(f("~.2f", vec![Term::Float(0.125)]), "0.13");
        assert_eq!(f("~f", vec![Term::Float(-0.0)]), "-0.000000");
        assert_eq!(f("~e", vec![Term::Float(0.0)]), "0.00000e+0");
        assert_eq!(f("~.2e", vec![Term::Float(-1234.5)]), "-1.2e+3");
        assert_eq!(f("~g", vec![Term::Float(123456.0)]), "1.23456e+5");
        assert_eq!(f("~g", vec![Term::Float(0.1)]), "0.100000");
        assert_eq!(f("~.3g", vec![Term::Float(0.5)]), "0.500");
        assert_eq!(f("~10.2.0f|", vec![Term::Float(3.25159)]), "0000003.25|");
        assert_eq!(f("~.40f", vec![Term::Float(0.1)]), "0.1000000000000000055510000000000000000000");
        assert_eq!(f("~f", vec![Term::Float(1.0e20)]), "100000000000000000000.000000");
    }

    #[test]
    fn fields() {
        assert_eq!(f("~3w", vec![Term::atom("abcdef")]), "***");
        assert_eq!(f("~10.3s|", vec![Term::string("abcdef")]), "       abc|");
        assert_eq!(f("~-6s|", vec![Term::atom("ab")]), "ab    |");
        assert_eq!(f("~5.2c|", vec![Term::Int(97)]), "   aa|");
        assert_eq!(f("~8.2.0B", vec![Term::Int(5)]), "00000101");
        assert_eq!(f("~.16X", vec![Term::Int(255), Term::string("0x")]), "0xFF");
        assert_eq!(f("~.16#", vec![Term::Int(255)]), "16#FF");
        assert_eq!(f("~-*w|", vec![Term::Int(5), Term::atom("a")]), "a    |");
        assert_eq!(f("~c", vec![Term::Int(300)]), ",");
    }
}
