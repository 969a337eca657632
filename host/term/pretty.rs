//! Printing terms as `io:format("~p", [T])` does in OTP 25: the layout of
//! `io_lib_pretty`, reimplemented from its observed behaviour.
//!
//! A term first becomes a tree in which every node knows the length of its
//! one-line text ([`Node`]). A term whose one-line text fits in the rest of
//! the line prints on one line. Otherwise a list or tuple prints its
//! elements one after another, breaking the line before an element that
//! does not fit; an element that is itself a list, tuple or map (not
//! "atomic") always ends its line. A tuple whose first element is an atom
//! (a "tagged" tuple) keeps the tag and its first element on the opening
//! line and indents the rest under that element, unless the tag is too
//! long (its first element would start at column 40 or beyond), in which
//! case every tagged tuple of the term indents its elements by 4 instead.
//! Maps print `K => V` pairs the way lists print elements. Binaries of
//! bytes break between bytes; strings (`"..."`, lists of printable Latin-1
//! characters) and string binaries (`<<"...">>`) never break.
//!
//! Columns are 1-based, as in `io_lib_pretty` (`io:format` starts a `~p`
//! at the column its output has reached, plus one); the default line
//! length is 80 and a line holds at most 79 characters.
//!
//! Terms nested deeper than [`MAX_DEPTH`] levels print on one line (`~w`
//! with strings), so that the printer's recursion stays bounded.

use std::fmt::Write;

use super::fmt::quote_atom;
use super::Term;

/// Nesting beyond which `~p` gives up on layout (see the module docs).
pub const MAX_DEPTH: usize = 2000;

/// One element of the layout tree: a node and the length of its one-line
/// text, in characters.
struct Node {
    kind: Kind,
    len: isize,
}

enum Kind {
    /// Text that never breaks (`?ATM` in `io_lib_pretty`).
    Atomic(String),
    /// A list: its elements and, if improper, its tail.
    List(Vec<Node>, Option<Box<Node>>),
    /// A tuple; `true` when tagged (an atom first, more than one element).
    Tuple(bool, Vec<Node>),
    /// A map's `K => V` pairs.
    Map(Vec<(Node, Node)>),
    /// A binary printed as numbers: the segments between the commas
    /// (`"1"`, `"2"`, and a last `"5:3"` for a bitstring's partial byte).
    Bin(Vec<String>),
}

impl Node {
    fn atomic(s: String) -> Node {
        Node { len: s.chars().count() as isize, kind: Kind::Atomic(s) }
    }
    fn is_atomic(&self) -> bool {
        matches!(self.kind, Kind::Atomic(_))
    }
    /// The `...` that stands for what the depth limit cut: it never
    /// starts a line of its own.
    fn is_dots(&self) -> bool {
        matches!(&self.kind, Kind::Atomic(s) if s == "...")
    }
}

fn pair_len(k: &Node, v: &Node) -> isize {
    k.len + v.len + 4
}

fn pair_atomic(k: &Node, v: &Node) -> bool {
    k.is_atomic() && v.is_atomic()
}

/// The printable Latin-1 characters of `io_lib:printable_latin1_list/1`.
fn printable(c: i64) -> bool {
    matches!(c, 32..=126 | 160..=255 | 8..=13 | 27)
}

/// Writes `c` inside a `"..."` string as `io_lib:write_string/2` does.
fn push_string_char(out: &mut String, c: char) {
    match c {
        '"' => out.push_str("\\\""),
        '\\' => out.push_str("\\\\"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{b}' => out.push_str("\\v"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        '\u{1b}' => out.push_str("\\e"),
        '\u{7f}' => out.push_str("\\d"),
        c if (c as u32) < 32 => {
            let code = c as u32;
            let _ = write!(out, "\\{}{}{}", (code >> 6) & 7, (code >> 3) & 7, code & 7);
        }
        c => out.push(c),
    }
}

fn quoted(chars: impl Iterator<Item = char>) -> String {
    let mut s = String::from("\"");
    for c in chars {
        push_string_char(&mut s, c);
    }
    s.push('"');
    s
}

/// The string a list prints as, if it is a non-empty list of printable
/// characters.
fn as_string(t: &Term) -> Option<String> {
    let items = match t {
        Term::List(v) if !v.is_empty() => v,
        Term::ByteList(b) => {
            return b.as_slice().iter().all(|&c| printable(c as i64)).then(|| quoted(b.as_slice().iter().map(|&c| c as char)))
        }
        _ => return None,
    };
    let mut chars = Vec::with_capacity(items.len());
    for x in items {
        match x {
            Term::Int(c) if printable(*c) => chars.push(char::from_u32(*c as u32)?),
            _ => return None,
        }
    }
    Some(quoted(chars.into_iter()))
}

/// A binary as `~p` prints it when it is text: `<<"...">>` for printable
/// Latin-1 (with `unicode`, `<<"..."/utf8>>` for valid UTF-8 with
/// multi-byte characters).
fn binary_string(bytes: &[u8], unicode: bool) -> Option<String> {
    if bytes.is_empty() {
        return None;
    }
    if unicode {
        if let Ok(s) = std::str::from_utf8(bytes) {
            if s.chars().all(|c| printable(c as i64)) {
                let q = quoted(s.chars());
                return Some(if s.len() == s.chars().count() { format!("<<{q}>>") } else { format!("<<{q}/utf8>>") });
            }
        }
    }
    bytes.iter().all(|&c| printable(c as i64)).then(|| format!("<<{}>>", quoted(bytes.iter().map(|&c| c as char))))
}

/// True when `t` nests deeper than `limit` (counted without recursion).
fn deeper_than(t: &Term, limit: usize) -> bool {
    let mut stack: Vec<(&Term, usize)> = vec![(t, 0)];
    while let Some((t, d)) = stack.pop() {
        if d > limit {
            return true;
        }
        match t {
            Term::List(v) | Term::Tuple(v) => stack.extend(v.iter().map(|x| (x, d + 1))),
            Term::Improper(v, tail) => {
                stack.extend(v.iter().map(|x| (x, d + 1)));
                stack.push((tail, d + 1));
            }
            Term::Map(kv) => {
                for (k, v) in kv {
                    stack.push((k, d + 1));
                    stack.push((v, d + 1));
                }
            }
            _ => {}
        }
    }
    false
}

fn dots() -> Node {
    Node::atomic("...".into())
}

/// The `...` that ends a map cut by the depth limit, held as a pair whose
/// value has the marker length -4 (so the pair's length is 3);
/// [`write_pair`] writes only its key.
fn dots_pair() -> (Node, Node) {
    (dots(), Node { kind: Kind::Atomic(String::new()), len: -4 })
}

/// The elements of a sequence under depth `d` (`io_lib:write/2`'s rule:
/// the first at depth `d - 1`, each next one a level less, and `...` in
/// place of the rest once the depth left is 1): the nodes, the depth left
/// after them, and whether the rest was cut.
fn seq_d<'a>(items: impl Iterator<Item = &'a Term>, d: i64, mut f: impl FnMut(&'a Term, i64) -> Node) -> (Vec<Node>, i64, bool) {
    let mut out = Vec::new();
    let mut dd = d;
    for (i, x) in items.enumerate() {
        if i > 0 && dd == 1 {
            return (out, dd, true);
        }
        out.push(f(x, dd - 1));
        dd -= 1;
    }
    (out, dd, false)
}

/// [`build`] with a depth limit `d` (`~P`, `~W`; -1: none): what lies
/// deeper prints as `...`.
fn build_d(t: &Term, unicode: bool, strings: bool, d: i64) -> Node {
    build_dw(t, unicode, strings, d, false)
}

/// [`build_d`]; `wr` for `~W` (`io_lib:write/2`), whose depth rules for
/// maps differ from `~P`'s: a map at depth 1 prints as `#{}`, and one of
/// `d - 1` pairs or more ends with `...` even when none are left out.
fn build_dw(t: &Term, unicode: bool, strings: bool, d: i64, wr: bool) -> Node {
    if d == 0 {
        return dots();
    }
    let rec = |x: &Term, dd: i64| build_dw(x, unicode, strings, dd, wr);
    match t {
        Term::List(items) | Term::Tuple(items) if items.is_empty() => Node::atomic(t.to_string()),
        Term::Map(kv) if kv.is_empty() => Node::atomic(t.to_string()),
        Term::List(_) if d == 1 => Node { kind: Kind::List(vec![dots()], None), len: 5 },
        Term::List(items) => match as_string(t).filter(|_| strings) {
            Some(s) => Node::atomic(s),
            None => {
                let (elems, _, cut) = seq_d(items.iter(), d, rec);
                let tail = cut.then(|| Box::new(dots()));
                let len = seq_len(&elems) + 2 + tail.as_ref().map_or(0, |t| t.len + 1);
                Node { kind: Kind::List(elems, tail), len }
            }
        },
        Term::ByteList(_) => match as_string(t).filter(|_| strings) {
            Some(s) => Node::atomic(s),
            None => build_dw(&t.expanded(), unicode, strings, d, wr),
        },
        Term::Improper(_, _) if d == 1 => Node { kind: Kind::List(vec![dots()], None), len: 5 },
        Term::Improper(items, tail) => {
            let (elems, dd, cut) = seq_d(items.iter(), d, rec);
            let tail = if cut || dd == 1 { dots() } else { build_dw(tail, unicode, strings, dd - 1, wr) };
            let len = seq_len(&elems) + 3 + tail.len;
            Node { kind: Kind::List(elems, Some(Box::new(tail))), len }
        }
        Term::Tuple(_) if d == 1 => Node::atomic("{...}".into()),
        Term::Tuple(items) => {
            let (mut elems, _, cut) = seq_d(items.iter(), d, rec);
            if cut {
                elems.push(dots());
            }
            let len = seq_len(&elems) + 2;
            let tagged = items.len() > 1 && matches!(items[0], Term::Atom(_));
            Node { kind: Kind::Tuple(tagged, elems), len }
        }
        Term::Map(_) if d == 1 && wr => Node::atomic("#{}".into()),
        Term::Map(_) if d == 1 => Node::atomic("#{...}".into()),
        Term::Map(kv) => {
            // Every pair at depth d - 1; d - 1 pairs at most, then `...`.
            let mut pairs = Vec::new();
            for (i, (k, v)) in kv.iter().enumerate() {
                if d > 0 && i as i64 >= d - 1 {
                    pairs.push(dots_pair());
                    break;
                }
                pairs.push((rec(k, d - 1), rec(v, d - 1)));
            }
            if wr && d > 0 && kv.len() as i64 == d - 1 {
                pairs.push(dots_pair());
            }
            let len = pairs.iter().map(|(k, v)| pair_len(k, v)).sum::<isize>() + (pairs.len().max(1) as isize - 1) + 3;
            Node { kind: Kind::Map(pairs), len }
        }
        Term::Binary(b) if d == 1 && b.is_empty() => Node::atomic("<<>>".into()),
        Term::Binary(_) | Term::BitString(..) if d == 1 => Node::atomic("<<...>>".into()),
        Term::Binary(b) if d > 1 && strings && text_prefix(b.as_slice(), d).is_some() => {
            let n = text_prefix(b.as_slice(), d).expect("checked");
            let q = quoted(b.as_slice()[..n].iter().map(|&c| c as char));
            Node::atomic(format!("<<{q}...>>"))
        }
        Term::Binary(b) => match binary_string(b.as_slice(), unicode).filter(|_| strings) {
            Some(s) => Node::atomic(s),
            None if b.is_empty() => Node::atomic("<<>>".into()),
            None => bin_node(cut_bytes(b.as_slice().iter().map(|x| x.to_string()).collect(), d)),
        },
        Term::BitString(b, bits) => {
            let (whole, last) = b.as_slice().split_at(b.len() - 1);
            let mut segs: Vec<String> = whole.iter().map(|x| x.to_string()).collect();
            segs.push(format!("{}:{bits}", last[0] >> (8 - bits)));
            bin_node(cut_bytes(segs, d))
        }
        Term::Atom(a) => Node::atomic(quote_atom(a.name()).into_owned()),
        t => Node::atomic(t.to_string()),
    }
}

/// Under depth `d` (> 1), a binary that `~P` prints as its first
/// characters and `...`: `Some(n)`, the characters to print. `~P` looks at
/// 4 bytes a level (`4 * (d - 1)`): a binary printable within that window
/// and longer prints the window; one whose printable start (in the
/// window) is at least `d - 1` characters prints that start; a binary
/// that fits in the window and is all printable prints whole (`None`),
/// as does, in bytes, one with a shorter printable start.
fn text_prefix(b: &[u8], d: i64) -> Option<usize> {
    let window = usize::try_from(d.saturating_sub(1).saturating_mul(4)).unwrap_or(usize::MAX);
    let seen = &b[..window.min(b.len())];
    let n = seen.iter().take_while(|&&c| printable(c as i64)).count();
    if b.len() <= window && n == b.len() {
        return None;
    }
    (n == window || (n > 0 && n as i64 >= d - 1)).then_some(n)
}

/// The segments of a binary under depth `d`: the first `d - 1`, then
/// `...` if more remain (`io_lib:write_binary/2`).
fn cut_bytes(mut segs: Vec<String>, d: i64) -> Vec<String> {
    if d > 0 && segs.len() as i64 >= d {
        segs.truncate((d - 1) as usize);
        segs.push("...".into());
    }
    segs
}

fn bin_node(segs: Vec<String>) -> Node {
    let len = segs.iter().map(|s| s.len() as isize).sum::<isize>() + segs.len() as isize - 1 + 4;
    Node { kind: Kind::Bin(segs), len }
}

fn seq_len(elems: &[Node]) -> isize {
    elems.iter().map(|e| e.len).sum::<isize>() + (elems.len().max(1) as isize - 1)
}

/// The one-line text of a node.
fn write(n: &Node, out: &mut String) {
    match &n.kind {
        Kind::Atomic(s) => out.push_str(s),
        Kind::List(elems, tail) => {
            out.push('[');
            write_seq(elems, out);
            if let Some(t) = tail {
                out.push('|');
                write(t, out);
            }
            out.push(']');
        }
        Kind::Tuple(_, elems) => {
            out.push('{');
            write_seq(elems, out);
            out.push('}');
        }
        Kind::Map(pairs) => {
            out.push_str("#{");
            for (i, (k, v)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_pair(k, v, out);
            }
            out.push('}');
        }
        Kind::Bin(segs) => {
            out.push_str("<<");
            out.push_str(&segs.join(","));
            out.push_str(">>");
        }
    }
}

fn write_seq(elems: &[Node], out: &mut String) {
    for (i, e) in elems.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write(e, out);
    }
}

fn write_pair(k: &Node, v: &Node, out: &mut String) {
    if v.len < 0 {
        // The `...` of a map cut by the depth limit (see `dots_pair`).
        return write(k, out);
    }
    write(k, out);
    out.push_str(" => ");
    write(v, out);
}

/// `~p` of `t` starting at 1-based column `col` with line length `ll`
/// (0: no limit); `unicode` for `~tp`.
pub fn pretty(t: &Term, col: usize, ll: usize, unicode: bool) -> String {
    pretty_opts(t, col, ll, unicode, true)
}

/// As [`pretty`]; `strings == false` (`~lp`) prints lists and binaries of
/// characters as numbers.
pub fn pretty_opts(t: &Term, col: usize, ll: usize, unicode: bool, strings: bool) -> String {
    pretty_depth(t, col, ll, unicode, strings, -1)
}

/// `~W`: `t` on one line as `io_lib:write(T, Depth)` writes it (`~w`
/// with what lies deeper than `depth` as `...`; -1: no limit).
pub fn write_depth(t: &Term, depth: i64) -> String {
    let mut out = String::new();
    if deeper_than(t, MAX_DEPTH) && depth < 0 {
        let _ = write!(out, "{t}");
        return out;
    }
    write(&build_dw(t, false, false, depth.min(MAX_DEPTH as i64 + 1), true), &mut out);
    out
}

/// As [`pretty_opts`], with a depth limit (`~P`; -1: none).
pub fn pretty_depth(t: &Term, col: usize, ll: usize, unicode: bool, strings: bool, depth: i64) -> String {
    let mut out = String::new();
    if deeper_than(t, MAX_DEPTH) && !(0..=MAX_DEPTH as i64).contains(&depth) {
        // Flat, without recursion-deep layout.
        let _ = write!(out, "{t}");
        return out;
    }
    let node = build_d(t, unicode, strings, depth);
    let (col, ll) = (col as isize, ll as isize);
    let m = node.len;
    if ll == 0 || node.len < ll - col {
        write(&node, &mut out);
        return out;
    }
    let p = Printer { ll, m };
    let tind = [-1, 4].into_iter().find(|&i| p.cind(&node, col, i, 0, 0).is_ok()).unwrap_or(1);
    let ind = " ".repeat((col - 1).max(0) as usize);
    p.pp(&node, col, tind, &ind, 0, 0, &mut out);
    out
}

/// The line length and `max_chars` of one `~p`.
struct Printer {
    ll: isize,
    m: isize,
}

/// True when no element follows but a depth limit's `...`, which
/// `io_lib_pretty` holds as the sequence's tail: the element before it is
/// the last one, followed by closing brackets.
fn ends(rest: &[Node]) -> bool {
    rest.first().is_none_or(Node::is_dots)
}

fn ends_pairs(rest: &[(Node, Node)]) -> bool {
    rest.first().is_none_or(|(k, _)| k.is_dots())
}

fn last_depth(rest_empty: bool, ld: isize) -> isize {
    if rest_empty {
        ld + 1
    } else {
        0
    }
}

fn indent(n: isize, ind: &str) -> String {
    let mut s = " ".repeat(n.max(0) as usize);
    s.push_str(ind);
    s
}

struct NoGood;

impl Printer {
    fn fits(&self, len: isize, col: isize, ld: isize, w: isize) -> bool {
        len < self.ll - col - ld && len + w + ld <= self.m
    }

    /// `Ok` when an element `e` of length `elen` (with its comma) fits on
    /// the current line at `col` (`io_lib_pretty`'s `pp_tail` test).
    fn tail_fits(&self, elen: isize, atomic: bool, col: isize, ld1: isize, w: isize) -> bool {
        atomic
            && if ld1 == 0 {
                elen + 1 < self.ll - col && w + elen <= self.m
            } else {
                elen < self.ll - col - ld1 && w + elen + ld1 <= self.m
            }
    }

    #[allow(clippy::too_many_arguments)]
    fn pp(&self, n: &Node, col: isize, tind: isize, ind: &str, ld: isize, w: isize, out: &mut String) {
        if self.fits(n.len, col, ld, w) {
            return write(n, out);
        }
        match &n.kind {
            Kind::Atomic(s) => out.push_str(s),
            Kind::List(elems, tail) => {
                out.push('[');
                self.pp_list(elems, tail.as_deref(), col + 1, tind, &indent(1, ind), ld, '|', w + 1, out);
                out.push(']');
            }
            Kind::Tuple(true, elems) => {
                out.push('{');
                self.pp_tag_tuple(elems, col, tind, ind, ld, w + 1, out);
                out.push('}');
            }
            Kind::Tuple(false, elems) => {
                out.push('{');
                self.pp_list(elems, None, col + 1, tind, &indent(1, ind), ld, ',', w + 1, out);
                out.push('}');
            }
            Kind::Map(pairs) => {
                out.push_str("#{");
                self.pp_map(pairs, col + 2, tind, &indent(2, ind), ld, w + 1, out);
                out.push('}');
            }
            Kind::Bin(segs) => self.pp_binary(segs, col + 2, &indent(2, ind), ld, w, out),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn pp_list(
        &self,
        elems: &[Node],
        tail: Option<&Node>,
        col0: isize,
        tind: isize,
        ind: &str,
        ld: isize,
        sep: char,
        w: isize,
        out: &mut String,
    ) {
        let Some((first, rest)) = elems.split_first() else { return };
        let w1 = self.pp_element(first, col0, tind, ind, last_depth(ends(rest), ld), w, out);
        self.pp_tail(rest, tail, col0, col0 + w1, tind, ind, ld, sep, w1, out);
    }

    #[allow(clippy::too_many_arguments)]
    fn pp_tail(
        &self,
        mut elems: &[Node],
        tail: Option<&Node>,
        col0: isize,
        mut col: isize,
        tind: isize,
        ind: &str,
        ld: isize,
        sep: char,
        mut w: isize,
        out: &mut String,
    ) {
        while let Some((e, rest)) = elems.split_first() {
            let ld1 = last_depth(ends(rest), ld);
            let elen = 1 + e.len;
            if e.is_dots() || self.tail_fits(elen, e.is_atomic(), col, ld1, w) {
                out.push(',');
                write(e, out);
                col += elen;
                w += elen;
            } else {
                out.push_str(",\n");
                out.push_str(ind);
                let w1 = self.pp_element(e, col0, tind, ind, ld1, 0, out);
                col = col0 + w1;
                w = w1;
            }
            elems = rest;
        }
        if let Some(t) = tail {
            out.push(sep);
            if t.is_dots() || (t.len + 1 < self.ll - col - (ld + 1) && t.len + 1 + w + (ld + 1) <= self.m && t.is_atomic()) {
                write(t, out);
            } else {
                out.push('\n');
                out.push_str(ind);
                self.pp(t, col0, tind, ind, ld + 1, 0, out);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn pp_element(&self, e: &Node, col: isize, tind: isize, ind: &str, ld: isize, w: isize, out: &mut String) -> isize {
        if self.fits(e.len, col, ld, w) && e.is_atomic() {
            write(e, out);
            e.len
        } else {
            self.pp(e, col, tind, ind, ld, w, out);
            self.ll
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn pp_tag_tuple(&self, elems: &[Node], col: isize, tind: isize, ind: &str, ld: isize, w: isize, out: &mut String) {
        let (tag, rest) = elems.split_first().expect("a tagged tuple has a tag");
        let tag_ind = tag.len + 2;
        let tcol = col + tag_ind;
        write(tag, out);
        if tind > 0 && tag_ind > tind {
            let col1 = col + tind;
            self.pp_tail(rest, None, col1, tcol, tind, &indent(tind, ind), ld, ',', w + tag.len, out);
        } else {
            out.push(',');
            self.pp_list(rest, None, tcol, tind, &indent(tag_ind, ind), ld, ',', w + tag.len + 1, out);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn pp_map(&self, pairs: &[(Node, Node)], col0: isize, tind: isize, ind: &str, ld: isize, w: isize, out: &mut String) {
        let Some(((k, v), rest)) = pairs.split_first() else { return };
        let pw = self.pp_pair(k, v, col0, tind, ind, last_depth(ends_pairs(rest), ld), w, out);
        let (mut col, mut w) = (col0 + pw, pw);
        let mut rest = rest;
        while let Some(((k, v), more)) = rest.split_first() {
            let ld1 = last_depth(ends_pairs(more), ld);
            let elen = 1 + pair_len(k, v);
            if k.is_dots() || self.tail_fits(elen, pair_atomic(k, v), col, ld1, w) {
                out.push(',');
                write_pair(k, v, out);
                col += elen;
                w += elen;
            } else {
                out.push_str(",\n");
                out.push_str(ind);
                let pw = self.pp_pair(k, v, col0, tind, ind, ld1, 0, out);
                col = col0 + pw;
                w = pw;
            }
            rest = more;
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn pp_pair(&self, k: &Node, v: &Node, col: isize, tind: isize, ind: &str, ld: isize, w: isize, out: &mut String) -> isize {
        let len = pair_len(k, v);
        if self.fits(len, col, ld, w) {
            write_pair(k, v, out);
            return if pair_atomic(k, v) { len } else { self.ll };
        }
        let i = if tind > 0 { tind } else { 4 };
        let vind = indent(i, ind);
        self.pp(k, col, tind, ind, ld, w, out);
        out.push_str(" =>\n");
        out.push_str(&vind);
        self.pp(v, col + i, tind, &vind, ld, 0, out);
        self.ll
    }

    fn pp_binary(&self, segs: &[String], col: isize, ind: &str, ld: isize, w: isize, out: &mut String) {
        let n = 8.max((self.ll - col).min(self.m - 4 - w) - ld);
        let mut n0 = n;
        out.push_str("<<");
        for (i, s) in segs.iter().enumerate() {
            let slen = s.len() as isize;
            if i + 1 < segs.len() {
                let len = slen + 1;
                if n0 - len < 0 {
                    out.push('\n');
                    out.push_str(ind);
                    n0 = n - len;
                } else {
                    n0 -= len;
                }
                out.push_str(s);
                out.push(',');
            } else {
                if slen > n0 {
                    out.push('\n');
                    out.push_str(ind);
                }
                out.push_str(s);
            }
        }
        out.push_str(">>");
    }

    fn cind(&self, n: &Node, col: isize, ind: isize, ld: isize, w: isize) -> Result<isize, NoGood> {
        if self.fits(n.len, col, ld, w) {
            return Ok(ind);
        }
        match &n.kind {
            Kind::List(elems, tail) => self.cind_list(elems, tail.as_deref(), col + 1, ind, ld, w + 1),
            Kind::Tuple(true, elems) => self.cind_tag_tuple(elems, col, ind, ld, w + 1),
            Kind::Tuple(false, elems) => self.cind_list(elems, None, col + 1, ind, ld, w + 1),
            Kind::Map(pairs) => self.cind_map(pairs, col + 2, ind, ld, w + 2),
            Kind::Atomic(_) | Kind::Bin(_) => Ok(ind),
        }
    }

    fn cind_tag_tuple(&self, elems: &[Node], col: isize, ind: isize, ld: isize, w: isize) -> Result<isize, NoGood> {
        let (tag, rest) = elems.split_first().expect("a tagged tuple has a tag");
        let tag_ind = tag.len + 2;
        let tcol = col + tag_ind;
        if ind > 0 && tag_ind > ind {
            let col1 = col + ind;
            if self.m + col1 <= self.ll || col1 <= self.ll / 2 {
                self.cind_tail(rest, None, col1, tcol, ind, ld, w + tag.len)
            } else {
                Err(NoGood)
            }
        } else if self.m + tcol < self.ll || tcol < self.ll / 2 {
            self.cind_list(rest, None, tcol, ind, ld, w + tag.len + 1)
        } else {
            Err(NoGood)
        }
    }

    fn cind_list(&self, elems: &[Node], tail: Option<&Node>, col0: isize, ind: isize, ld: isize, w: isize) -> Result<isize, NoGood> {
        let Some((first, rest)) = elems.split_first() else { return Ok(ind) };
        let we = self.cind_element(first, col0, ind, last_depth(ends(rest), ld), w)?;
        self.cind_tail(rest, tail, col0, col0 + we, ind, ld, w + we)
    }

    #[allow(clippy::too_many_arguments)]
    fn cind_tail(
        &self,
        mut elems: &[Node],
        tail: Option<&Node>,
        col0: isize,
        mut col: isize,
        ind: isize,
        ld: isize,
        mut w: isize,
    ) -> Result<isize, NoGood> {
        while let Some((e, rest)) = elems.split_first() {
            let ld1 = last_depth(ends(rest), ld);
            let elen = 1 + e.len;
            if self.tail_fits(elen, e.is_atomic(), col, ld1, w) {
                col += elen;
                w += elen;
            } else {
                let we = self.cind_element(e, col0, ind, ld1, 0)?;
                col = col0 + we;
                w = we;
            }
            elems = rest;
        }
        if let Some(t) = tail {
            if !(t.len + 1 < self.ll - col - (ld + 1) && t.len + 1 + w + (ld + 1) <= self.m && t.is_atomic()) {
                self.cind(t, col, ind, ld + 1, 0)?;
            }
        }
        Ok(ind)
    }

    fn cind_element(&self, e: &Node, col: isize, ind: isize, ld: isize, w: isize) -> Result<isize, NoGood> {
        if self.fits(e.len, col, ld, w) && e.is_atomic() {
            Ok(e.len)
        } else {
            self.cind(e, col, ind, ld, w)?;
            Ok(self.ll)
        }
    }

    fn cind_map(&self, pairs: &[(Node, Node)], col0: isize, ind: isize, ld: isize, w: isize) -> Result<isize, NoGood> {
        let Some(((k, v), rest)) = pairs.split_first() else { return Ok(ind) };
        let pw = self.cind_pair(k, v, col0, ind, last_depth(ends_pairs(rest), ld), w)?;
        let (mut col, mut w) = (col0 + pw, w + pw);
        let mut rest = rest;
        while let Some(((k, v), more)) = rest.split_first() {
            let ld1 = last_depth(ends_pairs(more), ld);
            let elen = 1 + pair_len(k, v);
            if self.tail_fits(elen, pair_atomic(k, v), col, ld1, w) {
                col += elen;
                w += elen;
            } else {
                let pw = self.cind_pair(k, v, col0, ind, ld1, 0)?;
                col = col0 + pw;
                w = pw;
            }
            rest = more;
        }
        Ok(ind)
    }

    fn cind_pair(&self, k: &Node, v: &Node, col: isize, ind: isize, ld: isize, w: isize) -> Result<isize, NoGood> {
        let len = pair_len(k, v);
        if self.fits(len, col, ld, w) {
            return Ok(if pair_atomic(k, v) { len } else { self.ll });
        }
        self.cind(k, col, ind, ld, w)?;
        let i = if ind > 0 { ind } else { 4 };
        self.cind(v, col + i, ind, ld, 0)?;
        Ok(self.ll)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(t: &Term) -> String {
        pretty(t, 1, 80, false)
    }

    #[test]
    fn short_terms_print_on_one_line_with_strings() {
        assert_eq!(p(&Term::string("abc")), "\"abc\"");
        assert_eq!(p(&Term::string("a\nb\"c\\")), "\"a\\nb\\\"c\\\\\"");
        assert_eq!(p(&Term::nil()), "[]");
        assert_eq!(p(&Term::binary(b"abc")), "<<\"abc\">>");
        assert_eq!(p(&Term::binary(&[1, 2])), "<<1,2>>");
        assert_eq!(p(&Term::List(vec![Term::Int(7)])), "[7]");
    }

    #[test]
    fn long_integer_lists_fill_lines() {
        let l = Term::List((1..=40).map(Term::Int).collect());
        assert_eq!(
            p(&l),
            "[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,\n 29,30,31,32,33,34,35,36,37,38,39,40]"
        );
    }
}
