//! Erlang terms as porthost holds them.
//!
//! [`Term`] is the value type of the whole host: messages in a mailbox, the
//! arguments of the port BIFs, the values a port script computes. Atoms are
//! interned in one global table (as in ERTS, atoms are never freed), so an
//! [`Atom`] is a small index and doubles as the `ErlDrvTermData` that
//! `driver_mk_atom` returns. Binaries are reference-counted driver binaries
//! ([`Bin`]), so a binary passes between a script, a mailbox and a driver's
//! `ErlIOVec` without being copied, as ERTS passes refc binaries.
//! Bitstrings whose size is not a whole number of bytes (`<<1,2:3>>`) are
//! their own variant, [`Term::BitString`]: ERTS accepts them wherever a
//! bitstring will do (bit syntax, `bit_size/1`, term order, the external
//! format) and refuses them wherever a binary or an iolist is needed, and
//! keeping them apart makes every `match` say which of the two it means.
//!
//! Funs ([`Term::Fun`]) are opaque here: a closure made by the port
//! script's evaluator carries its clauses and captured bindings as an
//! [`Any`] payload that only the evaluator reads, so this module does not
//! depend on the script language; a fun is equal only to itself.
//!
//! Formatting with `{}` prints a term as Erlang's `io:format("~w", [T])`
//! does; ordering follows Erlang's standard term order (see [`order`]).

pub mod ext;
pub mod fmt;
pub mod order;
pub mod pretty;

use std::any::Any;
use std::collections::HashMap;
use std::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use parking_lot::RwLock;

pub use crate::binary::Bin;

/// An interned atom. The index is stable for the life of the process.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Atom(u32);

/// ERTS's default atom table limit (`+t`, 1,048,576 atoms): past it,
/// [`Atom::try_new`] refuses new atoms (ERTS's `system_limit`).
pub const ATOM_LIMIT: usize = 1024 * CHUNK;
/// The longest atom ERTS allows, in characters (`MAX_ATOM_CHARACTERS`).
pub const MAX_ATOM_CHARACTERS: usize = 255;
const CHUNK: usize = 1024;
/// One chunk more than [`ATOM_LIMIT`] needs: room for the host's own
/// atoms ([`Atom::new`]) after input has filled the table.
const CHUNKS: usize = ATOM_LIMIT / CHUNK + 1;

/// Atom names by index, readable without a lock: chunks of `CHUNK` slots
/// allocated as the table grows and never freed (atoms live forever, as in
/// ERTS). Only the interning path (under `AtomTable::index`'s lock) writes.
static NAMES: [AtomicPtr<[OnceLock<&'static str>; CHUNK]>; CHUNKS] =
    [const { AtomicPtr::new(std::ptr::null_mut()) }; CHUNKS];
static COUNT: AtomicU32 = AtomicU32::new(0);

struct AtomTable {
    index: HashMap<&'static str, u32>,
}

fn atom_table() -> &'static RwLock<AtomTable> {
    static TABLE: OnceLock<RwLock<AtomTable>> = OnceLock::new();
    TABLE.get_or_init(|| RwLock::new(AtomTable { index: HashMap::new() }))
}

/// The atom `name` (a string literal), interned on first use and then
/// read from a per-call-site cache: no lock, no hashing. For atoms a hot
/// path makes on every call (`data`, `ok`, ...).
#[macro_export]
macro_rules! atom {
    ($name:literal) => {{
        static ATOM: ::std::sync::OnceLock<$crate::term::Atom> = ::std::sync::OnceLock::new();
        *ATOM.get_or_init(|| $crate::term::Atom::new($name))
    }};
}

/// Why [`Atom::try_new`] refused a name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AtomError {
    /// The name has more than [`MAX_ATOM_CHARACTERS`] characters (ERTS:
    /// `system_limit` from `list_to_atom/1`, `badarg` from
    /// `binary_to_term/1`, "illegal atom" from the scanner).
    TooLong,
    /// The table already holds [`ATOM_LIMIT`] atoms (ERTS:
    /// `system_limit`).
    TableFull,
}

impl std::fmt::Display for AtomError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AtomError::TooLong => write!(f, "atom longer than {MAX_ATOM_CHARACTERS} characters"),
            AtomError::TableFull => write!(f, "atom table full ({ATOM_LIMIT} atoms)"),
        }
    }
}

impl std::error::Error for AtomError {}

thread_local! {
    /// [`Atom::recent`]'s cache: (name, index) pairs, `u32::MAX` for none.
    static RECENT: [std::cell::Cell<(&'static str, u32)>; 64] =
        const { [const { std::cell::Cell::new(("", u32::MAX)) }; 64] };
}

fn recent_slot(name: &str) -> usize {
    name.bytes().fold(name.len(), |h, b| h.wrapping_mul(31).wrapping_add(b as usize)) % 64
}

impl Atom {
    /// Interns `name`, a name that comes from input (a script, a term to
    /// decode): as ERTS, refuses names of more than
    /// 255 characters (`MAX_ATOM_CHARACTERS`) and new atoms once the
    /// table holds `ATOM_LIMIT` (1,048,576, ERTS's default).
    ///
    /// # Errors
    /// `AtomError`, which ERTS reports as `system_limit` (or `badarg`
    /// from `binary_to_term/1`).
    pub fn try_new(name: &str) -> Result<Atom, AtomError> {
        if name.len() > MAX_ATOM_CHARACTERS && name.chars().count() > MAX_ATOM_CHARACTERS {
            return Err(AtomError::TooLong);
        }
        match Atom::existing(name) {
            Some(a) => Ok(a),
            None if (COUNT.load(Ordering::Acquire) as usize) < ATOM_LIMIT => Ok(Atom::new(name)),
            None => Err(AtomError::TableFull),
        }
    }

    /// The atom `name` if it has been interned, without making it
    /// (`list_to_existing_atom/1`, `binary_to_term/2`'s `safe`).
    pub fn existing(name: &str) -> Option<Atom> {
        if let Some(a) = Atom::recent(name) {
            return Some(a);
        }
        let a = atom_table().read().index.get(name).map(|&i| Atom(i))?;
        Atom::remember(a);
        Some(a)
    }

    /// Interns `name` (UTF-8 text) and returns its atom: for the host's
    /// own names; names from input go through [`Atom::try_new`].
    ///
    /// # Panics
    /// When the table is full even counting the room kept for the host's
    /// own atoms past `ATOM_LIMIT` (ERTS stops the whole VM at its
    /// limit: "no more index entries in atom_tab").
    pub fn new(name: &str) -> Atom {
        if let Some(a) = Atom::recent(name) {
            return a;
        }
        let a = Atom::intern(name);
        Atom::remember(a);
        a
    }

    /// The atom `name` if this thread met it recently: a small per-thread
    /// cache in front of the table, as decoding and building terms intern
    /// the same few atoms over and over. Only interned atoms enter it.
    #[inline]
    fn recent(name: &str) -> Option<Atom> {
        let (text, i) = RECENT.with(|r| r[recent_slot(name)].get());
        (i != u32::MAX && text == name).then_some(Atom(i))
    }

    fn remember(a: Atom) {
        let name = a.name();
        RECENT.with(|r| r[recent_slot(name)].set((name, a.0)));
    }

    fn intern(name: &str) -> Atom {
        if let Some(&i) = atom_table().read().index.get(name) {
            return Atom(i);
        }
        let mut t = atom_table().write();
        if let Some(&i) = t.index.get(name) {
            return Atom(i);
        }
        let i = COUNT.load(Ordering::Relaxed) as usize;
        assert!(i < CHUNKS * CHUNK, "no more index entries in the atom table (ERTS's limit: {ATOM_LIMIT} atoms)");
        let name: &'static str = Box::leak(name.to_owned().into_boxed_str());
        let chunk = &NAMES[i / CHUNK];
        let mut slots = chunk.load(Ordering::Acquire);
        if slots.is_null() {
            slots = Box::into_raw(Box::new([const { OnceLock::new() }; CHUNK]));
            chunk.store(slots, Ordering::Release);
        }
        // SAFETY: chunks are never freed; slot `i` is written once, here,
        // under the table's write lock.
        let _ = unsafe { &(*slots)[i % CHUNK] }.set(name);
        t.index.insert(name, i as u32);
        COUNT.store(i as u32 + 1, Ordering::Release);
        Atom(i as u32)
    }

    /// The atom's text.
    pub fn name(self) -> &'static str {
        let i = self.0 as usize;
        let slots = NAMES[i / CHUNK].load(Ordering::Acquire);
        // SAFETY: an Atom exists only for an interned index, whose chunk
        // was published (Release) before the Atom was returned, and chunks
        // are never freed.
        unsafe { &(*slots)[i % CHUNK] }.get().expect("an interned atom has a name")
    }

    /// The atom's index in the atom table (used as its `ErlDrvTermData`).
    pub fn index(self) -> u32 {
        self.0
    }

    /// The atom with index `i`, if one has been interned.
    pub fn from_index(i: u32) -> Option<Atom> {
        (i < COUNT.load(Ordering::Acquire)).then_some(Atom(i))
    }
}

impl std::fmt::Debug for Atom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", fmt::quote_atom(self.name()))
    }
}

/// A process identifier, printed as `<0.N.0>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pid(pub u32);

/// A port identifier: the port's number `N`, printed as `#Port<0.N>`
/// (see `port` for how numbers are given out).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PortId(pub u64);

/// A reference, printed as `#Ref<0.0.0.N>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ref(pub u64);

/// A fun: a closure (`fun (X) -> ... end`, made by the port script's
/// evaluator) or an external fun (`fun M:F/A`).
///
/// A local fun is equal only to itself (ERTS compares `erl_eval` funs by
/// their captured environment, so two funs written alike with the same
/// bindings are equal there; porthost does not reproduce that), and local
/// funs sort before external ones, in the order they were made. External
/// funs compare by module, then function name, then arity, as in ERTS.
/// Funs have no external term format in porthost except `fun M:F/A`:
/// [`ext::try_term_to_binary`] refuses local ones.
#[derive(Clone)]
pub enum Fun {
    /// A closure.
    Local(Arc<LocalFun>),
    /// `fun Module:Function/Arity`.
    External {
        /// The module.
        module: Atom,
        /// The function.
        function: Atom,
        /// The arity: 0..=255 from a script (`fun M:F/256` is `badarg`
        /// there), any non-negative 32-bit value from `binary_to_term/1`,
        /// whose `EXPORT_EXT` ERTS decodes with no upper bound.
        arity: u32,
    },
}

/// The closure behind a local [`Fun`]: its identity, arity and the
/// evaluator's payload.
pub struct LocalFun {
    id: u64,
    arity: u8,
    named: bool,
    payload: Box<dyn Any + Send + Sync>,
}

impl Fun {
    /// A new local fun of `arity` arguments; `named` for a named fun
    /// (`fun Name(...) -> ... end`, which ERTS numbers differently when it
    /// prints it). `payload` is what the maker needs to call it back.
    pub fn local(arity: u8, named: bool, payload: impl Any + Send + Sync) -> Fun {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Fun::Local(Arc::new(LocalFun {
            id: NEXT.fetch_add(1, Ordering::Relaxed),
            arity,
            named,
            payload: Box::new(payload),
        }))
    }

    /// The number of arguments the fun takes.
    pub fn arity(&self) -> usize {
        match self {
            Fun::Local(l) => l.arity as usize,
            Fun::External { arity, .. } => *arity as usize,
        }
    }

    /// The payload of a local fun, if it is a `T`.
    pub fn payload<T: Any>(&self) -> Option<&T> {
        match self {
            Fun::Local(l) => l.payload.downcast_ref(),
            Fun::External { .. } => None,
        }
    }
}

impl LocalFun {
    /// A number unique to this fun, increasing in the order funs are made.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// True for a named fun (`fun Name(...) -> ... end`).
    pub fn is_named(&self) -> bool {
        self.named
    }
}

impl std::fmt::Debug for Fun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", Term::Fun(self.clone()))
    }
}

/// An Erlang term.
///
/// Terms may nest as deep as memory allows (ERTS's are heap data): cloning,
/// dropping, comparing, printing and encoding one never recurse on the
/// thread's stack past `grow_stack`'s margin.
#[derive(Debug)]
pub enum Term {
    /// An atom.
    Atom(Atom),
    /// An integer that fits 64 bits.
    Int(i64),
    /// An integer that does not fit 64 bits (never holds a value that fits).
    BigInt(eetf::BigInteger),
    /// A float.
    Float(f64),
    /// A binary (byte-aligned bitstring).
    Binary(Bin),
    /// A bitstring that is not a whole number of bytes, such as `<<1,2:3>>`
    /// (OTP: `is_bitstring/1` true, `is_binary/1` false).
    ///
    /// `BitString(bytes, bits)` holds the whole bytes followed by one more
    /// byte whose `bits` leading (most significant) bits are the bitstring's
    /// last bits, the rest of that byte zero; `bits` is 1..=7, so the size
    /// is `(bytes.len() - 1) * 8 + bits` bits. A size that is a multiple of
    /// 8 is always a [`Term::Binary`]; build both with [`Term::bitstring`],
    /// which keeps these rules. A bitstring is not an iolist: the port BIFs
    /// and `iolist_to_binary/1` raise `badarg` for it, as ERTS does.
    BitString(Bin, u8),
    /// A proper list; `List(vec![])` is `[]`.
    List(Vec<Term>),
    /// A proper, non-empty list of integers 0..=255 held as bytes, one
    /// byte per element: what list-mode ports produce (`port_control`
    /// answers, `{Port, {data, List}}`), built by
    /// [`Term::compact_byte_list`]. It is the same Erlang value as the
    /// [`Term::List`] of those integers: equal to it, sorted, printed and
    /// encoded alike, and an iolist of the same bytes. ERTS builds such a
    /// list as cons cells (16 bytes per element); here it costs one byte
    /// per element. [`Term::expanded`] gives the `List` form.
    ByteList(Bin),
    /// An improper list: the elements and a tail that is not a list.
    /// Never has an empty element vector.
    Improper(Vec<Term>, Box<Term>),
    /// A tuple.
    Tuple(Vec<Term>),
    /// A map, its keys unique and sorted in term order.
    Map(Vec<(Term, Term)>),
    /// A process identifier.
    Pid(Pid),
    /// A port identifier.
    Port(PortId),
    /// A reference.
    Ref(Ref),
    /// A fun.
    Fun(Fun),
}

impl Term {
    /// The atom `name`.
    pub fn atom(name: &str) -> Term {
        Term::Atom(Atom::new(name))
    }
    /// `[]`.
    pub fn nil() -> Term {
        Term::List(Vec::new())
    }
    /// A tuple of `items`.
    pub fn tuple(items: Vec<Term>) -> Term {
        Term::Tuple(items)
    }
    /// A binary holding a copy of `bytes`.
    pub fn binary(bytes: &[u8]) -> Term {
        Term::Binary(Bin::from_slice(bytes))
    }
    /// The bitstring of the first `bits` bits of `bytes`: a
    /// [`Term::Binary`] when `bits` is a multiple of 8, otherwise a
    /// [`Term::BitString`] (the bits after the first `bits` are cleared in
    /// the copy).
    ///
    /// # Panics
    /// If `bytes` holds fewer than `bits` bits.
    pub fn bitstring(bytes: &[u8], bits: usize) -> Term {
        let len = bits.div_ceil(8);
        assert!(len <= bytes.len(), "bitstring of {bits} bits from {} bytes", bytes.len());
        let tail = (bits % 8) as u8;
        if tail == 0 {
            return Term::binary(&bytes[..len]);
        }
        let mut v = bytes[..len].to_vec();
        v[len - 1] &= 0xffu8 << (8 - tail);
        Term::BitString(Bin::from_slice(&v), tail)
    }
    /// The bytes and the size in bits of a binary or bitstring (the bytes
    /// as [`Term::BitString`] documents them); `None` for other terms.
    pub fn as_bits(&self) -> Option<(&[u8], usize)> {
        match self {
            Term::Binary(b) => Some((b.as_slice(), b.len() * 8)),
            Term::BitString(b, bits) => Some((b.as_slice(), (b.len() - 1) * 8 + *bits as usize)),
            _ => None,
        }
    }
    /// A list of the bytes of `bytes` (how ERTS delivers data in list mode).
    pub fn byte_list(bytes: &[u8]) -> Term {
        Term::List(bytes.iter().map(|&b| Term::Int(b as i64)).collect())
    }
    /// The list of `bytes` as integers, compact ([`Term::ByteList`]);
    /// `[]` when `bytes` is empty.
    pub fn compact_byte_list(bytes: &[u8]) -> Term {
        if bytes.is_empty() {
            Term::nil()
        } else {
            Term::ByteList(Bin::from_slice(bytes))
        }
    }
    /// `self` with every [`Term::ByteList`] in it (at any depth) replaced
    /// by the equal [`Term::List`] of integers; borrowed when there is none.
    pub fn expanded(&self) -> std::borrow::Cow<'_, Term> {
        if self.has_byte_list() {
            std::borrow::Cow::Owned(self.expand())
        } else {
            std::borrow::Cow::Borrowed(self)
        }
    }
    /// As [`Term::expanded`], by value.
    pub fn into_expanded(self) -> Term {
        if self.has_byte_list() {
            self.expand()
        } else {
            self
        }
    }
    fn has_byte_list(&self) -> bool {
        grow_stack(|| match self {
            Term::ByteList(_) => true,
            Term::List(v) | Term::Tuple(v) => v.iter().any(Term::has_byte_list),
            Term::Improper(v, t) => t.has_byte_list() || v.iter().any(Term::has_byte_list),
            Term::Map(kv) => kv.iter().any(|(k, v)| k.has_byte_list() || v.has_byte_list()),
            _ => false,
        })
    }
    fn expand(&self) -> Term {
        grow_stack(|| match self {
            Term::ByteList(b) => Term::byte_list(b.as_slice()),
            Term::List(v) => Term::List(v.iter().map(Term::expand).collect()),
            Term::Tuple(v) => Term::Tuple(v.iter().map(Term::expand).collect()),
            // A list tail that expands to a list joins the elements.
            Term::Improper(v, t) => Term::cons(v.iter().map(Term::expand).collect(), t.expand()),
            Term::Map(kv) => Term::Map(kv.iter().map(|(k, v)| (k.expand(), v.expand())).collect()),
            t => t.clone(),
        })
    }
    /// A string as a list of code points, as `"..."` reads in Erlang.
    pub fn string(s: &str) -> Term {
        Term::List(s.chars().map(|c| Term::Int(c as i64)).collect())
    }
    /// An integer, small or big.
    pub fn int(i: i128) -> Term {
        match i64::try_from(i) {
            Ok(v) => Term::Int(v),
            Err(_) => Term::BigInt(eetf::BigInteger { value: i.into() }),
        }
    }
    /// An integer from a big integer: `Int` when it fits 64 bits (the one
    /// representation of each integer).
    pub fn from_big(b: eetf::BigInteger) -> Term {
        match i64::try_from(&b.value) {
            Ok(i) => Term::Int(i),
            Err(_) => Term::BigInt(b),
        }
    }
    /// A map of `pairs`: keys sorted in term order, a later duplicate key
    /// replacing an earlier one (as `#{K => V, ...}` builds it).
    pub fn map(mut pairs: Vec<(Term, Term)>) -> Term {
        pairs.sort_by(|a, b| order::compare(&a.0, &b.0, true));
        let mut out: Vec<(Term, Term)> = Vec::with_capacity(pairs.len());
        for (k, v) in pairs {
            match out.last_mut() {
                Some(last) if last.0 == k => last.1 = v,
                _ => out.push((k, v)),
            }
        }
        Term::Map(out)
    }
    /// `[H1, ..., Hn | Tail]`: `heads` consed onto `tail`, as one
    /// [`Term::List`] or [`Term::Improper`] when `tail` is a list (a
    /// [`Term::ByteList`] tail is expanded); `tail` itself when there are
    /// no heads.
    pub fn cons(mut heads: Vec<Term>, mut tail: Term) -> Term {
        if heads.is_empty() {
            return tail;
        }
        match &mut tail {
            Term::List(rest) => {
                heads.append(rest);
                Term::List(heads)
            }
            Term::ByteList(b) => {
                heads.extend(b.as_slice().iter().map(|&x| Term::Int(x as i64)));
                Term::List(heads)
            }
            Term::Improper(rest, t) => {
                heads.append(rest);
                Term::Improper(heads, Box::new(std::mem::replace(&mut **t, Term::nil())))
            }
            _ => Term::Improper(heads, Box::new(tail)),
        }
    }
    /// The elements of a tuple, moved out; `Err(self)` for other terms.
    /// (`Term` has a `Drop`, so a pattern cannot move its parts out.)
    #[allow(clippy::result_large_err)]
    pub fn into_tuple(mut self) -> Result<Vec<Term>, Term> {
        match &mut self {
            Term::Tuple(v) => Ok(std::mem::take(v)),
            _ => Err(self),
        }
    }
    /// The atom, if this is one.
    pub fn as_atom(&self) -> Option<Atom> {
        match self {
            Term::Atom(a) => Some(*a),
            _ => None,
        }
    }
    /// True if this is the atom `name`.
    pub fn is_atom(&self, name: &str) -> bool {
        matches!(self, Term::Atom(a) if a.name() == name)
    }
    /// The integer, if this is an integer that fits `i64`.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Term::Int(i) => Some(*i),
            _ => None,
        }
    }
    /// True for `[]`.
    pub fn is_nil(&self) -> bool {
        matches!(self, Term::List(v) if v.is_empty())
    }

    /// Flattens an iolist (a binary, or a possibly improper, possibly deep
    /// list of bytes and binaries whose tail is a binary or `[]`) into bytes,
    /// as `erlang:iolist_to_binary/1` does. `None` if `self` is not an
    /// iolist (ERTS raises `badarg`).
    pub fn iolist_to_bytes(&self) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        self.iolist_walk(&mut |piece| match piece {
            IoPiece::Byte(b) => out.push(b),
            IoPiece::Bytes(b) => out.extend_from_slice(b),
            IoPiece::Bin(b) => out.extend_from_slice(b.as_slice()),
        })?;
        Some(out)
    }

    /// The byte length of an iolist, `None` if `self` is not one.
    pub fn iolist_size(&self) -> Option<usize> {
        if let Term::Binary(b) = self {
            // The common data: no walk.
            return Some(b.len());
        }
        let mut n = 0;
        self.iolist_walk(&mut |piece| match piece {
            IoPiece::Byte(_) => n += 1,
            IoPiece::Bytes(b) => n += b.len(),
            IoPiece::Bin(b) => n += b.len(),
        })?;
        Some(n)
    }

    /// Visits the pieces of an iolist in order; `None` if not an iolist
    /// (a [`Term::BitString`] anywhere in it makes it not one). Deep
    /// iolists are walked with a stack on the heap, not by recursion.
    pub fn iolist_walk(&self, f: &mut dyn FnMut(IoPiece<'_>)) -> Option<()> {
        // What is left to visit: the rest of a list's elements, then its
        // tail (which must be a binary or absent).
        let mut stack: Vec<(std::slice::Iter<'_, Term>, Option<&Term>)> = Vec::new();
        // A piece that is not a list: a binary or a compact byte list.
        let leaf = |t: &Term, f: &mut dyn FnMut(IoPiece<'_>)| -> Option<()> {
            match t {
                Term::Binary(b) => f(IoPiece::Bin(b)),
                Term::ByteList(b) => f(IoPiece::Bytes(b.as_slice())),
                _ => return None,
            }
            Some(())
        };
        match self {
            Term::List(items) => stack.push((items.iter(), None)),
            Term::Improper(items, tail) => stack.push((items.iter(), Some(&**tail))),
            t => return leaf(t, f),
        }
        while let Some((items, tail)) = stack.last_mut() {
            match items.next() {
                Some(Term::Int(i)) if (0..=255).contains(i) => f(IoPiece::Byte(*i as u8)),
                Some(Term::List(v)) => stack.push((v.iter(), None)),
                Some(Term::Improper(v, t)) => stack.push((v.iter(), Some(&**t))),
                Some(t) => leaf(t, f)?,
                None => {
                    match tail {
                        None => {}
                        Some(Term::Binary(b)) => f(IoPiece::Bin(b)),
                        Some(_) => return None,
                    }
                    stack.pop();
                }
            }
        }
        Some(())
    }
}

/// One piece of an iolist, in order: a single byte (an integer element) or a
/// whole binary.
pub enum IoPiece<'a> {
    /// An integer element 0..=255.
    Byte(u8),
    /// Consecutive integer elements, from a [`Term::ByteList`].
    Bytes(&'a [u8]),
    /// A binary element or tail.
    Bin(&'a Bin),
}

/// Stack that must be left before a call that recurses per nesting level:
/// more than the deepest chain of frames between two [`grow_stack`] calls
/// (the evaluator's, in a debug build, is the largest).
const RED_ZONE: usize = 256 * 1024;
/// The size of each stack segment [`grow_stack`] adds.
const STACK_SEGMENT: usize = 4 * 1024 * 1024;

/// Runs `f`, first moving to a fresh stack segment on the heap when less
/// than a red zone of the current one is left (the `stacker` crate). Every
/// function that recurses once per nesting level of its input (a term, an
/// expression, a non-tail call in a script) makes its recursive calls
/// through this, so that input depth is bounded by memory, not by the
/// thread's stack, as in ERTS, whose processes have growing heaps and
/// whose decoder keeps its own stack.
#[inline]
pub fn grow_stack<R>(f: impl FnOnce() -> R) -> R {
    stacker::maybe_grow(RED_ZONE, STACK_SEGMENT, f)
}

/// For the `Drop` of a recursive type whose drop glue recurses per
/// nesting level: when the stack is nearly used up, moves the value out of
/// `slot` (leaving `placeholder`) and drops it on a fresh stack segment.
pub fn drop_with_stack<T>(slot: &mut T, placeholder: impl FnOnce() -> T) {
    if stacker::remaining_stack().is_some_and(|left| left < RED_ZONE) {
        let value = std::mem::replace(slot, placeholder());
        stacker::grow(STACK_SEGMENT, move || drop(value));
    }
}

fn clone_terms(v: &[Term]) -> Vec<Term> {
    grow_stack(|| v.to_vec())
}

impl Clone for Term {
    fn clone(&self) -> Term {
        match self {
            Term::Atom(a) => Term::Atom(*a),
            Term::Int(i) => Term::Int(*i),
            Term::BigInt(b) => Term::BigInt(b.clone()),
            Term::Float(f) => Term::Float(*f),
            Term::Binary(b) => Term::Binary(b.clone()),
            Term::BitString(b, bits) => Term::BitString(b.clone(), *bits),
            Term::List(v) => Term::List(clone_terms(v)),
            Term::ByteList(b) => Term::ByteList(b.clone()),
            Term::Improper(v, tail) => Term::Improper(clone_terms(v), Box::new(grow_stack(|| (**tail).clone()))),
            Term::Tuple(v) => Term::Tuple(clone_terms(v)),
            Term::Map(kv) => Term::Map(grow_stack(|| kv.clone())),
            Term::Pid(p) => Term::Pid(*p),
            Term::Port(p) => Term::Port(*p),
            Term::Ref(r) => Term::Ref(*r),
            Term::Fun(f) => Term::Fun(f.clone()),
        }
    }
}

impl Term {
    /// True for a list, tuple or map with something in it: a term whose
    /// drop would recurse.
    pub(crate) fn nests(&self) -> bool {
        match self {
            Term::List(v) | Term::Tuple(v) => !v.is_empty(),
            Term::Improper(..) => true,
            Term::Map(kv) => !kv.is_empty(),
            _ => false,
        }
    }

    /// True for a list, tuple or map holding a term that [`Term::nests`].
    fn nests_twice(&self) -> bool {
        self.any_inside(Term::nests)
    }

    /// True if `f` holds for a term directly inside `self`.
    #[inline]
    pub(crate) fn any_inside(&self, f: impl Fn(&Term) -> bool) -> bool {
        match self {
            Term::List(v) | Term::Tuple(v) => v.iter().any(f),
            Term::Improper(v, tail) => f(tail) || v.iter().any(f),
            Term::Map(kv) => kv.iter().any(|(k, v)| f(k) || f(v)),
            _ => false,
        }
    }

    /// Moves the nesting terms directly inside `self` onto `stack`,
    /// leaving `[]` in their place.
    fn take_nested(&mut self, stack: &mut Vec<Term>) {
        let mut take = |t: &mut Term| {
            if t.nests() {
                stack.push(std::mem::replace(t, Term::nil()));
            }
        };
        match self {
            Term::List(v) | Term::Tuple(v) => v.iter_mut().for_each(take),
            Term::Improper(v, tail) => {
                v.iter_mut().for_each(&mut take);
                take(tail);
            }
            Term::Map(kv) => kv.iter_mut().for_each(|(k, v)| {
                take(k);
                take(v);
            }),
            _ => {}
        }
    }
}

impl Drop for Term {
    /// Drops nested terms from a stack on the heap rather than by
    /// recursion (a list nested ten million deep is a valid term).
    ///
    /// A term whose elements hold only flat terms (such as
    /// `{Port, {data, Bin}}`) is left to the drop glue: its recursion is
    /// two levels deep, and the stack on the heap would cost an allocation.
    #[inline]
    fn drop(&mut self) {
        if !self.any_inside(Term::nests_twice) {
            return;
        }
        let mut stack = Vec::new();
        self.take_nested(&mut stack);
        while let Some(mut t) = stack.pop() {
            t.take_nested(&mut stack);
        }
    }
}

impl PartialEq for Term {
    /// Exact equality (`=:=`).
    fn eq(&self, other: &Term) -> bool {
        order::compare(self, other, true) == std::cmp::Ordering::Equal
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every way a list of bytes can be held is the same Erlang value.
    #[test]
    fn a_byte_list_is_the_list_of_its_integers() {
        let bytes: Vec<u8> = vec![0, 1, 120, 255];
        let compact = Term::compact_byte_list(&bytes);
        let list = Term::byte_list(&bytes);
        assert!(matches!(compact, Term::ByteList(_)));
        assert_eq!(compact, list);
        assert_eq!(compact.to_string(), "[0,1,120,255]");
        assert_eq!(ext::term_to_binary(&compact), ext::term_to_binary(&list));
        assert_eq!(compact.iolist_to_bytes(), Some(bytes.clone()));
        assert_eq!(compact.iolist_size(), Some(4));
        assert!(matches!(&*compact.expanded(), Term::List(v) if v.len() == 4));
        assert!(Term::compact_byte_list(&[]).is_nil());
        // Deep inside other terms too.
        let t = Term::tuple(vec![Term::atom("data"), compact.clone()]);
        assert_eq!(t, Term::tuple(vec![Term::atom("data"), list.clone()]));
        assert!(matches!(&t.clone().into_expanded(), Term::Tuple(v) if matches!(&v[1], Term::List(_))));
        // Long lists are not STRING_EXT, in either form.
        let long = vec![7u8; 70_000];
        assert_eq!(ext::term_to_binary(&Term::compact_byte_list(&long)), ext::term_to_binary(&Term::byte_list(&long)));
        assert_eq!(ext::binary_to_term(&ext::term_to_binary(&Term::compact_byte_list(&long))), Some(Term::byte_list(&long)));
    }

    #[test]
    fn byte_lists_sort_among_lists_as_their_integers_do() {
        let c = |b: &[u8]| Term::compact_byte_list(b);
        let l = |v: &[i64]| Term::List(v.iter().map(|&i| Term::Int(i)).collect());
        use std::cmp::Ordering::*;
        let cmp = |a: &Term, b: &Term| order::compare(a, b, true);
        assert_eq!(cmp(&c(&[1, 2]), &c(&[1, 2, 3])), Less);
        assert_eq!(cmp(&c(&[1, 3]), &c(&[1, 2, 3])), Greater);
        assert_eq!(cmp(&c(&[1, 2]), &l(&[1, 2, 0])), Less);
        assert_eq!(cmp(&c(&[1, 2]), &l(&[1, 256])), Less);
        assert_eq!(cmp(&l(&[1, -1]), &c(&[1, 0])), Less);
        assert_eq!(cmp(&c(&[1]), &Term::nil()), Greater);
        assert_eq!(cmp(&c(&[1]), &Term::binary(&[1])), Less);
        assert_eq!(cmp(&c(&[1]), &Term::tuple(vec![])), Greater);
        let improper = Term::Improper(vec![Term::Int(1)], Box::new(Term::atom("a")));
        // As ERTS: `[1] < [1|a]`, `[1,0] < [1|a]`, `[2] < [1|a]` are all
        // false (after the common head, the tail `a` sorts before lists).
        assert_eq!(cmp(&c(&[1]), &improper), Greater);
        assert_eq!(cmp(&c(&[1, 0]), &improper), Greater);
        assert_eq!(cmp(&c(&[2]), &improper), Greater);
    }

    fn on_small_stack(f: impl FnOnce() + Send + 'static) {
        std::thread::Builder::new().stack_size(2 << 20).spawn(f).unwrap().join().unwrap();
    }

    /// Dropping a term recursed once per level: a list a million deep
    /// overflowed the stack.
    #[test]
    fn dropping_a_term_a_million_deep_does_not_recurse() {
        on_small_stack(|| {
            let mut t = Term::nil();
            for i in 0..1_000_000 {
                t = match i % 4 {
                    0 => Term::List(vec![t]),
                    1 => Term::Tuple(vec![Term::Int(1), t]),
                    2 => Term::Improper(vec![Term::Int(2)], Box::new(t)),
                    _ => Term::Map(vec![(Term::Int(3), t)]),
                };
            }
            drop(t);
        });
    }

    #[test]
    fn deep_iolists_are_walked_without_recursion() {
        on_small_stack(|| {
            let mut t = Term::binary(b"z");
            for _ in 0..500_000 {
                t = Term::List(vec![Term::Int(b'a' as i64), t, Term::compact_byte_list(b"bc")]);
            }
            assert_eq!(t.iolist_size(), Some(1 + 500_000 * 3));
            let bytes = t.iolist_to_bytes().unwrap();
            assert_eq!(&bytes[..4], b"aaaa");
            assert_eq!(&bytes[499_999..500_003], b"azbc");
            assert!(bytes.ends_with(b"bcbc"));
            let deep_improper = Term::Improper(vec![t], Box::new(Term::binary(b"!")));
            assert_eq!(deep_improper.iolist_size(), Some(2 + 500_000 * 3));
            assert_eq!(Term::Improper(vec![Term::Int(1)], Box::new(Term::atom("x"))).iolist_size(), None);
        });
    }

    #[test]
    fn atoms_from_input_are_at_most_255_characters() {
        assert_eq!(Atom::try_new(&"a".repeat(256)), Err(AtomError::TooLong));
        assert_eq!(Atom::try_new(&"é".repeat(256)), Err(AtomError::TooLong));
        assert_eq!(Atom::try_new(&"é".repeat(255)).map(|a| a.name().chars().count()), Ok(255));
        assert!(Atom::existing("not_made_by_existing_").is_none());
        assert!(Atom::existing("not_made_by_existing_").is_none());
    }

    /// The table panicked when full. Run in a child process (this test
    /// binary again), since it fills the process's one table: input then
    /// gets `TableFull` (`system_limit`), existing atoms still resolve,
    /// and the host's own atoms still have room. (ERTS 25 itself stops
    /// there: "no more index entries in atom_tab".)
    #[test]
    fn a_full_atom_table_refuses_new_atoms_instead_of_panicking() {
        const CHILD: &str = "PORTHOST_TEST_FILL_ATOM_TABLE";
        let name = "term::tests::a_full_atom_table_refuses_new_atoms_instead_of_panicking";
        if std::env::var_os(CHILD).is_some() {
            let first = Atom::try_new("flood_0").unwrap();
            let mut n = 1usize;
            let e = loop {
                match Atom::try_new(&format!("flood_{n}")) {
                    Ok(_) => n += 1,
                    Err(e) => break e,
                }
            };
            assert_eq!(e, AtomError::TableFull);
            assert!(n > ATOM_LIMIT - 10_000, "{n}");
            assert_eq!(Atom::try_new("flood_0"), Ok(first));
            assert_eq!(Atom::try_new(&format!("flood_{}", n + 1)), Err(AtomError::TableFull));
            assert!(Atom::new("the_host_s_own_atom_past_the_limit").index() as usize >= ATOM_LIMIT);
            return;
        }
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", name, "--test-threads=1"])
            .env(CHILD, "1")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains("1 passed"), "{stdout}");
    }
}
