//! The port script's grammar: `erl_tokenize`'s tokens into [`Form`]s.
//!
//! A recursive-descent parser with the operator precedences of OTP 25's
//! `erl_parse.yrl`:
//!
//! | prec | operators                                   | assoc |
//! |------|---------------------------------------------|-------|
//! | 100  | `=` `!`                                      | right |
//! | 150  | `orelse`                                     | right |
//! | 160  | `andalso`                                    | right |
//! | 200  | `==` `/=` `=<` `<` `>=` `>` `=:=` `=/=`      | none  |
//! | 300  | `++` `--`                                    | right |
//! | 400  | `+` `-` `bor` `bxor` `bsl` `bsr` `or` `xor`  | left  |
//! | 500  | `*` `/` `div` `rem` `band` `and`             | left  |
//! | 600  | prefix `+` `-` `bnot` `not`                  |       |
//! | 700  | calls, map update `M#{...}`                  |       |
//! | 800  | `Mod:Fun`                                    |       |
//!
//! Patterns are parsed as expressions (as `erl_parse` does) and interpreted
//! as patterns by the evaluator.

use std::fmt;
use std::sync::Arc;

use erl_tokenize::{Keyword, Symbol, TokenKind, TokenValue};

use crate::term::fmt::quote_atom;
use crate::term::{grow_stack, Atom, AtomError, Term};

/// A syntax error, with the position (1-based line and column) of the
/// offending token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// The line, from 1.
    pub line: usize,
    /// The column, from 1 (in bytes of the line).
    pub column: usize,
    /// What is wrong, worded as `erl_parse` does where it can
    /// (`syntax error before: ')'`).
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

impl std::error::Error for ParseError {}

/// One top-level form: a comma-separated sequence of expressions ended by a
/// dot. Its value is the value of the last expression.
#[derive(Clone, Debug)]
pub struct Form {
    /// The expressions, in order.
    pub exprs: Vec<Expr>,
    /// The line the form starts on.
    pub line: usize,
}

/// A binary operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    FDiv,
    Div,
    Rem,
    Band,
    Bor,
    Bxor,
    Bsl,
    Bsr,
    And,
    Or,
    Xor,
    Eq,
    Ne,
    ExactEq,
    ExactNe,
    Lt,
    Le,
    Gt,
    Ge,
    Append,
    Subtract,
}

impl BinOp {
    /// The operator as Erlang spells it.
    pub fn name(self) -> &'static str {
        use BinOp::*;
        match self {
            Add => "+",
            Sub => "-",
            Mul => "*",
            FDiv => "/",
            Div => "div",
            Rem => "rem",
            Band => "band",
            Bor => "bor",
            Bxor => "bxor",
            Bsl => "bsl",
            Bsr => "bsr",
            And => "and",
            Or => "or",
            Xor => "xor",
            Eq => "==",
            Ne => "/=",
            ExactEq => "=:=",
            ExactNe => "=/=",
            Lt => "<",
            Le => "=<",
            Gt => ">",
            Ge => ">=",
            Append => "++",
            Subtract => "--",
        }
    }
}

/// A prefix operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum UnOp {
    Plus,
    Minus,
    Bnot,
    Not,
}

/// The type of a bit syntax segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum BitType {
    Integer,
    Float,
    Binary,
    Bits,
    Utf8,
    Utf16,
    Utf32,
}

/// Byte order of a bit syntax segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Endian {
    Big,
    Little,
    Native,
}

/// The type specifiers of a bit syntax segment (`/integer-signed-little-unit:8`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BitSpec {
    /// The segment type (default `integer`).
    pub ty: BitType,
    /// `signed` (default unsigned).
    pub signed: bool,
    /// Byte order (default big).
    pub endian: Endian,
    /// `unit:N`, if given.
    pub unit: Option<u8>,
}

/// One segment of a binary expression or pattern: `Value:Size/Specs`.
#[derive(Clone, Debug)]
pub struct BinSeg {
    /// The value (or pattern).
    pub value: Expr,
    /// The size expression, if given.
    pub size: Option<Expr>,
    /// The type specifiers.
    pub spec: BitSpec,
}

/// One field of a map expression: `K => V` (`exact == false`) or `K := V`.
#[derive(Clone, Debug)]
pub struct MapField {
    /// The key.
    pub key: Expr,
    /// The value.
    pub value: Expr,
    /// True for `:=` (key must exist; the only form allowed in patterns).
    pub exact: bool,
}

/// A guard sequence: alternatives separated by `;`, each a list of tests
/// separated by `,`. Empty means no guard.
pub type Guard = Vec<Vec<Expr>>;

/// A `case` or `receive` clause: `Pattern [when Guard] -> Body`.
#[derive(Clone, Debug)]
pub struct Clause {
    /// The pattern.
    pub pattern: Expr,
    /// The guard (empty: none).
    pub guard: Guard,
    /// The body.
    pub body: Vec<Expr>,
}

/// One clause of a fun: `(Params) [when Guard] -> Body`.
#[derive(Clone, Debug)]
pub struct FunClause {
    /// The parameter patterns.
    pub params: Vec<Expr>,
    /// The guard (empty: none).
    pub guard: Guard,
    /// The body.
    pub body: Vec<Expr>,
}

/// A fun expression: `fun (Params) -> Body; ... end`, or with `name` set,
/// `fun Name(Params) -> Body; Name(...) -> ... end`.
#[derive(Clone, Debug)]
pub struct FunDef {
    /// The name a named fun calls itself by, in its own body.
    pub name: Option<String>,
    /// The clauses, at least one, all of the same arity.
    pub clauses: Vec<FunClause>,
}

impl FunDef {
    /// The number of parameters.
    pub fn arity(&self) -> usize {
        self.clauses[0].params.len()
    }
}

/// A list comprehension qualifier.
#[derive(Clone, Debug)]
pub enum Qualifier {
    /// `Pattern <- ListExpr`.
    Generator(Expr, Expr),
    /// `BinaryPattern <= BinaryExpr` (each match takes the next bits).
    BinGenerator(Expr, Expr),
    /// A filter expression (must evaluate to a boolean).
    Filter(Expr),
}

/// One clause of `try ... catch`: `Class:Reason[:Stack] [when Guard] -> Body`.
#[derive(Clone, Debug)]
pub struct CatchClause {
    /// The class pattern (`throw` when the clause names none).
    pub class: Expr,
    /// The reason pattern.
    pub reason: Expr,
    /// The stack trace variable, if named.
    pub stack: Option<String>,
    /// The guard (empty: none).
    pub guard: Guard,
    /// The body.
    pub body: Vec<Expr>,
}

/// `try Body [of Clauses] [catch CatchClauses] [after After] end`.
#[derive(Clone, Debug)]
pub struct TryExpr {
    /// The protected expressions.
    pub body: Vec<Expr>,
    /// The `of` clauses (empty: the body's value is the result).
    pub of: Vec<Clause>,
    /// The `catch` clauses.
    pub catches: Vec<CatchClause>,
    /// The `after` expressions (empty: none).
    pub after: Vec<Expr>,
}

/// An expression (or a pattern).
#[derive(Clone, Debug)]
#[allow(missing_docs)]
pub enum Expr {
    /// A literal atom or number.
    Lit(Term),
    /// A string literal (adjacent strings already concatenated).
    Str(String),
    /// A variable (`_` is the wildcard pattern).
    Var(String),
    Tuple(Vec<Expr>),
    /// `[A, B | Tail]`; `List(vec![], None)` is `[]`.
    List(Vec<Expr>, Option<Box<Expr>>),
    Bin(Vec<BinSeg>),
    /// `#{...}` (no base) or `Base#{...}` (update).
    Map(Option<Box<Expr>>, Vec<MapField>),
    /// `Pattern = Expr`.
    Match(Box<Expr>, Box<Expr>),
    /// `Dest ! Msg`.
    Send(Box<Expr>, Box<Expr>),
    Op(BinOp, Box<Expr>, Box<Expr>),
    Unary(UnOp, Box<Expr>),
    AndAlso(Box<Expr>, Box<Expr>),
    OrElse(Box<Expr>, Box<Expr>),
    /// `[Module:]Function(Args)`.
    Call(Option<Box<Expr>>, Box<Expr>, Vec<Expr>),
    /// `begin ... end`.
    Block(Vec<Expr>),
    Case(Box<Expr>, Vec<Clause>),
    /// `if Guard -> Body; ... end`.
    If(Vec<(Guard, Vec<Expr>)>),
    /// `receive Clauses [after Timeout -> Body] end`.
    Receive(Vec<Clause>, Option<(Box<Expr>, Vec<Expr>)>),
    /// `[Expr || Qualifiers]`.
    ListComp(Box<Expr>, Vec<Qualifier>),
    /// `catch Expr`.
    Catch(Box<Expr>),
    /// `try ... of ... catch ... after ... end`.
    Try(Box<TryExpr>),
    /// `<< Expr || Qualifiers >>`.
    BinComp(Box<Expr>, Vec<Qualifier>),
    /// `fun (...) -> ... end` (shared by every fun the expression makes).
    Fun(Arc<FunDef>),
    /// `fun Module:Function/Arity` (each part an atom, an integer or a
    /// variable).
    ExternalFun(Box<Expr>, Box<Expr>, Box<Expr>),
}

impl Drop for Expr {
    /// A deep expression (a chain of 100,000 operators) is dropped on a
    /// stack that grows as it needs.
    fn drop(&mut self) {
        crate::term::drop_with_stack(self, || Expr::Var(String::new()));
    }
}

#[derive(Clone, Debug, PartialEq)]
enum T {
    Atom(String),
    Var(String),
    Int(Term),
    Float(f64),
    Char(char),
    Str(String),
    Kw(Keyword),
    Sym(Symbol),
    Eof,
}

#[derive(Clone, Debug)]
struct Tok {
    t: T,
    line: usize,
    column: usize,
    text: String,
}

/// Decodes a script file as `erlrun.escript` reads it: each byte is one
/// character (Latin-1), so that `"é"` in a UTF-8 file is the two
/// characters `[195,169]` under porthost as under ERTS.
pub fn decode_latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| b as char).collect()
}

/// Parses a whole script into its dot-terminated forms.
///
/// # Errors
/// The first lexical or syntax error, with its position.
pub fn parse_script(src: &str) -> Result<Vec<Form>, ParseError> {
    let toks = tokenize(src)?;
    let mut p = Parser { toks, pos: 0 };
    let mut forms = Vec::new();
    while p.peek() != &T::Eof {
        forms.push(p.form()?);
    }
    Ok(forms)
}

/// True when `src` ends with a complete form (its last token is a dot), so
/// that an interactive shell can stop reading lines. Lexical errors count as
/// complete (the parse will report them), except an unterminated quote.
pub fn is_complete(src: &str) -> bool {
    let mut pos = erl_tokenize::Position::new();
    let mut last = None;
    loop {
        match erl_tokenize::scan_token(src, pos) {
            Ok(Some(tok)) => {
                if tok.kind().is_lexical() {
                    last = Some(tok.kind());
                }
                pos = tok.end();
            }
            Ok(None) => break,
            Err(e) => {
                return e.kind != erl_tokenize::ErrorKind::NoClosingQuotation;
            }
        }
    }
    last == Some(TokenKind::Symbol(Symbol::Dot))
}

fn parse_big_integer(text: &str) -> Term {
    let clean: String = text.chars().filter(|&c| c != '_').collect();
    let (radix, digits) = match clean.split_once('#') {
        Some((r, d)) => (r.parse::<u32>().unwrap_or(10), d.to_string()),
        None => (10, clean),
    };
    let mut v = eetf::BigInteger::from(0u8);
    let r = eetf::BigInteger::from(radix);
    for c in digits.chars() {
        let d = eetf::BigInteger::from(c.to_digit(radix).unwrap_or(0));
        v = eetf::BigInteger { value: &v.value * &r.value + &d.value };
    }
    Term::from_big(v)
}

fn tokenize(src: &str) -> Result<Vec<Tok>, ParseError> {
    let mut out = Vec::new();
    let mut pos = erl_tokenize::Position::new();
    loop {
        let tok = match erl_tokenize::scan_token(src, pos) {
            Ok(Some(tok)) => tok,
            Ok(None) => break,
            Err(e) => {
                return Err(ParseError {
                    line: e.position.line().get(),
                    column: e.position.column().get(),
                    message: e.kind.message().to_string(),
                })
            }
        };
        pos = tok.end();
        if !tok.kind().is_lexical() {
            continue;
        }
        let text = tok.text(src).to_string();
        let t = match tok.value(src) {
            TokenValue::Atom(a) => match Atom::try_new(&a) {
                Ok(_) => T::Atom(a.into_owned()),
                // erl_scan's `{illegal, atom}` past 255 characters.
                Err(e) => {
                    return Err(ParseError {
                        line: tok.start().line().get(),
                        column: tok.start().column().get(),
                        message: match e {
                            AtomError::TooLong => "illegal atom".into(),
                            _ => format!("{e}: system_limit"),
                        },
                    })
                }
            },
            TokenValue::Char(c) => T::Char(c),
            TokenValue::Float(f) => T::Float(f),
            TokenValue::Integer(Some(v)) => T::Int(Term::int(v as i128)),
            TokenValue::Integer(None) => T::Int(parse_big_integer(&text)),
            TokenValue::Keyword(Keyword::Maybe) => T::Atom("maybe".into()),
            TokenValue::Keyword(Keyword::Else) => T::Atom("else".into()),
            TokenValue::Keyword(k) => T::Kw(k),
            TokenValue::String(s) => T::Str(s.into_owned()),
            TokenValue::Symbol(s) => T::Sym(s),
            TokenValue::Variable(v) => T::Var(v.to_string()),
            TokenValue::SigilString { .. } => {
                return Err(ParseError {
                    line: tok.start().line().get(),
                    column: tok.start().column().get(),
                    message: "sigils are not supported".into(),
                })
            }
            TokenValue::Comment(_) | TokenValue::Whitespace(_) => continue,
        };
        out.push(Tok { t, line: tok.start().line().get(), column: tok.start().column().get(), text });
    }
    out.push(Tok { t: T::Eof, line: pos.line().get(), column: pos.column().get(), text: String::new() });
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

type PResult<T> = Result<T, ParseError>;

impl Parser {
    fn peek(&self) -> &T {
        &self.toks[self.pos].t
    }

    fn peek_at(&self, n: usize) -> &T {
        let i = (self.pos + n).min(self.toks.len() - 1);
        &self.toks[i].t
    }

    fn bump(&mut self) -> Tok {
        let t = self.toks[self.pos].clone();
        if self.pos < self.toks.len() - 1 {
            self.pos += 1;
        }
        t
    }

    fn is_sym(&self, s: Symbol) -> bool {
        self.peek() == &T::Sym(s)
    }

    fn is_kw(&self, k: Keyword) -> bool {
        self.peek() == &T::Kw(k)
    }

    fn eat_sym(&mut self, s: Symbol) -> bool {
        if self.is_sym(s) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn eat_kw(&mut self, k: Keyword) -> bool {
        if self.is_kw(k) {
            self.bump();
            true
        } else {
            false
        }
    }

    /// `syntax error before: TOKEN`, as `erl_parse:format_error/1` words it.
    fn error(&self) -> ParseError {
        let tok = &self.toks[self.pos];
        let what = match &tok.t {
            T::Eof => {
                return ParseError {
                    line: tok.line,
                    column: tok.column,
                    message: "unexpected end of input (missing '.'?)".into(),
                }
            }
            T::Atom(a) => quote_atom(a).into_owned(),
            T::Sym(_) | T::Kw(_) => quote_atom(&tok.text).into_owned(),
            T::Var(_) | T::Int(_) | T::Float(_) | T::Char(_) | T::Str(_) => tok.text.clone(),
        };
        ParseError { line: tok.line, column: tok.column, message: format!("syntax error before: {what}") }
    }

    fn expect_sym(&mut self, s: Symbol) -> PResult<()> {
        if self.eat_sym(s) {
            Ok(())
        } else {
            Err(self.error())
        }
    }

    fn expect_kw(&mut self, k: Keyword) -> PResult<()> {
        if self.eat_kw(k) {
            Ok(())
        } else {
            Err(self.error())
        }
    }

    fn form(&mut self) -> PResult<Form> {
        let line = self.toks[self.pos].line;
        let exprs = self.exprs()?;
        self.expect_sym(Symbol::Dot)?;
        Ok(Form { exprs, line })
    }

    fn exprs(&mut self) -> PResult<Vec<Expr>> {
        let mut v = vec![self.expr()?];
        while self.eat_sym(Symbol::Comma) {
            v.push(self.expr()?);
        }
        Ok(v)
    }

    fn expr(&mut self) -> PResult<Expr> {
        // Every nested expression comes through here: the stack grows
        // with the nesting (3,000 nested lists, 100,000 parentheses).
        grow_stack(|| {
            if self.eat_kw(Keyword::Catch) {
                return Ok(Expr::Catch(Box::new(self.expr()?)));
            }
            self.expr_100()
        })
    }

    fn expr_100(&mut self) -> PResult<Expr> {
        let lhs = self.expr_150()?;
        if self.eat_sym(Symbol::Match) {
            let rhs = grow_stack(|| self.expr_100())?;
            return Ok(Expr::Match(Box::new(lhs), Box::new(rhs)));
        }
        if self.eat_sym(Symbol::Bang) {
            let rhs = grow_stack(|| self.expr_100())?;
            return Ok(Expr::Send(Box::new(lhs), Box::new(rhs)));
        }
        Ok(lhs)
    }

    fn expr_150(&mut self) -> PResult<Expr> {
        let lhs = self.expr_160()?;
        if self.eat_kw(Keyword::Orelse) {
            let rhs = grow_stack(|| self.expr_150())?;
            return Ok(Expr::OrElse(Box::new(lhs), Box::new(rhs)));
        }
        Ok(lhs)
    }

    fn expr_160(&mut self) -> PResult<Expr> {
        let lhs = self.expr_200()?;
        if self.eat_kw(Keyword::Andalso) {
            let rhs = grow_stack(|| self.expr_160())?;
            return Ok(Expr::AndAlso(Box::new(lhs), Box::new(rhs)));
        }
        Ok(lhs)
    }

    fn expr_200(&mut self) -> PResult<Expr> {
        let lhs = self.expr_300()?;
        let op = match self.peek() {
            T::Sym(Symbol::Eq) => BinOp::Eq,
            T::Sym(Symbol::NotEq) => BinOp::Ne,
            T::Sym(Symbol::ExactEq) => BinOp::ExactEq,
            T::Sym(Symbol::ExactNotEq) => BinOp::ExactNe,
            T::Sym(Symbol::Less) => BinOp::Lt,
            T::Sym(Symbol::LessEq) => BinOp::Le,
            T::Sym(Symbol::Greater) => BinOp::Gt,
            T::Sym(Symbol::GreaterEq) => BinOp::Ge,
            _ => return Ok(lhs),
        };
        self.bump();
        let rhs = grow_stack(|| self.expr_300())?;
        Ok(Expr::Op(op, Box::new(lhs), Box::new(rhs)))
    }

    fn expr_300(&mut self) -> PResult<Expr> {
        let lhs = self.expr_400()?;
        let op = match self.peek() {
            T::Sym(Symbol::PlusPlus) => BinOp::Append,
            T::Sym(Symbol::MinusMinus) => BinOp::Subtract,
            _ => return Ok(lhs),
        };
        self.bump();
        let rhs = grow_stack(|| self.expr_300())?;
        Ok(Expr::Op(op, Box::new(lhs), Box::new(rhs)))
    }

    fn expr_400(&mut self) -> PResult<Expr> {
        let mut lhs = self.expr_500()?;
        loop {
            let op = match self.peek() {
                T::Sym(Symbol::Plus) => BinOp::Add,
                T::Sym(Symbol::Hyphen) => BinOp::Sub,
                T::Kw(Keyword::Bor) => BinOp::Bor,
                T::Kw(Keyword::Bxor) => BinOp::Bxor,
                T::Kw(Keyword::Bsl) => BinOp::Bsl,
                T::Kw(Keyword::Bsr) => BinOp::Bsr,
                T::Kw(Keyword::Or) => BinOp::Or,
                T::Kw(Keyword::Xor) => BinOp::Xor,
                _ => return Ok(lhs),
            };
            self.bump();
            let rhs = self.expr_500()?;
            lhs = Expr::Op(op, Box::new(lhs), Box::new(rhs));
        }
    }

    fn expr_500(&mut self) -> PResult<Expr> {
        let mut lhs = self.expr_600()?;
        loop {
            let op = match self.peek() {
                T::Sym(Symbol::Multiply) => BinOp::Mul,
                T::Sym(Symbol::Slash) => BinOp::FDiv,
                T::Kw(Keyword::Div) => BinOp::Div,
                T::Kw(Keyword::Rem) => BinOp::Rem,
                T::Kw(Keyword::Band) => BinOp::Band,
                T::Kw(Keyword::And) => BinOp::And,
                _ => return Ok(lhs),
            };
            self.bump();
            let rhs = self.expr_600()?;
            lhs = Expr::Op(op, Box::new(lhs), Box::new(rhs));
        }
    }

    fn prefix_op(&self) -> Option<UnOp> {
        match self.peek() {
            T::Sym(Symbol::Plus) => Some(UnOp::Plus),
            T::Sym(Symbol::Hyphen) => Some(UnOp::Minus),
            T::Kw(Keyword::Bnot) => Some(UnOp::Bnot),
            T::Kw(Keyword::Not) => Some(UnOp::Not),
            _ => None,
        }
    }

    fn expr_600(&mut self) -> PResult<Expr> {
        if let Some(op) = self.prefix_op() {
            self.bump();
            let e = grow_stack(|| self.expr_600())?;
            return Ok(Expr::Unary(op, Box::new(e)));
        }
        self.expr_700()
    }

    fn expr_700(&mut self) -> PResult<Expr> {
        let (module, mut e) = self.expr_800()?;
        if let Some(m) = module {
            if !self.is_sym(Symbol::OpenParen) {
                return Err(self.error());
            }
            let args = self.args()?;
            e = Expr::Call(Some(Box::new(m)), Box::new(e), args);
        }
        loop {
            if self.is_sym(Symbol::OpenParen) {
                let args = self.args()?;
                e = Expr::Call(None, Box::new(e), args);
            } else if self.is_sym(Symbol::Sharp) && self.peek_at(1) == &T::Sym(Symbol::OpenBrace) {
                self.bump();
                let fields = self.map_fields()?;
                e = Expr::Map(Some(Box::new(e)), fields);
            } else {
                return Ok(e);
            }
        }
    }

    /// `expr_max [':' expr_max]`: the module (if remote) and the expression.
    fn expr_800(&mut self) -> PResult<(Option<Expr>, Expr)> {
        let e = self.expr_max()?;
        if self.eat_sym(Symbol::Colon) {
            let f = self.expr_max()?;
            return Ok((Some(e), f));
        }
        Ok((None, e))
    }

    fn args(&mut self) -> PResult<Vec<Expr>> {
        self.expect_sym(Symbol::OpenParen)?;
        if self.eat_sym(Symbol::CloseParen) {
            return Ok(Vec::new());
        }
        let args = self.exprs()?;
        self.expect_sym(Symbol::CloseParen)?;
        Ok(args)
    }

    fn expr_max(&mut self) -> PResult<Expr> {
        let tok = self.bump();
        Ok(match tok.t {
            T::Var(v) => Expr::Var(v),
            T::Atom(a) => Expr::Lit(Term::Atom(Atom::new(&a))),
            T::Int(i) => Expr::Lit(i),
            T::Float(f) => Expr::Lit(Term::Float(f)),
            T::Char(c) => Expr::Lit(Term::Int(c as i64)),
            T::Str(mut s) => {
                while let T::Str(more) = self.peek() {
                    s.push_str(more);
                    self.bump();
                }
                Expr::Str(s)
            }
            T::Sym(Symbol::OpenParen) => {
                let e = self.expr()?;
                self.expect_sym(Symbol::CloseParen)?;
                e
            }
            T::Sym(Symbol::OpenBrace) => {
                if self.eat_sym(Symbol::CloseBrace) {
                    return Ok(Expr::Tuple(Vec::new()));
                }
                let items = self.exprs()?;
                self.expect_sym(Symbol::CloseBrace)?;
                Expr::Tuple(items)
            }
            T::Sym(Symbol::OpenSquare) => self.list()?,
            T::Sym(Symbol::DoubleLeftAngle) => self.binary()?,
            T::Sym(Symbol::Sharp) => {
                if !self.is_sym(Symbol::OpenBrace) {
                    return Err(self.error());
                }
                Expr::Map(None, self.map_fields()?)
            }
            T::Kw(Keyword::Try) => self.try_expr()?,
            T::Kw(Keyword::Begin) => {
                let body = self.exprs()?;
                self.expect_kw(Keyword::End)?;
                Expr::Block(body)
            }
            T::Kw(Keyword::Case) => {
                let e = self.expr()?;
                self.expect_kw(Keyword::Of)?;
                let clauses = self.clauses()?;
                self.expect_kw(Keyword::End)?;
                Expr::Case(Box::new(e), clauses)
            }
            T::Kw(Keyword::If) => {
                let mut clauses = Vec::new();
                loop {
                    let guard = self.guard()?;
                    self.expect_sym(Symbol::RightArrow)?;
                    let body = self.exprs()?;
                    clauses.push((guard, body));
                    if !self.eat_sym(Symbol::Semicolon) {
                        break;
                    }
                }
                self.expect_kw(Keyword::End)?;
                Expr::If(clauses)
            }
            T::Kw(Keyword::Fun) => self.fun_expr()?,
            T::Kw(Keyword::Receive) => {
                let clauses = if self.is_kw(Keyword::After) { Vec::new() } else { self.clauses()? };
                let after = if self.eat_kw(Keyword::After) {
                    let t = self.expr()?;
                    self.expect_sym(Symbol::RightArrow)?;
                    let body = self.exprs()?;
                    Some((Box::new(t), body))
                } else {
                    None
                };
                self.expect_kw(Keyword::End)?;
                Expr::Receive(clauses, after)
            }
            t => {
                if t != T::Eof {
                    self.pos -= 1;
                }
                return Err(self.error());
            }
        })
    }

    /// After `fun`: clauses (`(...) -> ... end`), a named fun
    /// (`Name(...) -> ...; Name(...) -> ... end`) or `M:F/A`.
    fn fun_expr(&mut self) -> PResult<Expr> {
        let name = match (self.peek(), self.peek_at(1)) {
            (T::Sym(Symbol::OpenParen), _) => None,
            (T::Var(v), T::Sym(Symbol::OpenParen)) => Some(v.clone()),
            _ => {
                let m = self.fun_name_part()?;
                self.expect_sym(Symbol::Colon)?;
                let f = self.fun_name_part()?;
                self.expect_sym(Symbol::Slash)?;
                let a = self.fun_name_part()?;
                return Ok(Expr::ExternalFun(Box::new(m), Box::new(f), Box::new(a)));
            }
        };
        let mut clauses: Vec<FunClause> = Vec::new();
        loop {
            let head = self.toks[self.pos].clone();
            // erl_parse's words when clauses differ in name or arity.
            let mismatch = || ParseError { line: head.line, column: head.column, message: "head mismatch".into() };
            if let Some(n) = &name {
                match self.peek() {
                    T::Var(v) if v == n => {}
                    T::Var(_) => return Err(mismatch()),
                    _ => return Err(self.error()),
                }
                self.bump();
            }
            let params = self.args()?;
            let guard = if self.eat_kw(Keyword::When) { self.guard()? } else { Vec::new() };
            self.expect_sym(Symbol::RightArrow)?;
            let body = self.exprs()?;
            if clauses.first().is_some_and(|first| first.params.len() != params.len()) {
                return Err(mismatch());
            }
            clauses.push(FunClause { params, guard, body });
            if !self.eat_sym(Symbol::Semicolon) {
                break;
            }
        }
        self.expect_kw(Keyword::End)?;
        Ok(Expr::Fun(Arc::new(FunDef { name, clauses })))
    }

    /// A part of `fun M:F/A`: an atom, an integer or a variable.
    fn fun_name_part(&mut self) -> PResult<Expr> {
        match self.peek().clone() {
            T::Atom(a) => {
                self.bump();
                Ok(Expr::Lit(Term::atom(&a)))
            }
            T::Int(i) => {
                self.bump();
                Ok(Expr::Lit(i))
            }
            T::Var(v) => {
                self.bump();
                Ok(Expr::Var(v))
            }
            _ => Err(self.error()),
        }
    }

    fn list(&mut self) -> PResult<Expr> {
        if self.eat_sym(Symbol::CloseSquare) {
            return Ok(Expr::List(Vec::new(), None));
        }
        let first = self.expr()?;
        if self.eat_sym(Symbol::DoubleVerticalBar) {
            let mut quals = Vec::new();
            loop {
                let e = self.expr()?;
                if self.eat_sym(Symbol::LeftArrow) {
                    let src = self.expr()?;
                    quals.push(Qualifier::Generator(e, src));
                } else if self.eat_sym(Symbol::DoubleLeftArrow) {
                    let src = self.expr()?;
                    quals.push(Qualifier::BinGenerator(e, src));
                } else {
                    quals.push(Qualifier::Filter(e));
                }
                if !self.eat_sym(Symbol::Comma) {
                    break;
                }
            }
            self.expect_sym(Symbol::CloseSquare)?;
            return Ok(Expr::ListComp(Box::new(first), quals));
        }
        let mut items = vec![first];
        while self.eat_sym(Symbol::Comma) {
            items.push(self.expr()?);
        }
        let tail = if self.eat_sym(Symbol::VerticalBar) { Some(Box::new(self.expr()?)) } else { None };
        self.expect_sym(Symbol::CloseSquare)?;
        Ok(Expr::List(items, tail))
    }

    fn map_fields(&mut self) -> PResult<Vec<MapField>> {
        self.expect_sym(Symbol::OpenBrace)?;
        let mut fields = Vec::new();
        if self.eat_sym(Symbol::CloseBrace) {
            return Ok(fields);
        }
        loop {
            let key = self.expr()?;
            let exact = if self.eat_sym(Symbol::DoubleRightArrow) {
                false
            } else if self.eat_sym(Symbol::MapMatch) {
                true
            } else {
                return Err(self.error());
            };
            let value = self.expr()?;
            fields.push(MapField { key, value, exact });
            if !self.eat_sym(Symbol::Comma) {
                break;
            }
        }
        self.expect_sym(Symbol::CloseBrace)?;
        Ok(fields)
    }

    fn binary(&mut self) -> PResult<Expr> {
        let mut segs = Vec::new();
        if self.eat_sym(Symbol::DoubleRightAngle) {
            return Ok(Expr::Bin(segs));
        }
        loop {
            segs.push(self.bin_segment()?);
            if segs.len() == 1 && self.is_sym(Symbol::DoubleVerticalBar) {
                return self.bin_comprehension(segs.remove(0));
            }
            if !self.eat_sym(Symbol::Comma) {
                break;
            }
        }
        self.expect_sym(Symbol::DoubleRightAngle)?;
        Ok(Expr::Bin(segs))
    }

    fn bin_segment(&mut self) -> PResult<BinSeg> {
        let value = match self.prefix_op() {
            Some(op) => {
                self.bump();
                Expr::Unary(op, Box::new(self.expr_max()?))
            }
            None => self.expr_max()?,
        };
        let size = if self.eat_sym(Symbol::Colon) { Some(self.expr_max()?) } else { None };
        let mut spec = BitSpec { ty: BitType::Integer, signed: false, endian: Endian::Big, unit: None };
        if self.eat_sym(Symbol::Slash) {
            loop {
                let tok = self.bump();
                let name = match &tok.t {
                    T::Atom(a) => a.clone(),
                    t => {
                        if *t != T::Eof {
                            self.pos -= 1;
                        }
                        return Err(self.error());
                    }
                };
                match name.as_str() {
                    "integer" => spec.ty = BitType::Integer,
                    "float" => spec.ty = BitType::Float,
                    "binary" | "bytes" => spec.ty = BitType::Binary,
                    "bitstring" | "bits" => spec.ty = BitType::Bits,
                    "utf8" => spec.ty = BitType::Utf8,
                    "utf16" => spec.ty = BitType::Utf16,
                    "utf32" => spec.ty = BitType::Utf32,
                    "signed" => spec.signed = true,
                    "unsigned" => spec.signed = false,
                    "big" => spec.endian = Endian::Big,
                    "little" => spec.endian = Endian::Little,
                    "native" => spec.endian = Endian::Native,
                    "unit" => {
                        self.expect_sym(Symbol::Colon)?;
                        let t = self.bump();
                        match t.t {
                            T::Int(Term::Int(u)) if (1..=256).contains(&u) => {
                                spec.unit = Some(if u == 256 { 0 } else { u as u8 })
                            }
                            t => {
                                if t != T::Eof {
                                    self.pos -= 1;
                                }
                                return Err(self.error());
                            }
                        }
                    }
                    other => {
                        return Err(ParseError {
                            line: tok.line,
                            column: tok.column,
                            message: format!("bit type {} undefined", quote_atom(other)),
                        })
                    }
                }
                if !self.eat_sym(Symbol::Hyphen) {
                    break;
                }
            }
        }
        Ok(BinSeg { value, size, spec })
    }

    fn guard(&mut self) -> PResult<Guard> {
        let mut alts = Vec::new();
        loop {
            let mut tests = vec![self.expr()?];
            while self.eat_sym(Symbol::Comma) {
                tests.push(self.expr()?);
            }
            alts.push(tests);
            if !self.eat_sym(Symbol::Semicolon) {
                return Ok(alts);
            }
        }
    }

    fn clauses(&mut self) -> PResult<Vec<Clause>> {
        let mut clauses = Vec::new();
        loop {
            let pattern = self.expr()?;
            let guard = if self.eat_kw(Keyword::When) { self.guard()? } else { Vec::new() };
            self.expect_sym(Symbol::RightArrow)?;
            let body = self.exprs()?;
            clauses.push(Clause { pattern, guard, body });
            if !self.eat_sym(Symbol::Semicolon) {
                return Ok(clauses);
            }
        }
    }
}

/// `try`, binary comprehensions and comprehension qualifiers.
impl Parser {
    /// After `try`: `Body [of Clauses] [catch CatchClauses] [after Body] end`
    /// (at least one of `catch` and `after`).
    fn try_expr(&mut self) -> PResult<Expr> {
        let body = self.exprs()?;
        let of = if self.eat_kw(Keyword::Of) { self.clauses()? } else { Vec::new() };
        let mut catches = Vec::new();
        if self.eat_kw(Keyword::Catch) {
            loop {
                catches.push(self.catch_clause()?);
                if !self.eat_sym(Symbol::Semicolon) {
                    break;
                }
            }
        }
        let after = if self.eat_kw(Keyword::After) { self.exprs()? } else { Vec::new() };
        if catches.is_empty() && after.is_empty() {
            return Err(self.error());
        }
        self.expect_kw(Keyword::End)?;
        Ok(Expr::Try(Box::new(TryExpr { body, of, catches, after })))
    }

    /// The index of the next `:` at bracket depth 0 before the clause's
    /// `when` or `->`, if any.
    fn clause_colon(&self) -> Option<usize> {
        let mut depth = 0usize;
        for (i, tok) in self.toks.iter().enumerate().skip(self.pos) {
            match &tok.t {
                T::Sym(Symbol::OpenParen | Symbol::OpenSquare | Symbol::OpenBrace | Symbol::DoubleLeftAngle) => depth += 1,
                T::Sym(Symbol::CloseParen | Symbol::CloseSquare | Symbol::CloseBrace | Symbol::DoubleRightAngle) => {
                    if depth == 0 {
                        return None;
                    }
                    depth -= 1;
                }
                T::Sym(Symbol::Colon) if depth == 0 => return Some(i),
                T::Sym(Symbol::RightArrow | Symbol::Semicolon | Symbol::Dot) | T::Kw(Keyword::When) | T::Eof
                    if depth == 0 =>
                {
                    return None
                }
                _ => {}
            }
        }
        None
    }

    /// A pattern made of the tokens up to (not including) index `end`.
    fn pattern_until(&mut self, end: usize) -> PResult<Expr> {
        let mut toks = self.toks[self.pos..end].to_vec();
        let last = &self.toks[end];
        toks.push(Tok { t: T::Eof, line: last.line, column: last.column, text: String::new() });
        let mut sub = Parser { toks, pos: 0 };
        let e = sub.expr()?;
        if sub.peek() != &T::Eof {
            self.pos += sub.pos;
            return Err(self.error());
        }
        self.pos = end;
        Ok(e)
    }

    /// `[Class:]Reason[:Stack] [when Guard] -> Body`.
    fn catch_clause(&mut self) -> PResult<CatchClause> {
        let (class, reason, stack) = match self.clause_colon() {
            None => (Expr::Lit(Term::atom("throw")), self.expr()?, None),
            Some(c) => {
                let class = match (c == self.pos + 1, self.peek().clone()) {
                    (true, T::Atom(a)) => Expr::Lit(Term::atom(&a)),
                    (true, T::Var(v)) => Expr::Var(v),
                    _ => return Err(self.error()),
                };
                self.pos = c + 1;
                let (reason, stack) = match self.clause_colon() {
                    None => (self.expr()?, None),
                    Some(c2) => {
                        let reason = self.pattern_until(c2)?;
                        self.bump();
                        match self.bump().t {
                            T::Var(v) => (reason, Some(v)),
                            _ => {
                                self.pos -= 1;
                                return Err(self.error());
                            }
                        }
                    }
                };
                (class, reason, stack)
            }
        };
        let guard = if self.eat_kw(Keyword::When) { self.guard()? } else { Vec::new() };
        self.expect_sym(Symbol::RightArrow)?;
        let body = self.exprs()?;
        Ok(CatchClause { class, reason, stack, guard, body })
    }

    /// After `<< First ||`: the qualifiers and `>>`.
    fn bin_comprehension(&mut self, first: BinSeg) -> PResult<Expr> {
        // erl_parse takes an `expr_max` here: `<< X:8 || ... >>` is a
        // syntax error before '||'.
        let plain = BitSpec { ty: BitType::Integer, signed: false, endian: Endian::Big, unit: None };
        if first.size.is_some() || first.spec != plain {
            return Err(self.error());
        }
        self.expect_sym(Symbol::DoubleVerticalBar)?;
        let expr = first.value;
        let quals = self.qualifiers()?;
        self.expect_sym(Symbol::DoubleRightAngle)?;
        Ok(Expr::BinComp(Box::new(expr), quals))
    }

    /// Comma-separated generators (`<-`, `<=`) and filters.
    fn qualifiers(&mut self) -> PResult<Vec<Qualifier>> {
        let mut quals = Vec::new();
        loop {
            let e = self.expr()?;
            if self.eat_sym(Symbol::LeftArrow) {
                quals.push(Qualifier::Generator(e, self.expr()?));
            } else if self.eat_sym(Symbol::DoubleLeftArrow) {
                quals.push(Qualifier::BinGenerator(e, self.expr()?));
            } else {
                quals.push(Qualifier::Filter(e));
            }
            if !self.eat_sym(Symbol::Comma) {
                return Ok(quals);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(src: &str) -> Expr {
        let mut forms = parse_script(src).unwrap();
        assert_eq!(forms.len(), 1);
        forms.remove(0).exprs.remove(0)
    }

    #[test]
    fn precedence() {
        // 1 + 2 * 3 parses as 1 + (2 * 3).
        match one("1 + 2 * 3.") {
            Expr::Op(BinOp::Add, _, ref r) => assert!(matches!(**r, Expr::Op(BinOp::Mul, _, _))),
            e => panic!("{e:?}"),
        }
        // X = a ! b parses as X = (a ! b).
        assert!(matches!(one("X = a ! b."), Expr::Match(_, ref r) if matches!(**r, Expr::Send(..))));
        // A andalso B orelse C is (A andalso B) orelse C.
        assert!(matches!(one("a andalso b orelse c."), Expr::OrElse(ref l, _) if matches!(**l, Expr::AndAlso(..))));
        // ++ is right associative.
        assert!(matches!(one("a ++ b ++ c."), Expr::Op(BinOp::Append, _, ref r) if matches!(**r, Expr::Op(BinOp::Append, ..))));
        // - binds tighter than :.
        assert!(matches!(one("erlang:length(X)."), Expr::Call(Some(_), _, ref a) if a.len() == 1));
    }

    #[test]
    fn literals() {
        assert!(matches!(one("16#FF."), Expr::Lit(Term::Int(255))));
        assert!(matches!(one("$a."), Expr::Lit(Term::Int(97))));
        assert!(matches!(one("\"ab\" \"cd\"."), Expr::Str(ref s) if s == "abcd"));
        assert!(matches!(one("'hello world'."), Expr::Lit(Term::Atom(ref a)) if a.name() == "hello world"));
        assert!(matches!(one("maybe."), Expr::Lit(Term::Atom(ref a)) if a.name() == "maybe"));
        match one("123456789012345678901234567890.") {
            Expr::Lit(ref t) => assert_eq!(t.to_string(), "123456789012345678901234567890"),
            e => panic!("{e:?}"),
        }
    }

    #[test]
    fn binaries() {
        match one("<<0, Port:16, Rest/binary, X:32/little-signed-unit:1>>.") {
            Expr::Bin(ref segs) => {
                assert_eq!(segs.len(), 4);
                assert_eq!(segs[2].spec.ty, BitType::Binary);
                assert_eq!(segs[3].spec.endian, Endian::Little);
                assert!(segs[3].spec.signed);
                assert_eq!(segs[3].spec.unit, Some(1));
            }
            e => panic!("{e:?}"),
        }
        let e = parse_script("<<1/foo>>.").unwrap_err();
        assert_eq!(e.to_string(), "1:5: bit type foo undefined");
    }

    #[test]
    fn errors_have_positions() {
        let e = parse_script("X = (1 + .").unwrap_err();
        assert_eq!(e.to_string(), "1:10: syntax error before: '.'");
        let e = parse_script("a.\nfoo(1,).").unwrap_err();
        assert_eq!(e.to_string(), "2:7: syntax error before: ')'");
        let e = parse_script("case 1 of end.").unwrap_err();
        assert_eq!(e.message, "syntax error before: 'end'");
        assert!(parse_script("1 + 2").is_err());
    }

    #[test]
    fn forms_and_sequences() {
        let forms = parse_script("X = 1, Y = 2.\n% comment\n{X, Y}.\n").unwrap();
        assert_eq!(forms.len(), 2);
        assert_eq!(forms[0].exprs.len(), 2);
        assert_eq!(forms[1].line, 3);
    }

    #[test]
    fn funs() {
        match one("fun (X, {Y}) when X > Y -> X; (_, _) -> none end.") {
            Expr::Fun(ref def) => {
                assert!(def.name.is_none());
                assert_eq!(def.clauses.len(), 2);
                assert_eq!(def.arity(), 2);
                assert_eq!(def.clauses[0].guard.len(), 1);
            }
            e => panic!("{e:?}"),
        }
        match one("fun Loop(0) -> done; Loop(N) -> Loop(N - 1) end.") {
            Expr::Fun(ref def) => assert_eq!(def.name.as_deref(), Some("Loop")),
            e => panic!("{e:?}"),
        }
        assert!(matches!(one("fun erlang:length/1."), Expr::ExternalFun(..)));
        assert!(matches!(one("fun M:F/A."), Expr::ExternalFun(..)));
        // A fun called at once, and a fun value called.
        assert!(matches!(one("(fun () -> 1 end)()."), Expr::Call(None, ref f, _) if matches!(**f, Expr::Fun(_))));
        assert!(matches!(one("F(1, 2)."), Expr::Call(None, ref f, ref a) if matches!(**f, Expr::Var(_)) && a.len() == 2));
        assert_eq!(parse_script("fun L() -> 1; M() -> 2 end.").unwrap_err().to_string(), "1:15: head mismatch");
        assert_eq!(parse_script("fun (X) -> X; () -> 1 end.").unwrap_err().to_string(), "1:15: head mismatch");
        assert!(parse_script("fun foo/1.").is_err());
    }

    #[test]
    fn completeness() {
        assert!(is_complete("1 + 2."));
        assert!(!is_complete("1 + 2"));
        assert!(!is_complete("\"abc."));
        assert!(is_complete("a. b."));
    }
}
