//! Erlang terms for drivers: what `erlang:port_call/3` passes to
//! [`Driver::call`](crate::Driver::call) and what it answers (the external
//! term format, decoded and encoded here), and what
//! [`Port::output_term`](crate::Port::output_term) sends (turned into an
//! `erl_drv_output_term` spec).

use std::fmt;

use crate::{Pid, Port};

/// An Erlang term, built by a driver or decoded from `port_call`'s
/// argument.
///
/// Build one with the constructors: `Term::tuple([Term::atom("ok"),
/// Term::binary(b"data")])`.
#[derive(Clone, Debug, PartialEq)]
pub enum Term {
    /// An atom.
    Atom(String),
    /// An integer that fits 64 bits.
    Int(i64),
    /// A float.
    Float(f64),
    /// A binary.
    Binary(Vec<u8>),
    /// A proper list (`[]` is `List(vec![])`). A string (`"abc"`) is a
    /// list of integers.
    List(Vec<Term>),
    /// A tuple.
    Tuple(Vec<Term>),
    /// A map: key-value pairs.
    Map(Vec<(Term, Term)>),
    /// A process identifier (from [`Port::caller`] and friends); sent by
    /// [`Port::output_term`], not encoded by `call`.
    Pid(Pid),
    /// A port (sent by [`Port::output_term`] as the port's id).
    Port(Port),
}

impl Term {
    /// The atom `name`.
    pub fn atom(name: &str) -> Term {
        Term::Atom(name.to_owned())
    }
    /// A binary of `bytes`.
    pub fn binary(bytes: impl AsRef<[u8]>) -> Term {
        Term::Binary(bytes.as_ref().to_vec())
    }
    /// A tuple of `items`.
    pub fn tuple(items: impl IntoIterator<Item = Term>) -> Term {
        Term::Tuple(items.into_iter().collect())
    }
    /// A list of `items`.
    pub fn list(items: impl IntoIterator<Item = Term>) -> Term {
        Term::List(items.into_iter().collect())
    }
    /// A string: the list of `s`'s bytes.
    pub fn string(s: &str) -> Term {
        Term::List(s.bytes().map(|b| Term::Int(i64::from(b))).collect())
    }
    /// `ok`.
    pub fn ok() -> Term {
        Term::atom("ok")
    }
    /// The bytes of a binary, or of a list of integers 0..=255.
    pub fn as_bytes(&self) -> Option<Vec<u8>> {
        match self {
            Term::Binary(b) => Some(b.clone()),
            Term::List(v) => v.iter().map(|t| if let Term::Int(i) = t { u8::try_from(*i).ok() } else { None }).collect(),
            _ => None,
        }
    }
    /// The atom's name, if an atom.
    pub fn as_atom(&self) -> Option<&str> {
        if let Term::Atom(a) = self {
            Some(a)
        } else {
            None
        }
    }
}

impl From<i64> for Term {
    fn from(v: i64) -> Term {
        Term::Int(v)
    }
}

impl From<&[u8]> for Term {
    fn from(v: &[u8]) -> Term {
        Term::Binary(v.to_vec())
    }
}

impl From<Vec<u8>> for Term {
    fn from(v: Vec<u8>) -> Term {
        Term::Binary(v)
    }
}

/// A term `call` could not decode or encode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TermError(pub &'static str);

impl fmt::Display for TermError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// Nesting past this is refused (the input never sets the recursion
/// depth).
const MAX_DEPTH: usize = 128;

/// Decodes the external term format (with its 131 version byte).
///
/// # Errors
/// Bad or truncated data, a term kind this SDK does not decode (pids,
/// ports, references, funs, bignums past 64 bits, improper lists), or
/// nesting deeper than 128.
pub fn decode(bytes: &[u8]) -> Result<Term, TermError> {
    let mut r = Reader { b: bytes, at: 0 };
    if r.u8()? != 131 {
        return Err(TermError("not the external term format (no version byte 131)"));
    }
    let t = r.term(0)?;
    if r.at != bytes.len() {
        return Err(TermError("bytes after the term"));
    }
    Ok(t)
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], TermError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.b.len()).ok_or(TermError("truncated term"))?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, TermError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<usize, TermError> {
        let s = self.take(2)?;
        Ok(usize::from(u16::from_be_bytes([s[0], s[1]])))
    }
    fn u32(&mut self) -> Result<usize, TermError> {
        let s = self.take(4)?;
        Ok(u32::from_be_bytes([s[0], s[1], s[2], s[3]]) as usize)
    }
    fn atom(&mut self, len: usize) -> Result<Term, TermError> {
        let s = self.take(len)?;
        Ok(Term::Atom(String::from_utf8_lossy(s).into_owned()))
    }
    fn items(&mut self, n: usize, depth: usize) -> Result<Vec<Term>, TermError> {
        // Each element takes at least one byte: a count past the bytes
        // left is a lie, refused before allocating.
        if n > self.b.len() - self.at {
            return Err(TermError("truncated term"));
        }
        (0..n).map(|_| self.term(depth + 1)).collect()
    }
    fn term(&mut self, depth: usize) -> Result<Term, TermError> {
        if depth > MAX_DEPTH {
            return Err(TermError("term nested too deeply"));
        }
        Ok(match self.u8()? {
            97 => Term::Int(i64::from(self.u8()?)),
            98 => {
                let s = self.take(4)?;
                Term::Int(i64::from(i32::from_be_bytes([s[0], s[1], s[2], s[3]])))
            }
            110 => {
                let n = usize::from(self.u8()?);
                let sign = self.u8()?;
                let digits = self.take(n)?;
                if n > 8 {
                    return Err(TermError("integer past 64 bits"));
                }
                let mag = digits.iter().rev().fold(0u64, |acc, &d| (acc << 8) | u64::from(d));
                match sign {
                    0 => Term::Int(i64::try_from(mag).map_err(|_| TermError("integer past 64 bits"))?),
                    _ if mag <= 1 << 63 => Term::Int((mag as i64).wrapping_neg()),
                    _ => return Err(TermError("integer past 64 bits")),
                }
            }
            70 => {
                let s = self.take(8)?;
                Term::Float(f64::from_be_bytes(s.try_into().expect("8 bytes")))
            }
            100 | 118 => {
                let n = self.u16()?;
                self.atom(n)?
            }
            115 | 119 => {
                let n = usize::from(self.u8()?);
                self.atom(n)?
            }
            109 => {
                let n = self.u32()?;
                Term::Binary(self.take(n)?.to_vec())
            }
            106 => Term::List(Vec::new()),
            107 => {
                let n = self.u16()?;
                Term::List(self.take(n)?.iter().map(|&b| Term::Int(i64::from(b))).collect())
            }
            108 => {
                let n = self.u32()?;
                let items = self.items(n, depth)?;
                if self.u8()? != 106 {
                    return Err(TermError("improper list"));
                }
                Term::List(items)
            }
            104 => {
                let n = usize::from(self.u8()?);
                Term::Tuple(self.items(n, depth)?)
            }
            105 => {
                let n = self.u32()?;
                Term::Tuple(self.items(n, depth)?)
            }
            116 => {
                let n = self.u32()?;
                let flat = self.items(n.checked_mul(2).ok_or(TermError("truncated term"))?, depth)?;
                let mut it = flat.into_iter();
                let mut pairs = Vec::with_capacity(n);
                while let (Some(k), Some(v)) = (it.next(), it.next()) {
                    pairs.push((k, v));
                }
                Term::Map(pairs)
            }
            _ => return Err(TermError("a kind of term the SDK does not decode")),
        })
    }
}

/// Encodes `t` in the external term format, version byte first.
///
/// # Errors
/// A pid or port (which `call` cannot answer with here), or nesting
/// deeper than 128.
pub fn encode(t: &Term) -> Result<Vec<u8>, TermError> {
    let mut out = vec![131];
    write(&mut out, t, 0)?;
    Ok(out)
}

fn write(out: &mut Vec<u8>, t: &Term, depth: usize) -> Result<(), TermError> {
    if depth > MAX_DEPTH {
        return Err(TermError("term nested too deeply"));
    }
    match t {
        Term::Atom(a) => {
            let b = a.as_bytes();
            if b.len() < 256 {
                out.extend_from_slice(&[119, b.len() as u8]);
            } else {
                let n = u16::try_from(b.len()).map_err(|_| TermError("atom too long"))?;
                out.push(118);
                out.extend_from_slice(&n.to_be_bytes());
            }
            out.extend_from_slice(b);
        }
        Term::Int(i) if (0..256).contains(i) => out.extend_from_slice(&[97, *i as u8]),
        Term::Int(i) if i32::try_from(*i).is_ok() => {
            out.push(98);
            out.extend_from_slice(&(*i as i32).to_be_bytes());
        }
        Term::Int(i) => {
            let mag = i.unsigned_abs().to_le_bytes();
            let n = 8 - mag.iter().rev().take_while(|&&b| b == 0).count();
            out.extend_from_slice(&[110, n as u8, u8::from(*i < 0)]);
            out.extend_from_slice(&mag[..n]);
        }
        Term::Float(f) => {
            out.push(70);
            out.extend_from_slice(&f.to_be_bytes());
        }
        Term::Binary(b) => {
            let n = u32::try_from(b.len()).map_err(|_| TermError("binary too long"))?;
            out.push(109);
            out.extend_from_slice(&n.to_be_bytes());
            out.extend_from_slice(b);
        }
        Term::List(v) if v.is_empty() => out.push(106),
        Term::List(v) => {
            let n = u32::try_from(v.len()).map_err(|_| TermError("list too long"))?;
            out.push(108);
            out.extend_from_slice(&n.to_be_bytes());
            for x in v {
                write(out, x, depth + 1)?;
            }
            out.push(106);
        }
        Term::Tuple(v) => {
            if v.len() < 256 {
                out.extend_from_slice(&[104, v.len() as u8]);
            } else {
                let n = u32::try_from(v.len()).map_err(|_| TermError("tuple too long"))?;
                out.push(105);
                out.extend_from_slice(&n.to_be_bytes());
            }
            for x in v {
                write(out, x, depth + 1)?;
            }
        }
        Term::Map(pairs) => {
            let n = u32::try_from(pairs.len()).map_err(|_| TermError("map too large"))?;
            out.push(116);
            out.extend_from_slice(&n.to_be_bytes());
            for (k, v) in pairs {
                write(out, k, depth + 1)?;
                write(out, v, depth + 1)?;
            }
        }
        Term::Pid(_) | Term::Port(_) => return Err(TermError("a pid or port cannot be encoded by the SDK")),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let t = Term::tuple([
            Term::atom("ok"),
            Term::Int(-5),
            Term::Int(300),
            Term::Int(i64::MIN),
            Term::Int(1 << 40),
            Term::Float(1.5),
            Term::binary(b"xy"),
            Term::list([Term::Int(1), Term::List(vec![])]),
            Term::Map(vec![(Term::atom("k"), Term::Int(1))]),
        ]);
        assert_eq!(decode(&encode(&t).unwrap()).unwrap(), t);
    }

    #[test]
    fn refuses_lies_and_depth() {
        assert!(decode(&[131, 108, 255, 255, 255, 255]).is_err());
        let mut deep = vec![131];
        deep.extend(std::iter::repeat_n([104, 1], 10_000).flatten());
        deep.push(106);
        assert!(decode(&deep).is_err());
        assert_eq!(decode(&[131, 107, 0, 2, b'h', b'i']).unwrap().as_bytes(), Some(b"hi".to_vec()));
    }
}
