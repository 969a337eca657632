//! Inputs for the fuzzer: the port operations it sends, how it makes them
//! from nothing, and how it mutates those it keeps.
//!
//! Structure-aware: `port_command` data is an iolist (binaries and byte
//! lists, which reach `outputv` as separate segments), `port_control` gets
//! an operation code (small numbers, letters, codes seen in the corpus and
//! constants the driver compared with) and bytes, `erlang:port_call` a term
//! (atoms, integers at the edges, binaries, lists, tuples). Bytes come from
//! a dictionary as much as from chance: the driver file's strings, the
//! corpus, and the constants of `trace-cmp`.

use crate::term::Term;

/// One port operation.
#[derive(Clone, Debug)]
pub enum Op {
    /// `port_command(P, Iolist)`: each piece a binary (`true`) or a byte list.
    Command(Vec<(bool, Vec<u8>)>),
    /// `port_control(P, Op, Binary)`.
    Control(u32, Vec<u8>),
    /// `erlang:port_call(P, Op, Term)`.
    Call(u32, Term),
}

impl Op {
    /// The iolist of a command.
    pub fn command_term(pieces: &[(bool, Vec<u8>)]) -> Term {
        Term::List(
            pieces
                .iter()
                .map(|(bin, b)| if *bin { Term::binary(b) } else { Term::List(b.iter().map(|&x| Term::Int(x as i64)).collect()) })
                .collect(),
        )
    }

    /// The operation as a line of a port script on port variable `P`.
    pub fn script_line(&self) -> String {
        match self {
            Op::Command(pieces) => format!("port_command(P, {}).", Op::command_term(pieces)),
            Op::Control(op, data) => format!("catch port_control(P, {op}, {}).", Term::binary(data)),
            Op::Call(op, t) => format!("catch erlang:port_call(P, {op}, {t})."),
        }
    }

    /// A rough size, for minimisation.
    pub fn size(&self) -> usize {
        match self {
            Op::Command(p) => p.iter().map(|(_, b)| b.len() + 1).sum(),
            Op::Control(_, d) => d.len(),
            Op::Call(_, t) => t.to_string().len(),
        }
    }
}

/// Which operations to make.
#[derive(Clone, Copy, Debug)]
pub struct Kinds {
    /// `port_command`.
    pub command: bool,
    /// `port_control`.
    pub control: bool,
    /// `erlang:port_call`.
    pub call: bool,
}

/// xorshift64*: small, fast, reproducible from `--seed`.
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number below `n` (0 for 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    /// True with probability 1/`n`.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }
}

/// What the generator draws from.
#[derive(Default)]
pub struct Dictionary {
    /// Byte strings: the driver's strings, corpus data.
    pub tokens: Vec<Vec<u8>>,
    /// Operation codes seen in the corpus.
    pub ops: Vec<u32>,
    /// Constants from `trace-cmp`.
    pub constants: Vec<u64>,
}

impl Dictionary {
    /// Adds the printable strings (4 to 32 bytes) of the file `path` (the
    /// driver), at most 512.
    pub fn add_strings_of(&mut self, path: &std::path::Path) {
        let Ok(bytes) = std::fs::read(path) else { return };
        let mut run: Vec<u8> = Vec::new();
        let mut found = 0;
        for &b in &bytes {
            if (0x20..0x7f).contains(&b) {
                run.push(b);
                continue;
            }
            if (3..=32).contains(&run.len()) && found < 512 && !run.starts_with(b"GCC") && !run.starts_with(b"_") {
                self.tokens.push(std::mem::take(&mut run));
                found += 1;
            }
            run.clear();
        }
    }

    /// Adds a constant the driver compared with (deduplicated, at most 256).
    pub fn add_constant(&mut self, v: u64) {
        if !self.constants.contains(&v) {
            if self.constants.len() >= 256 {
                self.constants.remove(0);
            }
            self.constants.push(v);
        }
    }
}

const INTERESTING: [u8; 8] = [0, 1, 0x7f, 0x80, 0xff, b'0', b'a', b' '];

/// Fresh bytes.
pub fn bytes(rng: &mut Rng, dict: &Dictionary) -> Vec<u8> {
    let mut v = Vec::new();
    let parts = 1 + rng.below(3);
    for _ in 0..parts {
        match rng.below(6) {
            0 if !dict.tokens.is_empty() => v.extend_from_slice(&dict.tokens[rng.below(dict.tokens.len())]),
            1 if !dict.constants.is_empty() => {
                let c = dict.constants[rng.below(dict.constants.len())];
                push_constant(rng, &mut v, c);
            }
            2 => {
                let n = rng.below(8);
                let b = INTERESTING[rng.below(INTERESTING.len())];
                v.extend(std::iter::repeat_n(b, n));
            }
            3 => {
                let n = 1 + rng.below(16);
                v.extend((0..n).map(|_| b'a' + rng.below(26) as u8));
            }
            _ => {
                let n = if rng.one_in(8) { rng.below(300) } else { rng.below(20) };
                v.extend((0..n).map(|_| rng.next_u64() as u8));
            }
        }
    }
    v
}

/// Puts a constant into `v` as the driver may read it: one byte, or 2/4/8
/// bytes in either byte order, or its decimal text.
fn push_constant(rng: &mut Rng, v: &mut Vec<u8>, c: u64) {
    match rng.below(5) {
        0 => v.push(c as u8),
        1 => v.extend_from_slice(&(c as u16).to_le_bytes()),
        2 => v.extend_from_slice(&(c as u32).to_le_bytes()),
        3 => v.extend_from_slice(&(c as u32).to_be_bytes()),
        _ => v.extend_from_slice(c.to_string().as_bytes()),
    }
}

/// `v` changed a little.
pub fn mutate_bytes(rng: &mut Rng, dict: &Dictionary, v: &mut Vec<u8>) {
    let n = 1 + rng.below(4);
    for _ in 0..n {
        match rng.below(9) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] ^= 1 << rng.below(8);
            }
            1 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] = INTERESTING[rng.below(INTERESTING.len())];
            }
            2 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] = rng.next_u64() as u8;
            }
            3 => {
                let i = rng.below(v.len() + 1);
                v.insert(i, rng.next_u64() as u8);
            }
            4 if !v.is_empty() => {
                let i = rng.below(v.len());
                let k = 1 + rng.below((v.len() - i).min(8));
                v.drain(i..i + k);
            }
            5 if !dict.tokens.is_empty() => {
                let t = &dict.tokens[rng.below(dict.tokens.len())];
                // Drivers look at the start of their data most.
                let i = if rng.one_in(3) { 0 } else { rng.below(v.len() + 1) };
                if rng.one_in(2) && i + t.len() <= v.len() {
                    v[i..i + t.len()].copy_from_slice(t);
                } else {
                    v.splice(i..i, t.iter().copied());
                }
            }
            6 if !dict.constants.is_empty() => {
                let mut c = Vec::new();
                let k = dict.constants[rng.below(dict.constants.len())];
                push_constant(rng, &mut c, k);
                let i = rng.below(v.len() + 1);
                if rng.one_in(2) && i + c.len() <= v.len() {
                    v[i..i + c.len()].copy_from_slice(&c);
                } else {
                    v.splice(i..i, c);
                }
            }
            7 if !v.is_empty() => {
                let k = rng.below(v.len());
                v.truncate(k);
            }
            _ => {
                let extra = bytes(rng, dict);
                v.extend_from_slice(&extra);
            }
        }
    }
    v.truncate(4096);
}

fn op_code(rng: &mut Rng, dict: &Dictionary) -> u32 {
    match rng.below(6) {
        0 if !dict.ops.is_empty() => dict.ops[rng.below(dict.ops.len())],
        1 if !dict.constants.is_empty() => dict.constants[rng.below(dict.constants.len())] as u32,
        2 => (b'a' + rng.below(26) as u8) as u32,
        3 => (b'A' + rng.below(26) as u8) as u32,
        4 if rng.one_in(8) => rng.next_u64() as u32,
        _ => rng.below(16) as u32,
    }
}

/// A fresh term for `port_call` (at most `depth` levels).
pub fn term(rng: &mut Rng, dict: &Dictionary, depth: usize) -> Term {
    let leaf = depth == 0 || rng.one_in(2);
    if leaf {
        return match rng.below(6) {
            0 => Term::atom(["ok", "true", "false", "undefined", "error", "a"][rng.below(6)]),
            1 => {
                let t = &dict.tokens.get(rng.below(dict.tokens.len().max(1))).cloned().unwrap_or_default();
                match std::str::from_utf8(t) {
                    Ok(s) if !s.is_empty() && s.len() < 64 => Term::atom(s),
                    _ => Term::atom("x"),
                }
            }
            2 => Term::Int([0, 1, -1, 255, 256, 65535, i32::MAX as i64, i32::MIN as i64, i64::MAX, i64::MIN][rng.below(10)]),
            3 if !dict.constants.is_empty() => Term::Int(dict.constants[rng.below(dict.constants.len())] as i64),
            4 => Term::binary(&bytes(rng, dict)),
            _ => Term::Int(rng.below(100) as i64),
        };
    }
    let n = rng.below(4);
    let items: Vec<Term> = (0..n).map(|_| term(rng, dict, depth - 1)).collect();
    if rng.one_in(2) {
        Term::Tuple(items)
    } else {
        Term::List(items)
    }
}

/// A fresh operation of one of `kinds`.
pub fn op(rng: &mut Rng, dict: &Dictionary, kinds: Kinds) -> Op {
    let mut choices = Vec::new();
    if kinds.command {
        choices.push(0);
    }
    if kinds.control {
        choices.push(1);
    }
    if kinds.call {
        choices.push(2);
    }
    match choices[rng.below(choices.len())] {
        0 => {
            let n = 1 + if rng.one_in(3) { rng.below(4) } else { 0 };
            Op::Command((0..n).map(|_| (rng.one_in(2), bytes(rng, dict))).collect())
        }
        1 => Op::Control(op_code(rng, dict), bytes(rng, dict)),
        _ => Op::Call(op_code(rng, dict), term(rng, dict, 3)),
    }
}

/// `op` changed a little (its kind stays).
pub fn mutate(rng: &mut Rng, dict: &Dictionary, op: &Op) -> Op {
    match op {
        Op::Command(pieces) => {
            let mut pieces = pieces.clone();
            if pieces.is_empty() {
                pieces.push((true, Vec::new()));
            }
            let i = rng.below(pieces.len());
            match rng.below(6) {
                0 => pieces[i].0 = !pieces[i].0,
                1 if pieces.len() < 8 => {
                    // Split a piece in two: another segment boundary.
                    let b = std::mem::take(&mut pieces[i].1);
                    let k = rng.below(b.len() + 1);
                    pieces[i].1 = b[..k].to_vec();
                    pieces.insert(i + 1, (rng.one_in(2), b[k..].to_vec()));
                }
                _ => mutate_bytes(rng, dict, &mut pieces[i].1),
            }
            Op::Command(pieces)
        }
        Op::Control(code, data) => {
            if rng.one_in(4) {
                Op::Control(op_code(rng, dict), data.clone())
            } else {
                let mut d = data.clone();
                mutate_bytes(rng, dict, &mut d);
                Op::Control(*code, d)
            }
        }
        Op::Call(code, t) => {
            if rng.one_in(3) {
                Op::Call(op_code(rng, dict), t.clone())
            } else {
                Op::Call(*code, mutate_term(rng, dict, t))
            }
        }
    }
}

fn mutate_term(rng: &mut Rng, dict: &Dictionary, t: &Term) -> Term {
    match t {
        Term::Tuple(ref items) | Term::List(ref items) if !items.is_empty() && !rng.one_in(4) => {
            let mut items = items.clone();
            let i = rng.below(items.len());
            items[i] = mutate_term(rng, dict, &items[i]);
            if matches!(t, Term::Tuple(_)) {
                Term::Tuple(items)
            } else {
                Term::List(items)
            }
        }
        Term::Binary(ref b) if !rng.one_in(4) => {
            let mut v = b.as_slice().to_vec();
            mutate_bytes(rng, dict, &mut v);
            Term::binary(&v)
        }
        _ => term(rng, dict, 2),
    }
}

/// Operations found in a port script's text: `port_command(X, Lit)`,
/// `port_control(X, Op, Lit)`, `erlang:port_call(X, Op, Lit)` where `Lit`
/// is a string, a binary of integers and strings, or a list of integers, and
/// `Op` an integer or `$c`. Call data is kept as bytes of a binary term.
pub fn ops_in_script(text: &str) -> Vec<Op> {
    let mut ops = Vec::new();
    for (pat, kind) in [("port_command(", 0), ("port_control(", 1), ("port_call(", 2)] {
        let mut rest = text;
        while let Some(i) = rest.find(pat) {
            rest = &rest[i + pat.len()..];
            let Some(args) = split_args(rest) else { continue };
            let op = match (kind, args.as_slice()) {
                (0, [_, d, ..]) => literal(d).map(|b| Op::Command(vec![(true, b)])),
                (1, [_, o, d]) => op_literal(o).zip(literal(d)).map(|(o, d)| Op::Control(o, d)),
                (2, [_, o, d]) => op_literal(o).zip(literal(d)).map(|(o, d)| Op::Call(o, Term::binary(&d))),
                _ => None,
            };
            ops.extend(op);
        }
    }
    ops
}

/// The top-level comma-separated arguments up to the closing parenthesis.
fn split_args(s: &str) -> Option<Vec<String>> {
    let mut depth = 0i32;
    let mut args = Vec::new();
    let mut cur = String::new();
    let mut in_str = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if in_str {
            cur.push(c);
            if c == '\\' {
                cur.extend(chars.next());
            } else if c == '"' {
                in_str = false;
            }
            continue;
        }
        match c {
            '"' => {
                in_str = true;
                cur.push(c);
            }
            '$' => {
                cur.push(c);
                cur.extend(chars.next());
            }
            '(' | '[' | '{' | '<' => {
                depth += 1;
                cur.push(c);
            }
            ')' if depth == 0 => {
                args.push(cur.trim().to_owned());
                return Some(args);
            }
            ')' | ']' | '}' | '>' => {
                depth -= 1;
                cur.push(c);
            }
            ',' if depth == 0 => args.push(std::mem::take(&mut cur).trim().to_owned()),
            '\n' if depth == 0 && cur.trim().is_empty() => {}
            c => cur.push(c),
        }
        if cur.len() > 4096 {
            return None;
        }
    }
    None
}

fn op_literal(s: &str) -> Option<u32> {
    if let Some(c) = s.strip_prefix('$') {
        return c.bytes().next().map(u32::from);
    }
    s.parse().ok()
}

fn string_literal(s: &str) -> Option<Vec<u8>> {
    let inner = s.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = Vec::new();
    let mut it = inner.bytes();
    while let Some(b) = it.next() {
        if b == b'\\' {
            out.push(match it.next()? {
                b'n' => b'\n',
                b't' => b'\t',
                b's' => b' ',
                b'0' => 0,
                o => o,
            });
        } else {
            out.push(b);
        }
    }
    Some(out)
}

fn literal(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    if s.starts_with('"') {
        return string_literal(s);
    }
    let inner = s.strip_prefix("<<").and_then(|r| r.strip_suffix(">>")).or_else(|| s.strip_prefix('[').and_then(|r| r.strip_suffix(']')))?;
    let mut out = Vec::new();
    for part in split_args(&format!("{inner})"))? {
        if part.is_empty() {
            continue;
        }
        if part.starts_with('"') {
            out.extend(string_literal(&part)?);
        } else {
            out.push(op_literal(&part)? as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_ops_are_found() {
        let ops = ops_in_script(
            "P = open_port({spawn_driver, \"x\"}, []).\nport_control(P, $e, \"hi\").\nport_command(P, <<1,2,\"ab\">>).\nerlang:port_call(P, 3, [1,2]).\n",
        );
        assert_eq!(ops.len(), 3, "{ops:?}");
        assert!(matches!(&ops[1], Op::Control(101, d) if d == b"hi"), "{ops:?}");
        assert!(matches!(&ops[0], Op::Command(p) if p[0].1 == [1, 2, b'a', b'b']), "{ops:?}");
    }

    #[test]
    fn script_lines_are_erlang() {
        let op = Op::Control(3, b"ab\x00".to_vec());
        assert_eq!(op.script_line(), "catch port_control(P, 3, <<97,98,0>>).");
        let op = Op::Command(vec![(true, b"a".to_vec()), (false, vec![1, 2])]);
        assert_eq!(op.script_line(), "port_command(P, [<<97>>,[1,2]]).");
    }
}
