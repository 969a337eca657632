//! The external term format (`term_to_binary/1`, `binary_to_term/1`, the
//! arguments and answers of `port_call`), through the `eetf` crate.
//!
//! Decoding uses `eetf`. Encoding is written here because a driver sees the
//! bytes and a script can print them, so they must be exactly what ERTS 25's
//! `term_to_binary/1` produces, and `eetf` encodes a newer dialect (UTF-8
//! atoms, as OTP 26 does). ERTS 25 writes: Latin-1 atoms as `ATOM_EXT` (100;
//! others as `ATOM_UTF8_EXT` 118 / `SMALL_ATOM_UTF8_EXT` 119), integers as
//! `SMALL_INTEGER_EXT`, `INTEGER_EXT` or `SMALL_BIG_EXT`, floats as
//! `NEW_FLOAT_EXT`, byte lists as `STRING_EXT`, pids, ports and references as
//! `NEW_PID_EXT`, `NEW_PORT_EXT` and `NEWER_REFERENCE_EXT` of node
//! `nonode@nohost` with creation 0, and map keys in term order.

use crate::binary::Bin;
use crate::term::{Atom, Pid, PortId, Ref, Term};

const NODE: &str = "nonode@nohost";

/// Encodes `t` with the version byte 131, as `term_to_binary/1`.
///
/// # Errors
/// The encoder's error (an atom longer than 65535 bytes).
pub fn encode(t: &Term) -> Result<Vec<u8>, String> {
    let mut out = vec![131];
    encode_into(t, &mut out)?;
    Ok(out)
}

fn encode_atom(name: &str, out: &mut Vec<u8>) -> Result<(), String> {
    let latin1: Option<Vec<u8>> = name.chars().map(|c| u8::try_from(c as u32).ok()).collect();
    match latin1 {
        Some(bytes) if bytes.len() <= 255 => {
            out.push(100);
            out.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
            out.extend_from_slice(&bytes);
        }
        Some(_) => return Err(format!("atom too long: {name}")),
        None if name.len() <= 255 => {
            out.extend_from_slice(&[119, name.len() as u8]);
            out.extend_from_slice(name.as_bytes());
        }
        None => {
            out.push(118);
            out.extend_from_slice(&(name.len() as u16).to_be_bytes());
            out.extend_from_slice(name.as_bytes());
        }
    }
    Ok(())
}

fn encode_big(sign: bool, mut magnitude: Vec<u8>, out: &mut Vec<u8>) {
    // Little-endian digits, as SMALL_BIG_EXT / LARGE_BIG_EXT want.
    while magnitude.last() == Some(&0) && magnitude.len() > 1 {
        magnitude.pop();
    }
    if magnitude.len() <= 255 {
        out.extend_from_slice(&[110, magnitude.len() as u8]);
    } else {
        out.push(111);
        out.extend_from_slice(&(magnitude.len() as u32).to_be_bytes());
    }
    out.push(sign as u8);
    out.extend_from_slice(&magnitude);
}

fn encode_len_items(small: u8, large: u8, n: usize, out: &mut Vec<u8>) {
    if n <= 255 && small != 0 {
        out.extend_from_slice(&[small, n as u8]);
    } else {
        out.push(large);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
}

fn encode_node(out: &mut Vec<u8>) {
    encode_atom(NODE, out).expect("a short atom");
}

fn encode_into(t: &Term, out: &mut Vec<u8>) -> Result<(), String> {
    match t {
        Term::Atom(a) => encode_atom(a.name(), out)?,
        Term::Int(i @ 0..=255) => out.extend_from_slice(&[97, *i as u8]),
        Term::Int(i) => match i32::try_from(*i) {
            Ok(v) => {
                out.push(98);
                out.extend_from_slice(&v.to_be_bytes());
            }
            Err(_) => encode_big(*i < 0, i.unsigned_abs().to_le_bytes().to_vec(), out),
        },
        Term::BigInt(b) => {
            let (sign, mag) = b.value.to_bytes_le();
            encode_big(sign == num_bigint::Sign::Minus, mag, out)
        }
        Term::Float(f) => {
            out.push(70);
            out.extend_from_slice(&f.to_bits().to_be_bytes());
        }
        Term::Binary(b) => {
            out.push(109);
            out.extend_from_slice(&(b.len() as u32).to_be_bytes());
            out.extend_from_slice(b.as_slice());
        }
        Term::List(items) if items.is_empty() => out.push(106),
        Term::List(items) if items.len() < 65536 && items.iter().all(|i| matches!(i, Term::Int(0..=255))) => {
            out.push(107);
            out.extend_from_slice(&(items.len() as u16).to_be_bytes());
            out.extend(items.iter().map(|i| i.as_int().unwrap() as u8));
        }
        Term::List(items) => {
            encode_len_items(0, 108, items.len(), out);
            for i in items {
                encode_into(i, out)?;
            }
            out.push(106);
        }
        Term::Improper(items, tail) => {
            encode_len_items(0, 108, items.len(), out);
            for i in items {
                encode_into(i, out)?;
            }
            encode_into(tail, out)?;
        }
        Term::Tuple(items) => {
            encode_len_items(104, 105, items.len(), out);
            for i in items {
                encode_into(i, out)?;
            }
        }
        Term::Map(kvs) => {
            out.push(116);
            out.extend_from_slice(&(kvs.len() as u32).to_be_bytes());
            for (k, v) in kvs {
                encode_into(k, out)?;
                encode_into(v, out)?;
            }
        }
        Term::Pid(p) => {
            out.push(88);
            encode_node(out);
            out.extend_from_slice(&p.0.to_be_bytes());
            out.extend_from_slice(&0u32.to_be_bytes());
            out.extend_from_slice(&0u32.to_be_bytes());
        }
        Term::Port(p) => {
            out.push(89);
            encode_node(out);
            out.extend_from_slice(&(p.0 as u32).to_be_bytes());
            out.extend_from_slice(&0u32.to_be_bytes());
        }
        Term::Ref(r) => {
            out.push(90);
            out.extend_from_slice(&3u16.to_be_bytes());
            encode_node(out);
            out.extend_from_slice(&0u32.to_be_bytes());
            for w in [r.0 as u32, (r.0 >> 32) as u32, 0] {
                out.extend_from_slice(&w.to_be_bytes());
            }
        }
    }
    Ok(())
}


/// Decodes external term format (with its version byte), as
/// `binary_to_term/1`. Trailing bytes are an error.
///
/// # Errors
/// A message saying what is malformed.
pub fn decode(bytes: &[u8]) -> Result<Term, String> {
    let mut cursor = std::io::Cursor::new(bytes);
    let t = eetf::Term::decode(&mut cursor).map_err(|e| e.to_string())?;
    if (cursor.position() as usize) != bytes.len() {
        return Err(format!("{} trailing bytes", bytes.len() - cursor.position() as usize));
    }
    from_eetf(t)
}

fn from_eetf(t: eetf::Term) -> Result<Term, String> {
    use eetf::Term as E;
    Ok(match t {
        E::Atom(a) => Term::Atom(Atom::new(&a.name)),
        E::FixInteger(i) => Term::Int(i.value as i64),
        E::BigInteger(b) => match i64::try_from(&b.value) {
            Ok(v) => Term::Int(v),
            Err(_) => Term::BigInt(b),
        },
        E::Float(f) => Term::Float(f.value),
        E::Binary(b) => Term::Binary(Bin::from_slice(&b.bytes)),
        E::BitBinary(_) => return Err("bitstrings that are not binaries are not supported".into()),
        E::ByteList(l) => Term::byte_list(&l.bytes),
        E::List(l) => Term::List(l.elements.into_iter().map(from_eetf).collect::<Result<_, _>>()?),
        E::ImproperList(l) => {
            let items: Vec<Term> = l.elements.into_iter().map(from_eetf).collect::<Result<_, _>>()?;
            let tail = from_eetf(*l.last)?;
            match tail {
                Term::List(more) => Term::List(items.into_iter().chain(more).collect()),
                Term::Improper(more, t) => Term::Improper(items.into_iter().chain(more).collect(), t),
                t if items.is_empty() => t,
                t => Term::Improper(items, Box::new(t)),
            }
        }
        E::Tuple(t) => Term::Tuple(t.elements.into_iter().map(from_eetf).collect::<Result<_, _>>()?),
        E::Map(m) => {
            let mut kvs: Vec<(Term, Term)> = m
                .map
                .into_iter()
                .map(|(k, v)| Ok((from_eetf(k)?, from_eetf(v)?)))
                .collect::<Result<_, String>>()?;
            kvs.sort_by(|a, b| super::order::compare(&a.0, &b.0, true));
            Term::Map(kvs)
        }
        E::Pid(p) => Term::Pid(Pid(p.id)),
        E::Port(p) => Term::Port(PortId(p.id)),
        E::Reference(r) => Term::Ref(Ref(r.id.first().copied().unwrap_or(0) as u64
            | (r.id.get(1).copied().unwrap_or(0) as u64) << 32)),
        E::ExternalFun(_) | E::InternalFun(_) => return Err("funs are not supported".into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_erts() {
        // term_to_binary({ok, [1,2], <<3>>}) in ERTS 25.
        let t = Term::Tuple(vec![Term::atom("ok"), Term::byte_list(&[1, 2]), Term::binary(&[3])]);
        assert_eq!(
            encode(&t).unwrap(),
            [131, 104, 3, 100, 0, 2, b'o', b'k', 107, 0, 2, 1, 2, 109, 0, 0, 0, 1, 3]
        );
        assert_eq!(decode(&encode(&t).unwrap()).unwrap(), t);
        assert!(decode(&[131, 97]).is_err());
        assert!(decode(&[131, 97, 1, 0]).is_err());
    }
}
