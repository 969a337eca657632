//! The external term format for `term_to_binary/1` and `binary_to_term/1`.
//!
//! Encoding produces the bytes OTP 25's `term_to_binary/1` produces
//! (minor version 1): `ATOM_EXT` for Latin-1 atoms and `SMALL_ATOM_UTF8_EXT`
//! for others, `STRING_EXT` for lists of bytes, `NEW_FLOAT_EXT`,
//! `SMALL_BIG_EXT`/`LARGE_BIG_EXT`, `BIT_BINARY_EXT` for bitstrings that
//! are not whole bytes, `MAP_EXT` with keys in map order, and
//! pids, ports and references of the node `nonode@nohost` with creation 0,
//! `EXPORT_EXT` for `fun M:F/A`. A local fun (a closure the port script
//! made) has no encoding in porthost: ERTS writes it as `NEW_FUN_EXT` with
//! `erl_eval`'s code hash and the fun's whole environment, which porthost
//! does not have, so [`try_term_to_binary`] refuses it and the script's
//! `term_to_binary/1` raises `badarg` where ERTS succeeds.
//!
//! Decoding accepts every tag a port script can meet and answers `badarg`
//! on anything malformed; trailing bytes are ignored, as ERTS ignores them.

use crate::term::{grow_stack, order, Atom, Fun, Pid, PortId, Ref, Term};

const NODE: &str = "nonode@nohost";

fn put_atom(out: &mut Vec<u8>, name: &str) {
    if name.is_ascii() {
        out.push(100);
        out.extend_from_slice(&(name.len() as u16).to_be_bytes());
        out.extend_from_slice(name.as_bytes());
    } else if name.chars().all(|c| (c as u32) < 256) {
        out.push(100);
        out.extend_from_slice(&(name.chars().count() as u16).to_be_bytes());
        out.extend(name.chars().map(|c| c as u8));
    } else if name.len() < 256 {
        out.push(119);
        out.push(name.len() as u8);
        out.extend_from_slice(name.as_bytes());
    } else {
        out.push(118);
        out.extend_from_slice(&(name.len() as u16).to_be_bytes());
        out.extend_from_slice(name.as_bytes());
    }
}

fn put_big(out: &mut Vec<u8>, b: &eetf::BigInteger) {
    let neg = b.value < eetf::BigInteger::from(0u8).value;
    let mag = if neg { -&b.value } else { b.value.clone() };
    let mut bytes = mag.to_signed_bytes_le();
    while bytes.len() > 1 && *bytes.last().unwrap() == 0 {
        bytes.pop();
    }
    if bytes.len() < 256 {
        out.push(110);
        out.push(bytes.len() as u8);
    } else {
        out.push(111);
        out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    }
    out.push(neg as u8);
    out.extend_from_slice(&bytes);
}

/// Writes terms into `out`, noting any it has no encoding for.
struct Encoder<'a> {
    out: &'a mut Vec<u8>,
    /// How many containers the term being written is inside.
    depth: u32,
    /// A local fun was met (written as the atom `undefined`).
    local_fun: bool,
}

/// How many levels the encoder goes down between two checks of the
/// stack: each level takes well under a kilobyte of the thread's stack,
/// and a check finds at least `RED_ZONE` (256 KiB) left.
const STACK_CHECK_EVERY: u32 = 16;

fn put_term(e: &mut Encoder<'_>, t: &Term) {
    // Only a term with terms inside recurses, and the stack is checked
    // every STACK_CHECK_EVERY levels, not at each.
    if e.depth % STACK_CHECK_EVERY == STACK_CHECK_EVERY - 1 && t.nests() {
        grow_stack(|| put_term_here(e, t))
    } else {
        put_term_here(e, t)
    }
}

fn put_elements(e: &mut Encoder<'_>, items: &[Term]) {
    e.depth += 1;
    items.iter().for_each(|t| put_term(e, t));
    e.depth -= 1;
}

fn put_term_here(e: &mut Encoder<'_>, t: &Term) {
    let out = &mut *e.out;
    match t {
        Term::Atom(a) => put_atom(out, a.name()),
        Term::Int(i) if (0..=255).contains(i) => {
            out.push(97);
            out.push(*i as u8);
        }
        Term::Int(i) if i32::try_from(*i).is_ok() => {
            out.push(98);
            out.extend_from_slice(&(*i as i32).to_be_bytes());
        }
        Term::Int(i) => put_big(out, &eetf::BigInteger::from(*i)),
        Term::BigInt(b) => put_big(out, b),
        Term::Float(f) => {
            out.push(70);
            out.extend_from_slice(&f.to_be_bytes());
        }
        Term::Binary(b) => {
            out.push(109);
            out.extend_from_slice(&(b.len() as u32).to_be_bytes());
            out.extend_from_slice(b.as_slice());
        }
        Term::BitString(b, bits) => {
            out.push(77);
            out.extend_from_slice(&(b.len() as u32).to_be_bytes());
            out.push(*bits);
            out.extend_from_slice(b.as_slice());
        }
        Term::List(items) if items.is_empty() => out.push(106),
        Term::List(items)
            if items.len() < 65536 && items.iter().all(|t| matches!(t, Term::Int(0..=255))) =>
        {
            out.push(107);
            out.extend_from_slice(&(items.len() as u16).to_be_bytes());
            out.extend(items.iter().map(|t| t.as_int().unwrap_or(0) as u8));
        }
        Term::List(items) => {
            out.push(108);
            out.extend_from_slice(&(items.len() as u32).to_be_bytes());
            put_elements(e, items);
            e.out.push(106);
        }
        Term::ByteList(b) if b.len() < 65536 => {
            out.push(107);
            out.extend_from_slice(&(b.len() as u16).to_be_bytes());
            out.extend_from_slice(b.as_slice());
        }
        Term::ByteList(b) => {
            out.push(108);
            out.extend_from_slice(&(b.len() as u32).to_be_bytes());
            b.as_slice().iter().for_each(|&x| out.extend_from_slice(&[97, x]));
            out.push(106);
        }
        Term::Improper(items, tail) => {
            out.push(108);
            out.extend_from_slice(&(items.len() as u32).to_be_bytes());
            put_elements(e, items);
            put_elements(e, std::slice::from_ref(tail));
        }
        Term::Tuple(items) => {
            if items.len() < 256 {
                out.push(104);
                out.push(items.len() as u8);
            } else {
                out.push(105);
                out.extend_from_slice(&(items.len() as u32).to_be_bytes());
            }
            put_elements(e, items);
        }
        Term::Map(pairs) => {
            out.push(116);
            out.extend_from_slice(&(pairs.len() as u32).to_be_bytes());
            e.depth += 1;
            for (k, v) in pairs {
                put_term(e, k);
                put_term(e, v);
            }
            e.depth -= 1;
        }
        Term::Pid(p) => {
            out.push(88);
            put_atom(out, NODE);
            out.extend_from_slice(&p.0.to_be_bytes());
            out.extend_from_slice(&0u32.to_be_bytes());
            out.extend_from_slice(&0u32.to_be_bytes());
        }
        Term::Port(p) => {
            if let Ok(id) = u32::try_from(p.0) {
                out.push(89);
                put_atom(out, NODE);
                out.extend_from_slice(&id.to_be_bytes());
            } else {
                out.push(120);
                put_atom(out, NODE);
                out.extend_from_slice(&p.0.to_be_bytes());
            }
            out.extend_from_slice(&0u32.to_be_bytes());
        }
        Term::Ref(r) => {
            out.push(90);
            out.extend_from_slice(&3u16.to_be_bytes());
            put_atom(out, NODE);
            out.extend_from_slice(&0u32.to_be_bytes());
            out.extend_from_slice(&(r.0 as u32).to_be_bytes());
            out.extend_from_slice(&((r.0 >> 32) as u32).to_be_bytes());
            out.extend_from_slice(&0u32.to_be_bytes());
        }
        Term::Fun(Fun::External { module, function, arity }) => {
            out.push(113);
            put_atom(out, module.name());
            put_atom(out, function.name());
            put_term(e, &Term::Int(*arity as i64));
        }
        // No encoding (see the module documentation): a placeholder, and
        // noted for the callers that refuse such a term.
        Term::Fun(Fun::Local(_)) => {
            put_atom(out, "undefined");
            e.local_fun = true;
        }
    }
}

/// True if `t` has an external format in porthost: it holds no local fun
/// (see the module documentation).
pub fn encodable(t: &Term) -> bool {
    match t {
        Term::Fun(Fun::Local(_)) => false,
        // Only a term with terms inside recurses: a leaf needs no stack check.
        t if t.nests() => grow_stack(|| !t.any_inside(|t| !encodable(t))),
        _ => true,
    }
}

/// `term_to_binary(T)`: the external format of `t`, version byte first;
/// `None` if `t` holds a local fun (the script's `term_to_binary/1` then
/// raises `badarg`).
#[allow(dead_code)]
pub fn try_term_to_binary(t: &Term) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(64);
    try_term_to_binary_into(&mut out, t).then_some(out)
}

/// `term_to_binary(T)` for a term known to be [`encodable`]. A local fun,
/// which has no encoding, is written as the atom `undefined`: use
/// [`try_term_to_binary`] for terms that may hold one (the script's
/// `term_to_binary/1` and `erlang:port_call` check with [`encodable`]).
pub fn term_to_binary(t: &Term) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    term_to_binary_into(&mut out, t);
    out
}

/// [`term_to_binary`] appended to `out`.
pub(crate) fn term_to_binary_into(out: &mut Vec<u8>, t: &Term) {
    try_term_to_binary_into(out, t);
}

/// [`term_to_binary_into`], in the same pass telling whether `t` is
/// [`encodable`]: `false` if it held a local fun (then `out` holds a
/// placeholder for it).
pub(crate) fn try_term_to_binary_into(out: &mut Vec<u8>, t: &Term) -> bool {
    out.push(131);
    let mut e = Encoder { out, depth: 0, local_fun: false };
    put_term(&mut e, t);
    !e.local_fun
}

/// `binary_to_term(B)`: the term encoded in `bytes`; `None` (ERTS raises
/// `badarg`) if they are not a valid external term. Bytes after the term
/// are ignored, as ERTS ignores them.
pub fn binary_to_term(bytes: &[u8]) -> Option<Term> {
    decode(bytes, false).map(|(t, _)| t)
}

/// `binary_to_term(B, Opts)`: the term encoded in `bytes` and how many
/// bytes it took (what the `used` option returns). With `safe`, atoms that
/// do not exist yet are refused (`badarg`), as ERTS refuses them; ERTS
/// also refuses there `fun M:F/A` of functions that are not loaded, which
/// porthost cannot know, so it accepts those whose atoms exist.
///
/// Depth is bounded only by memory (the decoder keeps its own stack, as
/// ERTS's `dec_term` does); every length is checked against the bytes
/// present before anything is allocated for it; a compressed term
/// (`<<131, 80, Size:32, Zlib/binary>>`) is inflated to at most its
/// declared `Size`, and refused unless it inflates to exactly that.
pub fn decode(bytes: &[u8], safe: bool) -> Option<(Term, usize)> {
    let mut limits = Limits { safe, new_atom: None, nodes: usize::MAX, refused: None };
    decode_with(bytes, &mut limits)
}

/// What a decode may make, for input from a party that must not exhaust
/// this process (an isolated worker, see `crate::isolate`).
pub(crate) struct Limits<'f> {
    /// `binary_to_term/2`'s `safe`: make no new atoms.
    pub(crate) safe: bool,
    /// Asked before each new atom is made: false refuses it (and the
    /// decode).
    pub(crate) new_atom: Option<&'f dyn Fn() -> bool>,
    /// How many terms (each element, each container) the decode may make.
    pub(crate) nodes: usize,
    /// Set when a limit refused the input (rather than its bytes).
    pub(crate) refused: Option<Refused>,
}

/// Which of [`Limits`] refused an input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// `new_atom` said no.
    Atoms,
    /// More terms than `nodes`.
    Nodes,
}

/// [`decode`] within `limits`: `None` for bytes that are not a valid
/// external term or that a limit refuses (`limits.refused` then says
/// which).
pub(crate) fn decode_with(bytes: &[u8], limits: &mut Limits<'_>) -> Option<(Term, usize)> {
    match bytes {
        [131, 80, rest @ ..] => {
            let size = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
            let (data, used) = inflate(&rest[4..], size)?;
            let mut d = Decoder { b: &data, limits };
            // Inflated bytes after the term are ignored too, as in ERTS.
            Some((d.term()?, 2 + 4 + used))
        }
        [131, rest @ ..] => {
            let mut d = Decoder { b: rest, limits };
            let t = d.term()?;
            Some((t, bytes.len() - d.b.len()))
        }
        _ => None,
    }
}

/// The most a zlib stream can expand: deflate's longest match (258 bytes)
/// costs at least two bits, so about 1032 output bytes per input byte.
const MAX_INFLATE_RATIO: usize = 1032;

/// Inflates the zlib stream at the start of `z` to exactly `size` bytes:
/// the bytes and how many of `z` the stream took; `None` when it is
/// malformed, truncated or inflates to any other size (ERTS: `badarg`).
/// Memory grows with the output actually produced, never past `size`.
fn inflate(z: &[u8], size: usize) -> Option<(Vec<u8>, usize)> {
    if size == 0 || size / MAX_INFLATE_RATIO > z.len() {
        return None;
    }
    let mut inf = flate2::Decompress::new(true);
    let mut out: Vec<u8> = Vec::with_capacity(size.min(64 * 1024));
    loop {
        // Room for the rest of the declared size, plus one byte to see a
        // stream that goes on past it.
        let want = (size + 1 - out.len()).min(out.len().max(64 * 1024));
        out.try_reserve(want).ok()?;
        let before = (inf.total_in(), out.len());
        let input = &z[inf.total_in() as usize..];
        // Not `Finish`: that asks for the whole output in one call.
        let status = inf.decompress_vec(input, &mut out, flate2::FlushDecompress::None).ok()?;
        if out.len() > size {
            return None;
        }
        match status {
            flate2::Status::StreamEnd => break,
            _ if (inf.total_in(), out.len()) == before => return None,
            _ => {}
        }
    }
    (out.len() == size).then(|| (out, inf.total_in() as usize))
}

struct Decoder<'a, 'l, 'f> {
    b: &'a [u8],
    limits: &'l mut Limits<'f>,
}

/// A container the decoder is filling, on its own stack.
enum Frame {
    /// A tuple still missing `left` elements.
    Tuple { items: Vec<Term>, left: usize },
    /// A `LIST_EXT` still missing `left` elements, then its tail.
    List { items: Vec<Term>, left: usize },
    /// A `MAP_EXT` still missing `left` pairs; `key` is the key read of
    /// the pair under way.
    Map { pairs: Vec<(Term, Term)>, key: Option<Term>, left: usize },
}

/// What one step of decoding read: a whole term, or the start of a
/// container whose elements follow.
enum Step {
    Term(Term),
    Open(Frame),
}

/// At most this many elements are allocated ahead for a container: its
/// length is only a claim until its elements have been read.
const PREALLOCATE: usize = 64;

/// How many levels of a term the decoder reads by recursion before it
/// goes on with a stack of its own (a few hundred bytes of the thread's
/// stack per level).
const SHALLOW: u32 = 16;

impl<'a> Decoder<'a, '_, '_> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.b.len() < n {
            return None;
        }
        let (h, t) = self.b.split_at(n);
        self.b = t;
        Some(h)
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    fn u16(&mut self) -> Option<usize> {
        Some(u16::from_be_bytes(self.take(2)?.try_into().ok()?) as usize)
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }
    fn len32(&mut self) -> Option<usize> {
        let n = self.u32()? as usize;
        // Every element takes at least one byte: reject lengths the input
        // cannot hold.
        (n <= self.b.len()).then_some(n)
    }

    fn atom_name(&mut self) -> Option<Atom> {
        let tag = self.u8()?;
        self.atom_body(tag)
    }

    /// The atom of an `ATOM_EXT` (100), `SMALL_ATOM_EXT` (115), `ATOM_UTF8_EXT`
    /// (118) or `SMALL_ATOM_UTF8_EXT` (119) body; `None` for more than 255
    /// characters, a full atom table, or (with `safe`) an atom that does
    /// not exist, as in ERTS.
    fn atom_body(&mut self, tag: u8) -> Option<Atom> {
        let (latin1, n) = match tag {
            100 => (true, self.u16()?),
            115 => (true, self.u8()? as usize),
            118 => (false, self.u16()?),
            119 => (false, self.u8()? as usize),
            _ => return None,
        };
        let text = self.take(n)?;
        let owned;
        let name = if latin1 && !text.is_ascii() {
            owned = text.iter().map(|&b| b as char).collect::<String>();
            &owned
        } else {
            std::str::from_utf8(text).ok()?
        };
        if self.limits.safe {
            return Atom::existing(name);
        }
        if let Some(allow) = self.limits.new_atom {
            if Atom::existing(name).is_none() && !allow() {
                self.limits.refused = Some(Refused::Atoms);
                return None;
            }
        }
        Atom::try_new(name).ok()
    }

    fn big(&mut self, n: usize) -> Option<Term> {
        let sign = self.u8()?;
        let digits = self.take(n)?;
        let sign = if sign == 0 { num_bigint::Sign::Plus } else { num_bigint::Sign::Minus };
        let v = num_bigint::BigInt::from_bytes_le(sign, digits);
        Some(Term::from_big(eetf::BigInteger { value: v }))
    }

    /// The arity of an `EXPORT_EXT`: a small integer, 0 or more (ERTS
    /// accepts arities past 255 there, though no function has one).
    fn arity(&mut self) -> Option<u32> {
        match self.u8()? {
            97 => Some(self.u8()? as u32),
            98 => u32::try_from(i32::from_be_bytes(self.take(4)?.try_into().ok()?)).ok(),
            _ => None,
        }
    }

    /// The term at the front of the input.
    fn term(&mut self) -> Option<Term> {
        self.shallow(0)
    }

    /// The term at the front of the input, `depth` levels into the term
    /// being decoded: by recursion for the first [`SHALLOW`] levels (most
    /// terms; no stack to allocate), then with [`Decoder::deep`].
    fn shallow(&mut self, depth: u32) -> Option<Term> {
        if depth == SHALLOW {
            return self.deep();
        }
        match self.step()? {
            Step::Term(t) => Some(t),
            Step::Open(Frame::Tuple { mut items, left }) => {
                for _ in 0..left {
                    items.push(self.shallow(depth + 1)?);
                }
                Some(Term::Tuple(items))
            }
            Step::Open(Frame::List { mut items, left }) => {
                for _ in 0..left {
                    items.push(self.shallow(depth + 1)?);
                }
                let tail = self.shallow(depth + 1)?;
                Some(Term::cons(items, tail))
            }
            Step::Open(Frame::Map { mut pairs, left, .. }) => {
                for _ in 0..left {
                    let key = self.shallow(depth + 1)?;
                    pairs.push((key, self.shallow(depth + 1)?));
                }
                map_without_duplicates(pairs)
            }
        }
    }

    /// The term at the front of the input, decoded with a stack of
    /// [`Frame`]s on the heap rather than by recursion.
    fn deep(&mut self) -> Option<Term> {
        let mut stack: Vec<Frame> = Vec::new();
        loop {
            let mut value = match self.step()? {
                Step::Term(t) => t,
                Step::Open(f) => {
                    stack.push(f);
                    continue;
                }
            };
            // Hand the value to the containers it completes.
            loop {
                match stack.last_mut() {
                    None => return Some(value),
                    Some(Frame::Tuple { items, left }) => {
                        items.push(value);
                        *left -= 1;
                        if *left > 0 {
                            break;
                        }
                        value = Term::Tuple(std::mem::take(items));
                    }
                    Some(Frame::List { items, left }) if *left > 0 => {
                        items.push(value);
                        *left -= 1;
                        break;
                    }
                    Some(Frame::List { items, .. }) => value = Term::cons(std::mem::take(items), value),
                    Some(Frame::Map { key: key @ None, .. }) => {
                        *key = Some(value);
                        break;
                    }
                    Some(Frame::Map { pairs, key, left }) => {
                        pairs.push((key.take()?, value));
                        *left -= 1;
                        if *left > 0 {
                            break;
                        }
                        value = map_without_duplicates(std::mem::take(pairs))?;
                    }
                }
                stack.pop();
            }
        }
    }

    /// Reads one tag and what follows it up to the first element of a
    /// container.
    // Inlined into `shallow` and `deep`: returned by value, the `Step` was
    // written and read straight back, a store-forwarding stall per term
    // (`docs/performance.md`, "The floor"; port_call 186-214 -> 179-185 ns).
    #[inline(always)]
    fn step(&mut self) -> Option<Step> {
        if self.limits.nodes == 0 {
            self.limits.refused = Some(Refused::Nodes);
            return None;
        }
        self.limits.nodes -= 1;
        let tag = self.u8()?;
        let t = match tag {
            97 => Term::Int(self.u8()? as i64),
            98 => Term::Int(i32::from_be_bytes(self.take(4)?.try_into().ok()?) as i64),
            70 => {
                let f = f64::from_be_bytes(self.take(8)?.try_into().ok()?);
                if !f.is_finite() {
                    return None;
                }
                Term::Float(f)
            }
            99 => {
                let s = std::str::from_utf8(self.take(31)?).ok()?;
                let s = s.trim_end_matches('\0');
                Term::Float(s.trim().parse().ok().filter(|f: &f64| f.is_finite())?)
            }
            100 | 115 | 118 | 119 => Term::Atom(self.atom_body(tag)?),
            104 | 105 => {
                let n = if tag == 104 { self.u8()? as usize } else { self.len32()? };
                if n == 0 {
                    return Some(Step::Term(Term::Tuple(Vec::new())));
                }
                return Some(Step::Open(Frame::Tuple { items: Vec::with_capacity(n.min(PREALLOCATE)), left: n }));
            }
            106 => Term::nil(),
            107 => {
                let n = self.u16()?;
                Term::byte_list(self.take(n)?)
            }
            108 => {
                let n = self.len32()?;
                return Some(Step::Open(Frame::List { items: Vec::with_capacity(n.min(PREALLOCATE)), left: n }));
            }
            109 => {
                let n = self.len32()?;
                Term::binary(self.take(n)?)
            }
            77 => {
                // BIT_BINARY_EXT: `bits` (1..=8) of the last byte are used,
                // the leading ones; ERTS drops the others. An empty one has
                // `bits` 0.
                let n = self.len32()?;
                let bits = self.u8()? as usize;
                let bytes = self.take(n)?;
                bit_binary(bytes, bits)?
            }
            110 => {
                let n = self.u8()? as usize;
                self.big(n)?
            }
            111 => {
                let n = self.len32()?;
                self.big(n)?
            }
            116 => {
                let n = self.len32()?;
                if n == 0 {
                    return Some(Step::Term(Term::Map(Vec::new())));
                }
                let pairs = Vec::with_capacity(n.min(PREALLOCATE));
                return Some(Step::Open(Frame::Map { pairs, key: None, left: n }));
            }
            88 | 103 => {
                self.atom_name()?;
                let id = self.u32()?;
                self.u32()?;
                if tag == 88 {
                    self.u32()?;
                } else {
                    self.u8()?;
                }
                Term::Pid(Pid(id))
            }
            89 | 102 | 120 => {
                self.atom_name()?;
                let id = if tag == 120 {
                    u64::from_be_bytes(self.take(8)?.try_into().ok()?)
                } else {
                    self.u32()? as u64
                };
                if tag == 102 {
                    self.u8()?;
                } else {
                    self.u32()?;
                }
                Term::Port(PortId(id))
            }
            90 | 114 => {
                let n = self.u16()?;
                self.atom_name()?;
                if tag == 90 {
                    self.u32()?;
                } else {
                    self.u8()?;
                }
                let ids = self.take(n.checked_mul(4)?)?;
                let id = |i: usize| ids.get(i * 4..i * 4 + 4).map_or(0, |w| u32::from_be_bytes(w.try_into().unwrap_or_default()));
                Term::Ref(Ref(id(0) as u64 | ((id(1) as u64) << 32)))
            }
            113 => {
                let module = self.atom_name()?;
                let function = self.atom_name()?;
                let arity = self.arity()?;
                Term::Fun(Fun::External { module, function, arity })
            }
            _ => return None,
        };
        Some(Step::Term(t))
    }
}

/// The map of a `MAP_EXT`'s pairs; `None` (ERTS: `badarg`) when a key
/// appears twice.
fn map_without_duplicates(mut pairs: Vec<(Term, Term)>) -> Option<Term> {
    pairs.sort_by(|a, b| order::compare(&a.0, &b.0, true));
    if pairs.windows(2).any(|w| w[0].0 == w[1].0) {
        return None;
    }
    Some(Term::Map(pairs))
}

/// The term of a `BIT_BINARY_EXT` of `bytes` whose last byte holds `bits`
/// bits; `None` (ERTS: `badarg`) when `bits` is out of range.
fn bit_binary(bytes: &[u8], bits: usize) -> Option<Term> {
    match (bytes.len(), bits) {
        (0, 0) => Some(Term::binary(&[])),
        (n, 1..=8) if n > 0 => Some(Term::bitstring(bytes, (n - 1) * 8 + bits)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::parse_script;

    fn bytes(t: &Term) -> String {
        Term::binary(&term_to_binary(t)).to_string()
    }

    #[test]
    fn encoding_matches_otp25() {
        // term_to_binary({a,1,"x",<<1>>, 1.5, 300, -1, 1 bsl 70, [1|2], #{a=>1}}) under OTP 25.
        let t = Term::tuple(vec![
            Term::atom("a"),
            Term::Int(1),
            Term::string("x"),
            Term::binary(&[1]),
            Term::Float(1.5),
            Term::Int(300),
            Term::Int(-1),
            Term::int(1 << 70),
            Term::Improper(vec![Term::Int(1)], Box::new(Term::Int(2))),
            Term::Map(vec![(Term::atom("a"), Term::Int(1))]),
        ]);
        assert_eq!(
            bytes(&t),
            "<<131,104,10,100,0,1,97,97,1,107,0,1,120,109,0,0,0,1,1,70,63,248,0,0,0,0,0,0,98,0,0,1,44,\
             98,255,255,255,255,110,9,0,0,0,0,0,0,0,0,0,64,108,0,0,0,1,97,1,97,2,116,0,0,0,1,100,0,1,97,97,1>>"
        );
        assert_eq!(bytes(&Term::atom("é")), "<<131,100,0,1,233>>");
        assert_eq!(bytes(&Term::List(vec![Term::Int(1), Term::Int(300)])), "<<131,108,0,0,0,2,97,1,98,0,0,1,44,106>>");
        assert_eq!(
            bytes(&Term::Pid(Pid(9))),
            "<<131,88,100,0,13,110,111,110,111,100,101,64,110,111,104,111,115,116,0,0,0,9,0,0,0,0,0,0,0,0>>"
        );
        assert_eq!(
            bytes(&Term::Port(PortId(0))),
            "<<131,89,100,0,13,110,111,110,111,100,101,64,110,111,104,111,115,116,0,0,0,0,0,0,0,0>>"
        );
        assert_eq!(bytes(&Term::Float(-3.0)), "<<131,70,192,8,0,0,0,0,0,0>>");
        assert_eq!(bytes(&Term::binary(&[])), "<<131,109,0,0,0,0>>");
        assert_eq!(bytes(&Term::tuple(vec![])), "<<131,104,0>>");
        assert_eq!(bytes(&Term::Int(1 << 31)), "<<131,110,4,0,0,0,0,128>>");
        assert_eq!(bytes(&Term::Int(-(1 << 31))), "<<131,98,128,0,0,0>>");
    }

    #[test]
    fn round_trips() {
        let forms = parse_script(
            "{hello, [1,2], <<3>>, [], [a|b], \"str\", -5, 1.0e-10, 123456789012345678901234567890, \
              -123456789012345678901234567890, #{b => 1, a => [x]}, {}, 'quoted atom'}.",
        )
        .unwrap();
        let mut s = crate::script::Session::new();
        let t = s.eval_pure(&forms[0]).unwrap();
        let back = binary_to_term(&term_to_binary(&t)).unwrap();
        assert_eq!(back, t);
        assert_eq!(back.to_string(), t.to_string());
        for r in [Term::Ref(Ref(5)), Term::Ref(Ref(1 << 40)), Term::Pid(Pid(3)), Term::Port(PortId(1 << 33))] {
            assert_eq!(binary_to_term(&term_to_binary(&r)).unwrap(), r);
        }
    }

    /// Expectations from OTP 25: `term_to_binary(<<1:7>>)` and
    /// `term_to_binary(<<1,2:3>>)`; decoding keeps only the leading bits of
    /// the last byte (`<<131,77,0,0,0,1,3,255>>` is `<<7:3>>`), and a
    /// `bits` of 8 gives a binary.
    #[test]
    fn bitstrings_use_bit_binary_ext() {
        assert_eq!(bytes(&Term::bitstring(&[2], 7)), "<<131,77,0,0,0,1,7,2>>");
        assert_eq!(bytes(&Term::bitstring(&[1, 0x40], 11)), "<<131,77,0,0,0,2,3,1,64>>");
        let t = Term::bitstring(&[1, 0x40], 11);
        assert_eq!(binary_to_term(&term_to_binary(&t)).unwrap(), t);
        assert_eq!(binary_to_term(&[131, 77, 0, 0, 0, 1, 3, 255]).unwrap().to_string(), "<<7:3>>");
        assert_eq!(term_to_binary(&binary_to_term(&[131, 77, 0, 0, 0, 1, 3, 255]).unwrap()), [131, 77, 0, 0, 0, 1, 3, 224]);
        assert_eq!(binary_to_term(&[131, 77, 0, 0, 0, 2, 1, 7, 255]).unwrap().to_string(), "<<7,1:1>>");
        assert_eq!(binary_to_term(&[131, 77, 0, 0, 0, 1, 8, 255]).unwrap().to_string(), "<<255>>");
        assert_eq!(binary_to_term(&[131, 77, 0, 0, 0, 0, 0]).unwrap().to_string(), "<<>>");
        for bad in [&[131, 77, 0, 0, 0, 1, 0, 255][..], &[131, 77, 0, 0, 0, 0, 3], &[131, 77, 0, 0, 0, 1, 9, 255], &[131, 77, 0, 0, 0, 0, 8]] {
            assert!(binary_to_term(bad).is_none(), "{bad:?}");
        }
    }

    /// Expectation from OTP 25: `term_to_binary(fun erlang:length/1)`.
    #[test]
    fn external_funs_use_export_ext_and_local_funs_have_no_encoding() {
        let f = Term::Fun(Fun::External { module: Atom::new("erlang"), function: Atom::new("length"), arity: 1 });
        assert_eq!(
            bytes(&f),
            "<<131,113,100,0,6,101,114,108,97,110,103,100,0,6,108,101,110,103,116,104,97,1>>"
        );
        assert_eq!(binary_to_term(&term_to_binary(&f)).unwrap(), f);
        let local = Term::Fun(Fun::local(0, false, ()));
        assert!(try_term_to_binary(&local).is_none());
        assert!(try_term_to_binary(&Term::tuple(vec![Term::Int(1), Term::List(vec![local.clone()])])).is_none());
        assert!(try_term_to_binary(&Term::map(vec![(Term::atom("k"), local)])).is_none());
        assert!(try_term_to_binary(&f).is_some());
    }

    #[test]
    fn malformed_input_is_badarg() {
        for bad in [&[][..], &[1, 2], &[131], &[131, 107, 0, 5, 1], &[131, 108, 255, 255, 255, 255], &[131, 68, 0]] {
            assert!(binary_to_term(bad).is_none(), "{bad:?}");
        }
        // Trailing bytes are ignored, as in ERTS.
        assert_eq!(binary_to_term(&[131, 97, 1, 0]).unwrap(), Term::Int(1));
    }

    /// Runs `f` on a thread with Rust's default 2 MiB stack, as a test
    /// that would overflow it by recursion must.
    fn on_small_stack(f: impl FnOnce() + Send + 'static) {
        std::thread::Builder::new().stack_size(2 << 20).spawn(f).unwrap().join().unwrap();
    }

    /// `[[[...]]]`, `depth` lists deep, in the external format.
    fn nested_lists(depth: usize) -> Vec<u8> {
        let mut b = vec![131];
        b.extend(std::iter::repeat_n([108, 0, 0, 0, 1], depth).flatten());
        b.extend(std::iter::repeat_n(106, depth + 1));
        b
    }

    fn compress(data: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(data).unwrap();
        z.finish().unwrap()
    }

    /// `<<131, 80, Size:32, Zlib/binary>>` for the term bytes `term`
    /// (version byte excluded), claiming `size`.
    fn compressed(term: &[u8], size: u32) -> Vec<u8> {
        let mut b = vec![131, 80];
        b.extend_from_slice(&size.to_be_bytes());
        b.extend(compress(term));
        b
    }

    /// The compressed path went through `eetf`, which recursed (and
    /// overflowed at about 200,000 levels); the plain decoder refused
    /// 10,000 levels; encoding, printing, comparing, cloning and dropping
    /// the term recursed too.
    #[test]
    fn a_200000_deep_compressed_term_round_trips_on_a_small_stack() {
        on_small_stack(|| {
            let plain = nested_lists(200_000);
            let z = compressed(&plain[1..], plain.len() as u32 - 1);
            let t = binary_to_term(&z).expect("decodes");
            assert_eq!(term_to_binary(&t), plain);
            let copy = t.clone();
            assert_eq!(copy, t);
            assert!(order::compare(&t, &Term::List(vec![copy.clone()]), false).is_lt());
            let text = t.to_string();
            assert_eq!(text.len(), 400_002);
            assert_eq!(t.iolist_size(), Some(0));
            assert_eq!(decode(&plain, false).map(|(_, used)| used), Some(plain.len()));
        });
    }

    /// A compressed term is inflated to at most its declared size, and
    /// refused unless it inflates to exactly that (ERTS: `badarg`).
    #[test]
    fn a_compressed_term_must_inflate_to_its_declared_size() {
        let body = [100, 0, 2, b'o', b'k'];
        assert_eq!(binary_to_term(&compressed(&body, 5)), Some(Term::atom("ok")));
        for size in [0, 4, 6, 100 << 20, u32::MAX] {
            assert_eq!(binary_to_term(&compressed(&body, size)), None, "{size}");
        }
        // A zip bomb: 10 bytes claiming 100 MiB (refused before inflating),
        // and a real stream of 8 MiB of zeros claiming 1 KiB (inflating
        // stops past 1 KiB).
        assert_eq!(binary_to_term(&[131, 80, 6, 64, 0, 0, 120, 156, 3, 0]), None);
        let mut zeros = vec![109, 0, 128, 0, 0];
        zeros.resize(5 + (8 << 20), 0);
        assert_eq!(binary_to_term(&compressed(&zeros, 1024)), None);
        let bomb = compressed(&zeros, zeros.len() as u32);
        assert!(bomb.len() < 10_000);
        assert!(matches!(binary_to_term(&bomb), Some(Term::Binary(ref b)) if b.len() == 8 << 20));
        // Compressed only at the top, as in ERTS; truncated streams fail.
        let mut inner = vec![131, 104, 1];
        inner.extend_from_slice(&compressed(&body, 5)[1..]);
        assert_eq!(binary_to_term(&inner), None);
        let z = compressed(&body, 5);
        assert_eq!(binary_to_term(&z[..z.len() - 4]), None);
        // `used` counts the compressed bytes; what follows is ignored.
        let mut trailing = z.clone();
        trailing.extend_from_slice(&[1, 2, 3]);
        assert_eq!(decode(&trailing, false).map(|(_, used)| used), Some(z.len()));
    }

    /// Lengths are checked against the bytes present before anything is
    /// allocated for them: 17 bytes that claim 2^32 elements or a 4 GiB
    /// binary, and containers nested inside each other that each claim
    /// all the bytes that are left.
    #[test]
    fn claimed_lengths_past_the_input_are_badarg() {
        assert_eq!(binary_to_term(&[131, 108, 255, 255, 255, 255, 106]), None);
        assert_eq!(binary_to_term(&[131, 109, 255, 255, 255, 255, 0]), None);
        assert_eq!(binary_to_term(&[131, 105, 255, 255, 255, 255, 97, 1]), None);
        assert_eq!(binary_to_term(&[131, 116, 255, 255, 255, 255, 97, 1]), None);
        assert_eq!(binary_to_term(&[131, 111, 255, 255, 255, 255, 0, 1]), None);
        assert_eq!(binary_to_term(&[131, 90, 255, 255, 100, 0, 0, 0, 0, 0, 0]), None);
        let z = compressed(&[108, 255, 255, 255, 255, 106, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 17);
        assert_eq!(binary_to_term(&z), None);
        // Each of 100,000 nested lists claims what is left of the input.
        let mut b = vec![131];
        let depth = 100_000usize;
        for i in 0..depth {
            let left = (depth - i - 1) * 5 + depth;
            b.push(108);
            b.extend_from_slice(&(left as u32).to_be_bytes());
        }
        b.extend(std::iter::repeat_n(106, depth));
        assert_eq!(binary_to_term(&b), None);
    }

    /// `eetf` panicked on an `ATOM_CACHE_REF` (82) inside a compressed term.
    #[test]
    fn an_atom_cache_ref_is_badarg_even_compressed() {
        assert_eq!(binary_to_term(&[131, 82, 0]), None);
        assert_eq!(binary_to_term(&compressed(&[104, 1, 82, 0], 4)), None);
    }

    /// OTP 25: `binary_to_term` of an atom of 256 characters, of a map
    /// with a key twice, and of `EXPORT_EXT` with arity 256.
    #[test]
    fn hostile_terms_get_the_answers_erts_gives() {
        let mut long = vec![131, 118, 1, 0];
        long.extend(std::iter::repeat_n(b'a', 256));
        assert_eq!(binary_to_term(&long), None);
        long[1] = 100;
        assert_eq!(binary_to_term(&long), None);
        let mut max = vec![131, 118, 0, 255];
        max.extend(std::iter::repeat_n(b'b', 255));
        assert!(matches!(binary_to_term(&max), Some(Term::Atom(a)) if a.name().len() == 255));
        // 255 two-byte characters are 510 bytes, and allowed.
        let mut wide = vec![131, 118, 1, 254];
        wide.extend(std::iter::repeat_n([0xc3, 0xa9], 255).flatten());
        assert!(matches!(binary_to_term(&wide), Some(Term::Atom(a)) if a.name().chars().count() == 255));
        assert_eq!(binary_to_term(&[131, 116, 0, 0, 0, 2, 97, 1, 97, 2, 97, 1, 97, 3]), None);
        assert_eq!(
            binary_to_term(&[131, 116, 0, 0, 0, 2, 97, 1, 97, 2, 97, 2, 97, 3]).unwrap().to_string(),
            "#{1 => 2,2 => 3}"
        );
        let f = binary_to_term(&[131, 113, 100, 0, 1, 109, 100, 0, 1, 102, 98, 0, 0, 1, 0]).unwrap();
        assert_eq!(f.to_string(), "fun m:f/256");
        assert_eq!(term_to_binary(&f), [131, 113, 100, 0, 1, 109, 100, 0, 1, 102, 98, 0, 0, 1, 0]);
        assert_eq!(binary_to_term(&[131, 113, 100, 0, 1, 109, 100, 0, 1, 102, 98, 255, 255, 255, 255]), None);
    }

    /// OTP 25's `binary_to_term/2`: `safe` refuses atoms that do not
    /// exist; `used` counts the bytes of the term, version byte included.
    #[test]
    fn safe_refuses_new_atoms_and_used_counts_bytes() {
        let fresh = [131, 100, 0, 9, b'n', b'o', b'_', b's', b'u', b'c', b'h', b'_', b'z'];
        assert_eq!(decode(&fresh, true), None);
        assert!(Atom::existing("no_such_z").is_none());
        assert_eq!(decode(&[131, 100, 0, 2, b'o', b'k', 1, 2, 3], true), Some((Term::atom("ok"), 6)));
        assert!(decode(&fresh, false).is_some());
        assert!(decode(&fresh, true).is_some());
    }

    mod prop {
        use super::*;
        use proptest::prelude::*;

        fn atom_name() -> impl Strategy<Value = String> {
            prop_oneof!["[a-z][a-z0-9_]{0,8}", "[A-Z ]{1,4}", "\\PC{0,5}"]
        }

        /// Terms of every kind that has an external format in porthost.
        fn term() -> impl Strategy<Value = Term> {
            let leaf = prop_oneof![
                any::<i64>().prop_map(Term::Int),
                any::<i128>().prop_map(Term::int),
                any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Term::Float),
                atom_name().prop_map(|n: String| Term::atom(&n)),
                proptest::collection::vec(any::<u8>(), 0..20).prop_map(|b| Term::binary(&b)),
                (proptest::collection::vec(any::<u8>(), 1..5), 1usize..8)
                    .prop_map(|(b, t)| Term::bitstring(&b, (b.len() - 1) * 8 + t)),
                proptest::collection::vec(any::<u8>(), 1..20).prop_map(|b| Term::compact_byte_list(&b)),
                any::<u32>().prop_map(|p| Term::Pid(Pid(p))),
                any::<u64>().prop_map(|p| Term::Port(PortId(p))),
                any::<u64>().prop_map(|r| Term::Ref(Ref(r))),
                (atom_name(), atom_name(), any::<u32>().prop_map(|a| a >> 1)).prop_map(|(m, f, arity)| {
                    Term::Fun(Fun::External { module: Atom::new(&m), function: Atom::new(&f), arity })
                }),
            ];
            leaf.prop_recursive(4, 64, 8, |inner| {
                prop_oneof![
                    proptest::collection::vec(inner.clone(), 0..8).prop_map(Term::List),
                    proptest::collection::vec(inner.clone(), 0..8).prop_map(Term::Tuple),
                    (proptest::collection::vec(inner.clone(), 1..4), inner.clone())
                        .prop_map(|(h, t)| Term::cons(h, t)),
                    proptest::collection::vec((inner.clone(), inner), 0..6).prop_map(Term::map),
                ]
            })
        }

        proptest! {
            #[test]
            fn decoding_an_encoded_term_gives_it_back(t in term()) {
                let bytes = term_to_binary(&t);
                let back = binary_to_term(&bytes);
                prop_assert_eq!(back.as_ref(), Some(&t));
                prop_assert_eq!(term_to_binary(back.as_ref().unwrap()), bytes.clone());
                prop_assert_eq!(decode(&bytes, true).map(|(_, n)| n), Some(bytes.len()));
                let mut z = vec![131, 80];
                z.extend_from_slice(&(bytes.len() as u32 - 1).to_be_bytes());
                z.extend(compress(&bytes[1..]));
                let inflated = binary_to_term(&z);
                prop_assert_eq!(inflated.as_ref(), Some(&t));
            }

            #[test]
            fn the_decoder_never_panics_on_arbitrary_bytes(b in proptest::collection::vec(any::<u8>(), 0..200)) {
                let _ = binary_to_term(&b);
                let mut v = vec![131];
                v.extend_from_slice(&b);
                let _ = decode(&v, true);
                let _ = binary_to_term(&v);
            }

            #[test]
            fn the_decoder_never_panics_on_mutated_terms(t in term(), flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4)) {
                let mut bytes = term_to_binary(&t);
                for (i, x) in flips {
                    let n = bytes.len();
                    bytes[i % n] ^= x;
                }
                let _ = binary_to_term(&bytes);
                let z = compressed(&bytes[1..], bytes.len() as u32 - 1);
                let _ = binary_to_term(&z);
            }
        }
    }
}
