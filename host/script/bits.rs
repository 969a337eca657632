//! The bit syntax: building bitstrings from segments and matching segments
//! against bitstrings, as `eval_bits` does for `erl_eval`.
//!
//! Segments work at bit granularity (`<<1:3, 5:5>>` is `<<37>>`,
//! `<<A:4, B:4>> = <<16#12>>` binds `A = 1, B = 2`). A value whose size is
//! a multiple of 8 bits is a [`Term::Binary`], any other a
//! [`Term::BitString`] (`<<1:7>>`, `<<X:3, Rest/bits>> = <<255,1>>` binds
//! `Rest = <<248,1:5>>`).
//!
//! `binary` segments take a unit (default 8): built without a size, the
//! value's size must be a multiple of it, and matched without a size, the
//! rest must be (`<<X/binary-unit:3>> = <<1:6>>` matches). `bits` segments
//! have unit 1 and no other: an explicit `unit:N` with `N /= 1` raises
//! `error:{bittype_mismatch, N, 1, "unit"}` when building and does not
//! match in a pattern, as `erl_bits` makes `erl_eval` behave.
//!
//! Integers are two's complement, truncated to the segment size when built;
//! little-endian segments whose size is not a multiple of 8 put the whole
//! bytes first, least significant first, then the remaining high bits, as
//! ERTS does (`<<16#123:12/little>>` is `<<16#23, 1:4>>`). `native` is the
//! host's byte order. Floats are 16, 32 or 64 bits; building one that
//! overflows the size gives infinity, as ERTS 25 does, and matching an
//! infinity or NaN fails.

use crate::script::num;
use crate::script::parse::{BitSpec, BitType, Endian};
use crate::script::Exception;
use crate::term::{Bin, Term};

fn badarg() -> Exception {
    Exception::badarg()
}

fn little(e: Endian) -> bool {
    match e {
        Endian::Big => false,
        Endian::Little => true,
        Endian::Native => cfg!(target_endian = "little"),
    }
}

/// The default unit of a segment type.
pub fn default_unit(ty: BitType) -> u32 {
    match ty {
        BitType::Binary => 8,
        _ => 1,
    }
}

/// The unit of a segment: its `unit:N`, else the type's default.
fn unit_of(spec: &BitSpec) -> u64 {
    match spec.unit {
        Some(0) => 256,
        Some(u) => u as u64,
        None => default_unit(spec.ty) as u64,
    }
}

/// The size in bits of a segment given its evaluated size expression, or
/// the type's default size (`None` for "all the rest" / utf types).
///
/// # Errors
/// `badarg` for a bad size; `{bittype_mismatch, N, 1, "unit"}` for a `bits`
/// segment with `unit:N`, `N /= 1`.
pub fn segment_bits(spec: &BitSpec, size: Option<&Term>) -> Result<Option<usize>, Exception> {
    let unit = unit_of(spec);
    if spec.ty == BitType::Bits && unit != 1 {
        return Err(Exception::error(Term::tuple(vec![
            Term::atom("bittype_mismatch"),
            Term::Int(unit as i64),
            Term::Int(1),
            Term::string("unit"),
        ])));
    }
    match size {
        None => Ok(match spec.ty {
            BitType::Integer => Some(8),
            BitType::Float => Some(64),
            _ => None,
        }),
        Some(_) if matches!(spec.ty, BitType::Utf8 | BitType::Utf16 | BitType::Utf32) => Err(badarg()),
        // ERTS: `system_limit` for sizes it cannot address (`<<0:(1 bsl
        // 64)>>`); it tries and fails to allocate smaller huge ones
        // (`<<0:(1 bsl 40)>>` aborts the VM): porthost refuses from 2^40.
        Some(Term::Int(n)) if *n >= 0 => {
            let bits = (*n as u64).checked_mul(unit).filter(|&b| b <= (1u64 << 40)).ok_or_else(system_limit)?;
            Ok(Some(bits as usize))
        }
        Some(t @ Term::BigInt(_)) if !num::is_negative(t) => Err(system_limit()),
        Some(_) => Err(badarg()),
    }
}

fn system_limit() -> Exception {
    Exception::error(Term::atom("system_limit"))
}

/// A bit-granular output buffer.
#[derive(Default)]
pub struct BitWriter {
    bytes: Vec<u8>,
    bits: usize,
}

impl BitWriter {
    /// An empty writer.
    pub fn new() -> BitWriter {
        BitWriter::default()
    }

    fn push_bit(&mut self, bit: bool) {
        if self.bits % 8 == 0 {
            self.bytes.push(0);
        }
        if bit {
            let last = self.bytes.len() - 1;
            self.bytes[last] |= 0x80 >> (self.bits % 8);
        }
        self.bits += 1;
    }

    /// Appends the low `n` bits of `v` (`n <= 8`), most significant first.
    fn push_small(&mut self, v: u8, n: usize) {
        if n == 8 && self.bits % 8 == 0 {
            self.bytes.push(v);
            self.bits += 8;
            return;
        }
        for i in (0..n).rev() {
            self.push_bit((v >> i) & 1 == 1);
        }
    }

    /// Appends whole bytes.
    pub fn push_bytes(&mut self, bytes: &[u8]) {
        if self.bits % 8 == 0 {
            self.bytes.extend_from_slice(bytes);
            self.bits += bytes.len() * 8;
        } else {
            for &b in bytes {
                self.push_small(b, 8);
            }
        }
    }

    /// Appends the first `n` bits of `bytes`.
    ///
    /// # Panics
    /// If `bytes` holds fewer than `n` bits.
    pub fn push_bits_of(&mut self, bytes: &[u8], n: usize) {
        self.push_bytes(&bytes[..n / 8]);
        if n % 8 != 0 {
            self.push_small(bytes[n / 8] >> (8 - n % 8), n % 8);
        }
    }

    /// Appends an `n`-bit value given as little-endian bytes (the top byte
    /// holding the `n % 8` high bits when `n` is not a multiple of 8).
    fn push_le_value(&mut self, le: &[u8], n: usize, little: bool) {
        let full = n / 8;
        let part = n % 8;
        if little {
            for &b in &le[..full] {
                self.push_small(b, 8);
            }
            if part != 0 {
                self.push_small(le[full], part);
            }
        } else {
            if part != 0 {
                self.push_small(le[full], part);
            }
            for &b in le[..full].iter().rev() {
                self.push_small(b, 8);
            }
        }
    }

    /// The bytes written and their size in bits (the unused bits of the
    /// last byte clear).
    pub fn into_bits(self) -> (Vec<u8>, usize) {
        (self.bytes, self.bits)
    }

    /// The bits written as a term: a binary that ERTS would keep off-heap
    /// (as `erl_eval` builds every non-empty binary, see
    /// [`Bin::is_heap`]) when they make whole bytes, otherwise a bitstring.
    pub fn into_term(self) -> Term {
        match self.bits % 8 {
            // The unused bits of the last byte were never set.
            0 => Term::Binary(Bin::from_slice_refc(&self.bytes)),
            tail => Term::BitString(Bin::from_slice(&self.bytes), tail as u8),
        }
    }
}

/// The low `n` bits of integer `v` as little-endian two's complement bytes
/// (`ceil(n/8)` of them, the top one masked to `n % 8` bits).
fn int_le_bytes(v: &Term, n: usize) -> Result<Vec<u8>, Exception> {
    let len = n.div_ceil(8);
    let (mut le, neg): (Vec<u8>, bool) = match v {
        Term::Int(i) => (i.to_le_bytes().to_vec(), *i < 0),
        Term::BigInt(b) => (b.value.to_signed_bytes_le(), num::is_negative(v)),
        _ => return Err(badarg()),
    };
    // A huge segment (`<<0:(1 bsl 39)>>`) is `system_limit` when memory
    // for it cannot be had, not an abort.
    le.try_reserve_exact(len.saturating_sub(le.len())).map_err(|_| system_limit())?;
    le.resize(len, if neg { 0xff } else { 0 });
    if n % 8 != 0 {
        le[len - 1] &= (1u8 << (n % 8)) - 1;
    }
    Ok(le)
}

/// Converts to IEEE half precision, rounding to nearest even; values too
/// large give infinity.
fn f64_to_f16(f: f64) -> u16 {
    let sign: u16 = if f.is_sign_negative() { 0x8000 } else { 0 };
    let x = f.abs();
    if x == 0.0 {
        return sign;
    }
    if x.is_nan() {
        return 0x7e00;
    }
    if x < 6.103515625e-5 {
        // Subnormal: units of 2^-24.
        let m = (x * 16777216.0).round_ties_even() as u16;
        return sign | m;
    }
    let e = ((x.to_bits() >> 52) & 0x7ff) as i32 - 1023;
    let mut m = (x / 2f64.powi(e - 10)).round_ties_even() as u32;
    let mut e = e;
    if m == 2048 {
        m = 1024;
        e += 1;
    }
    if e > 15 {
        return sign | 0x7c00;
    }
    sign | (((e + 15) as u16) << 10) | (m - 1024) as u16
}

fn f16_to_f64(h: u16) -> f64 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let e = ((h >> 10) & 0x1f) as i32;
    let m = (h & 0x3ff) as f64;
    match e {
        0 => sign * m * 2f64.powi(-24),
        31 => {
            if m == 0.0 {
                sign * f64::INFINITY
            } else {
                f64::NAN
            }
        }
        _ => sign * (1024.0 + m) * 2f64.powi(e - 25),
    }
}

/// Appends one segment's value. `bits` is the segment size from
/// [`segment_bits`].
pub fn write_segment(w: &mut BitWriter, v: &Term, bits: Option<usize>, spec: &BitSpec) -> Result<(), Exception> {
    let le = little(spec.endian);
    match spec.ty {
        BitType::Integer => {
            let n = bits.ok_or_else(badarg)?;
            let bytes = int_le_bytes(v, n)?;
            w.push_le_value(&bytes, n, le);
        }
        BitType::Float => {
            let f = num::to_f64(v).ok_or_else(badarg)?;
            let bytes: Vec<u8> = match bits {
                Some(64) => f.to_le_bytes().to_vec(),
                Some(32) => (f as f32).to_le_bytes().to_vec(),
                Some(16) => f64_to_f16(f).to_le_bytes().to_vec(),
                _ => return Err(badarg()),
            };
            w.push_le_value(&bytes, bytes.len() * 8, le);
        }
        BitType::Binary | BitType::Bits => {
            let (bytes, size) = v.as_bits().ok_or_else(badarg)?;
            let n = match bits {
                Some(n) => n,
                None if size as u64 % unit_of(spec) == 0 => size,
                None => return Err(badarg()),
            };
            if n > size {
                return Err(badarg());
            }
            w.push_bits_of(bytes, n);
        }
        BitType::Utf8 | BitType::Utf16 | BitType::Utf32 => {
            let c = match v {
                Term::Int(i) => u32::try_from(*i).ok().and_then(char::from_u32).ok_or_else(badarg)?,
                _ => return Err(badarg()),
            };
            match spec.ty {
                BitType::Utf8 => {
                    let mut buf = [0u8; 4];
                    w.push_bytes(c.encode_utf8(&mut buf).as_bytes());
                }
                BitType::Utf16 => {
                    let mut buf = [0u16; 2];
                    for unit in c.encode_utf16(&mut buf) {
                        w.push_le_value(&unit.to_le_bytes(), 16, le);
                    }
                }
                _ => w.push_le_value(&(c as u32).to_le_bytes(), 32, le),
            }
        }
    }
    Ok(())
}

/// A bit-granular cursor over a bitstring being matched.
pub struct BitReader<'a> {
    bin: &'a Bin,
    pos: usize,
    end: usize,
}

impl<'a> BitReader<'a> {
    /// A reader at the start of binary `bin`.
    pub fn new(bin: &'a Bin) -> BitReader<'a> {
        BitReader { bin, pos: 0, end: bin.len() * 8 }
    }

    /// A reader at the start of `t`, if it is a binary or bitstring.
    pub fn of_term(t: &'a Term) -> Option<BitReader<'a>> {
        match t {
            Term::Binary(b) => Some(BitReader::new(b)),
            Term::BitString(b, bits) => {
                Some(BitReader { bin: b, pos: 0, end: (b.len() - 1) * 8 + *bits as usize })
            }
            _ => None,
        }
    }

    /// Bits left.
    pub fn remaining(&self) -> usize {
        self.end - self.pos
    }

    fn bit(&self, i: usize) -> bool {
        let b = self.bin.as_slice()[i / 8];
        (b >> (7 - i % 8)) & 1 == 1
    }

    /// Reads `n <= 8` bits as the low bits of a byte.
    fn small(&mut self, n: usize) -> u8 {
        if n == 8 && self.pos % 8 == 0 {
            let b = self.bin.as_slice()[self.pos / 8];
            self.pos += 8;
            return b;
        }
        let mut v = 0u8;
        for _ in 0..n {
            v = (v << 1) | self.bit(self.pos) as u8;
            self.pos += 1;
        }
        v
    }

    /// Reads an `n`-bit value into little-endian bytes (inverse of
    /// `BitWriter::push_le_value`).
    fn le_value(&mut self, n: usize, little: bool) -> Vec<u8> {
        let full = n / 8;
        let part = n % 8;
        let mut le = vec![0u8; n.div_ceil(8)];
        if little {
            for b in le.iter_mut().take(full) {
                *b = self.small(8);
            }
            if part != 0 {
                le[full] = self.small(part);
            }
        } else {
            if part != 0 {
                le[full] = self.small(part);
            }
            for i in (0..full).rev() {
                le[i] = self.small(8);
            }
        }
        le
    }

    /// Takes `n` bits as a binary or bitstring term: a sub-binary sharing
    /// the bytes when they start on a byte boundary and are whole bytes or
    /// the rest of the input (whose unused last bits are clear), a copy
    /// otherwise.
    fn take_bits(&mut self, n: usize) -> Term {
        if self.pos % 8 == 0 && (n % 8 == 0 || self.pos + n == self.end) {
            let b = self.bin.sub(self.pos / 8, n.div_ceil(8));
            self.pos += n;
            return match n % 8 {
                0 => Term::Binary(b),
                tail => Term::BitString(b, tail as u8),
            };
        }
        let mut bytes: Vec<u8> = (0..n / 8).map(|_| self.small(8)).collect();
        if n % 8 == 0 {
            return Term::binary(&bytes);
        }
        let tail = n % 8;
        bytes.push(self.small(tail) << (8 - tail));
        Term::BitString(Bin::from_slice(&bytes), tail as u8)
    }
}

/// Converts little-endian bytes of an `n`-bit integer to a term.
fn le_to_int(le: &[u8], n: usize, signed: bool) -> Term {
    if n == 0 {
        return Term::Int(0);
    }
    if n <= 120 {
        let mut v: i128 = 0;
        for &b in le.iter().rev() {
            v = (v << 8) | b as i128;
        }
        if signed && (v >> (n - 1)) & 1 == 1 {
            v -= 1i128 << n;
        }
        return Term::int(v);
    }
    let mut v = eetf::BigInteger::from(0u8).value;
    for &b in le.iter().rev() {
        v = (v << 8usize) + eetf::BigInteger::from(b).value;
    }
    if signed && (le[(n - 1) / 8] >> ((n - 1) % 8)) & 1 == 1 {
        v -= eetf::BigInteger::from(1u8).value << n;
    }
    Term::from_big(eetf::BigInteger { value: v })
}

/// Reads one segment. `Ok(None)` when the binary does not match (too short,
/// invalid UTF, a float that is not finite); `bits` is from
/// [`segment_bits`] (`None`: the rest, for binaries).
pub fn read_segment(r: &mut BitReader<'_>, bits: Option<usize>, spec: &BitSpec) -> Result<Option<Term>, Exception> {
    let le = little(spec.endian);
    match spec.ty {
        BitType::Integer => {
            let n = bits.ok_or_else(badarg)?;
            if n > r.remaining() {
                return Ok(None);
            }
            let bytes = r.le_value(n, le);
            Ok(Some(le_to_int(&bytes, n, spec.signed)))
        }
        BitType::Float => {
            let n = bits.ok_or_else(badarg)?;
            if !matches!(n, 16 | 32 | 64) || n > r.remaining() {
                return Ok(None);
            }
            let b = r.le_value(n, le);
            let f = match n {
                64 => f64::from_le_bytes(b.try_into().expect("8 bytes")),
                32 => f32::from_le_bytes(b.try_into().expect("4 bytes")) as f64,
                _ => f16_to_f64(u16::from_le_bytes(b.try_into().expect("2 bytes"))),
            };
            Ok(f.is_finite().then_some(Term::Float(f)))
        }
        BitType::Binary | BitType::Bits => {
            let n = match bits {
                Some(n) => n,
                None => {
                    let rest = r.remaining();
                    if rest as u64 % unit_of(spec) != 0 {
                        return Ok(None);
                    }
                    rest
                }
            };
            if n > r.remaining() {
                return Ok(None);
            }
            Ok(Some(r.take_bits(n)))
        }
        BitType::Utf8 => {
            if r.remaining() < 8 {
                return Ok(None);
            }
            let save = r.pos;
            let first = r.small(8);
            let len = match first {
                0x00..=0x7f => 1,
                0xc2..=0xdf => 2,
                0xe0..=0xef => 3,
                0xf0..=0xf4 => 4,
                _ => 0,
            };
            if len == 0 || r.remaining() < (len - 1) * 8 {
                r.pos = save;
                return Ok(None);
            }
            let mut buf = vec![first];
            for _ in 1..len {
                buf.push(r.small(8));
            }
            match std::str::from_utf8(&buf) {
                Ok(s) => Ok(Some(Term::Int(s.chars().next().expect("one char") as i64))),
                Err(_) => {
                    r.pos = save;
                    Ok(None)
                }
            }
        }
        BitType::Utf16 => {
            if r.remaining() < 16 {
                return Ok(None);
            }
            let save = r.pos;
            let u1 = u16::from_le_bytes(r.le_value(16, le).try_into().expect("2 bytes"));
            let units = if (0xd800..0xdc00).contains(&u1) {
                if r.remaining() < 16 {
                    r.pos = save;
                    return Ok(None);
                }
                let u2 = u16::from_le_bytes(r.le_value(16, le).try_into().expect("2 bytes"));
                vec![u1, u2]
            } else {
                vec![u1]
            };
            match char::decode_utf16(units).next() {
                Some(Ok(c)) => Ok(Some(Term::Int(c as i64))),
                _ => {
                    r.pos = save;
                    Ok(None)
                }
            }
        }
        BitType::Utf32 => {
            if r.remaining() < 32 {
                return Ok(None);
            }
            let save = r.pos;
            let u = u32::from_le_bytes(r.le_value(32, le).try_into().expect("4 bytes"));
            match char::from_u32(u) {
                Some(c) => Ok(Some(Term::Int(c as i64))),
                None => {
                    r.pos = save;
                    Ok(None)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(ty: BitType, signed: bool, endian: Endian) -> BitSpec {
        BitSpec { ty, signed, endian, unit: None }
    }

    /// The term built from `segs`.
    fn build_term(segs: &[(Term, usize, BitSpec)]) -> Result<Term, Exception> {
        let mut w = BitWriter::new();
        for (v, n, s) in segs {
            write_segment(&mut w, v, Some(*n), s)?;
        }
        Ok(w.into_term())
    }

    /// The bytes of the binary built from `segs`.
    fn build(segs: &[(Term, usize, BitSpec)]) -> Result<Vec<u8>, Exception> {
        match build_term(segs)? {
            Term::Binary(ref b) => Ok(b.as_slice().to_vec()),
            t => panic!("{t} is not a binary"),
        }
    }

    #[test]
    fn little_endian_partial_bytes_match_erts() {
        let int_le = spec(BitType::Integer, false, Endian::Little);
        let int = spec(BitType::Integer, false, Endian::Big);
        // <<16#123:12/little, 0:4>> = <<35,16>>
        assert_eq!(build(&[(Term::Int(0x123), 12, int_le), (Term::Int(0), 4, int)]).unwrap(), [35, 16]);
        // <<16#ABCDE:20/little, 0:4>> = <<222,188,160>>
        assert_eq!(build(&[(Term::Int(0xABCDE), 20, int_le), (Term::Int(0), 4, int)]).unwrap(), [222, 188, 160]);
        // <<-1:12/little, 0:4>> = <<255,240>>
        assert_eq!(build(&[(Term::Int(-1), 12, int_le), (Term::Int(0), 4, int)]).unwrap(), [255, 240]);
        // <<1:1, 2:7, 3:4, 5:4>> = <<130,53>>
        assert_eq!(
            build(&[(Term::Int(1), 1, int), (Term::Int(2), 7, int), (Term::Int(3), 4, int), (Term::Int(5), 4, int)]).unwrap(),
            [130, 53]
        );
        // Matching <<X:12/little, _:4>> = <<16#23, 16#10>> gives 291.
        let b = Bin::from_slice(&[0x23, 0x10]);
        let mut r = BitReader::new(&b);
        assert_eq!(read_segment(&mut r, Some(12), &int_le).unwrap().unwrap().to_string(), "291");
        // <<A:3/signed, _:5>> = <<16#C0>> gives -2.
        let b = Bin::from_slice(&[0xc0]);
        let mut r = BitReader::new(&b);
        let s = spec(BitType::Integer, true, Endian::Big);
        assert_eq!(read_segment(&mut r, Some(3), &s).unwrap().unwrap().to_string(), "-2");
    }

    #[test]
    fn floats_and_utf() {
        let f = spec(BitType::Float, false, Endian::Big);
        assert_eq!(build(&[(Term::Float(1.5), 16, f)]).unwrap(), [62, 0]);
        assert_eq!(build(&[(Term::Float(65504.0), 16, f)]).unwrap(), [123, 255]);
        assert_eq!(build(&[(Term::Float(65520.0), 16, f)]).unwrap(), [124, 0]);
        assert_eq!(build(&[(Term::Float(3.0e-8), 16, f)]).unwrap(), [0, 1]);
        assert_eq!(build(&[(Term::Float(1.0e300), 32, f)]).unwrap(), [127, 128, 0, 0]);
        assert_eq!(build(&[(Term::Int(1), 64, f)]).unwrap(), [63, 240, 0, 0, 0, 0, 0, 0]);
        assert!(build(&[(Term::Float(1.0), 24, f)]).is_err());
        let fl = spec(BitType::Float, false, Endian::Little);
        assert_eq!(build(&[(Term::Float(1.5), 64, fl)]).unwrap(), [0, 0, 0, 0, 0, 0, 248, 63]);
        let b = Bin::from_slice(&[62, 0]);
        assert_eq!(read_segment(&mut BitReader::new(&b), Some(16), &f).unwrap().unwrap().to_string(), "1.5");
        let inf = Bin::from_slice(&[127, 128, 0, 0]);
        assert!(read_segment(&mut BitReader::new(&inf), Some(32), &f).unwrap().is_none());

        let mut w = BitWriter::new();
        write_segment(&mut w, &Term::Int(97), None, &spec(BitType::Utf16, false, Endian::Little)).unwrap();
        write_segment(&mut w, &Term::Int(0x1F600), None, &spec(BitType::Utf16, false, Endian::Big)).unwrap();
        write_segment(&mut w, &Term::Int(0x1F600), None, &spec(BitType::Utf32, false, Endian::Big)).unwrap();
        assert_eq!(w.into_term().to_string(), "<<97,0,216,61,222,0,0,1,246,0>>");
        let mut w = BitWriter::new();
        assert!(write_segment(&mut w, &Term::Int(0xD800), None, &spec(BitType::Utf8, false, Endian::Big)).is_err());
    }

    #[test]
    fn big_integers() {
        let int = spec(BitType::Integer, false, Endian::Big);
        let big = Term::int(1i128 << 70);
        assert_eq!(build(&[(big, 72, int)]).unwrap(), [64, 0, 0, 0, 0, 0, 0, 0, 0]);
        let b = Bin::from_slice(&[1, 0, 0, 0, 0, 0, 0, 0, 0]);
        let v = read_segment(&mut BitReader::new(&b), Some(72), &int).unwrap().unwrap();
        assert_eq!(v.to_string(), "18446744073709551616");
        let b = Bin::from_slice(&[0xff; 20]);
        let s = spec(BitType::Integer, true, Endian::Big);
        assert_eq!(read_segment(&mut BitReader::new(&b), Some(160), &s).unwrap().unwrap().to_string(), "-1");
        let v = read_segment(&mut BitReader::new(&b), Some(160), &int).unwrap().unwrap();
        assert_eq!(v.to_string(), "1461501637330902918203684832716283019655932542975");
    }

    /// Expectations from OTP 25's `erl_eval`.
    #[test]
    fn unaligned_results_are_bitstrings() {
        let int = spec(BitType::Integer, false, Endian::Big);
        let bits = spec(BitType::Bits, false, Endian::Big);
        // <<1:4>>
        assert_eq!(build_term(&[(Term::Int(1), 4, int)]).unwrap().to_string(), "<<1:4>>");
        // <<256:9>>, <<-1:3>>, <<300:12/little>>
        assert_eq!(build_term(&[(Term::Int(256), 9, int)]).unwrap().to_string(), "<<128,0:1>>");
        assert_eq!(build_term(&[(Term::Int(-1), 3, int)]).unwrap().to_string(), "<<7:3>>");
        let int_le = spec(BitType::Integer, false, Endian::Little);
        assert_eq!(build_term(&[(Term::Int(300), 12, int_le)]).unwrap().to_string(), "<<44,1:4>>");
        // B = <<1,2:3>>, <<B:4/bits>> is <<0:4>>; <<B:9/bits, 0:7>> is <<1,0>>.
        let b = Term::bitstring(&[1, 0x40], 11);
        assert_eq!(build_term(&[(b.clone(), 4, bits)]).unwrap().to_string(), "<<0:4>>");
        assert_eq!(build_term(&[(b.clone(), 9, bits), (Term::Int(0), 7, int)]).unwrap().to_string(), "<<1,0>>");
        assert!(build_term(&[(b, 12, bits)]).is_err());

        // <<X:3, Rest/bits>> = <<255,1>> gives {7,<<248,1:5>>}.
        let src = Term::binary(&[255, 1]);
        let mut r = BitReader::of_term(&src).unwrap();
        assert_eq!(read_segment(&mut r, Some(3), &int).unwrap().unwrap().to_string(), "7");
        assert_eq!(read_segment(&mut r, None, &bits).unwrap().unwrap().to_string(), "<<248,1:5>>");
        // <<_:4, R/bits>> = <<1>> gives <<1:4>>; the rest of a bitstring is
        // shared, a middle part copied and masked.
        let src = Term::bitstring(&[0xab, 0xcd, 0xe0], 19);
        let mut r = BitReader::of_term(&src).unwrap();
        assert_eq!(r.remaining(), 19);
        assert_eq!(read_segment(&mut r, Some(4), &bits).unwrap().unwrap().to_string(), "<<10:4>>");
        assert_eq!(read_segment(&mut r, Some(4), &int).unwrap().unwrap().to_string(), "11");
        assert_eq!(read_segment(&mut r, None, &bits).unwrap().unwrap().to_string(), "<<205,7:3>>");
        // A `binary` segment without a size needs whole units of the rest.
        let src = Term::bitstring(&[0x04], 6);
        let bin = spec(BitType::Binary, false, Endian::Big);
        assert!(read_segment(&mut BitReader::of_term(&src).unwrap(), None, &bin).unwrap().is_none());
        let bin3 = BitSpec { unit: Some(3), ..bin };
        assert_eq!(read_segment(&mut BitReader::of_term(&src).unwrap(), None, &bin3).unwrap().unwrap().to_string(), "<<1:6>>");
    }

    #[test]
    fn bits_segments_take_no_unit_but_one() {
        let bits3 = BitSpec { unit: Some(3), ..spec(BitType::Bits, false, Endian::Big) };
        let e = segment_bits(&bits3, Some(&Term::Int(2))).unwrap_err();
        assert_eq!(e.reason.to_string(), "{bittype_mismatch,3,1,[117,110,105,116]}");
        let bits1 = BitSpec { unit: Some(1), ..bits3 };
        assert_eq!(segment_bits(&bits1, Some(&Term::Int(6))).unwrap(), Some(6));
    }
}
