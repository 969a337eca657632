//! `porthost shell`: an interactive read-eval-print loop over the script
//! language, in the manner of `erl`.
//!
//! The prompt is `N> `, where `N` counts evaluated expressions; input is
//! read line by line until it ends with a terminating dot; each form's value
//! prints with `~p`, as `erl` prints it. An exception prints as `erl`
//! words it (`** exception error: bad argument`, see [`describe`]),
//! followed by porthost's explanation when a BIF gave one, and keeps the
//! bindings made before it. Shell commands: `f()` forgets all bindings,
//! `f(X)` forgets `X`, `b()` lists the bindings, `v(N)` repeats the value
//! of query `N`, `h()` lists the queries, `help()` lists the commands,
//! `q()` quits, as does Ctrl-D; Ctrl-C discards the current input.

use std::io::Write;

use rustyline::error::ReadlineError;

use super::parse::{is_complete, parse_script, Expr, Form};
use super::{Exception, Runtime, Session};
use crate::term::Term;

const HELP: &str = "\
porthost shell commands:
b()        -- display all variable bindings
f()        -- forget all variable bindings
f(X)       -- forget the binding of variable X
h()        -- history
help()     -- this text
q()        -- quit the shell
v(N)       -- the value of query N (v(-1): the previous one)
flush()    -- print the messages waiting in the mailbox";

enum Command {
    ForgetAll,
    Forget(String),
    ShowBindings,
    Quit,
    Value(i64),
    History,
    Help,
}

/// Recognises the shell's own commands (`f()`, `f(X)`, `b()`, `q()`).
fn command(form: &Form) -> Option<Command> {
    if form.exprs.len() != 1 {
        return None;
    }
    match &form.exprs[0] {
        Expr::Call(None, f, args) => match (&**f, args.as_slice()) {
            (Expr::Lit(Term::Atom(a)), []) if a.name() == "f" => Some(Command::ForgetAll),
            (Expr::Lit(Term::Atom(a)), [Expr::Var(v)]) if a.name() == "f" => Some(Command::Forget(v.clone())),
            (Expr::Lit(Term::Atom(a)), []) if a.name() == "b" => Some(Command::ShowBindings),
            (Expr::Lit(Term::Atom(a)), []) if a.name() == "q" => Some(Command::Quit),
            (Expr::Lit(Term::Atom(a)), [Expr::Lit(Term::Int(n))]) if a.name() == "v" => Some(Command::Value(*n)),
            (Expr::Lit(Term::Atom(a)), [Expr::Unary(super::parse::UnOp::Minus, n)]) if a.name() == "v" => match &**n {
                Expr::Lit(Term::Int(n)) => Some(Command::Value(-n)),
                _ => None,
            },
            (Expr::Lit(Term::Atom(a)), []) if a.name() == "h" => Some(Command::History),
            (Expr::Lit(Term::Atom(a)), []) if a.name() == "help" => Some(Command::Help),
            _ => None,
        },
        _ => None,
    }
}

/// Prints an exception as `erl` does (`** exception error: bad
/// argument`), then porthost's explanation of it, if a BIF gave one.
fn report(e: &Exception, why: Option<String>) {
    println!("{}", describe(e, why.as_deref()));
    if let Some(why) = why {
        if !why.starts_with("undefined function") {
            println!("     porthost: {why}");
        }
    }
}

fn count(n: usize) -> String {
    match n {
        0 => "no arguments".into(),
        1 => "one argument".into(),
        2 => "two arguments".into(),
        3 => "three arguments".into(),
        n => format!("{n} arguments"),
    }
}

/// The words `erl`'s shell (`erl_error:format_exception`) uses for an
/// exception, without the stack lines porthost does not have.
pub fn describe(e: &Exception, why: Option<&str>) -> String {
    let head = format!("** exception {}: ", e.class.name());
    let p = |t: &Term, prefix: &str| crate::term::pretty::pretty(t, head.len() + prefix.len() + 1, 80, false);
    if e.class.name() != "error" {
        return format!("{head}{}", p(&e.reason, ""));
    }
    let r = &e.reason;
    let tagged = |tag: &str| match r {
        Term::Tuple(t) if t.len() == 2 && t[0].is_atom(tag) => Some(&t[1]),
        _ => None,
    };
    let text = match r {
        Term::Atom(a) => match a.name() {
            "badarg" => "bad argument".to_string(),
            "badarith" => "an error occurred when evaluating an arithmetic expression".into(),
            "function_clause" => "no function clause matching".into(),
            "if_clause" => "no true branch found when evaluating an if expression".into(),
            "undef" => match why {
                Some(w) if w.starts_with("undefined function") => w.to_string(),
                _ => "undefined function".into(),
            },
            "system_limit" => "a system limit has been reached".into(),
            "timeout_value" => "bad receive timeout value".into(),
            _ => p(r, ""),
        },
        _ => {
            let words = [
                ("badmatch", "no match of right hand side value "),
                ("case_clause", "no case clause matching "),
                ("try_clause", "no try clause matching "),
                ("badkey", "bad key: "),
                ("badmap", "bad map: "),
                ("badfun", "bad function "),
                ("bad_generator", "bad generator "),
                ("bad_filter", "bad filter "),
            ];
            match words.iter().find_map(|(tag, w)| tagged(tag).map(|v| (w, v))) {
                Some((w, v)) => format!("{w}{}", p(v, w)),
                None => match (tagged("unbound"), tagged("badarity"), r) {
                    (Some(v), _, _) => format!("variable '{}' is unbound", v.as_atom().map(|a| a.name()).unwrap_or("?")),
                    (_, Some(Term::Tuple(fa)), _) if fa.len() == 2 => match (&fa[0], &fa[1]) {
                        (Term::Fun(f), Term::List(args)) => {
                            format!("interpreted function with arity {} called with {}", f.arity(), count(args.len()))
                        }
                        _ => p(r, ""),
                    },
                    (_, _, Term::Tuple(t)) if t.len() == 3 && t[0].is_atom("undef") => match (&t[1], &t[2]) {
                        (Term::Atom(f), Term::Int(a)) => format!("undefined shell command {}/{a}", crate::term::fmt::quote_atom(f.name())),
                        _ => p(r, ""),
                    },
                    _ => p(r, ""),
                },
            }
        }
    };
    format!("{head}{text}")
}

/// Runs the interactive shell on `rt` until `q()` or end of input.
///
/// # Errors
/// Terminal errors from the line editor.
pub fn shell(rt: &mut dyn Runtime) -> anyhow::Result<()> {
    let mut ed = rustyline::DefaultEditor::new()?;
    let mut session = Session::new();
    let mut n = 1usize;
    let mut values: Vec<(usize, Term)> = Vec::new();
    let mut history: Vec<(usize, String)> = Vec::new();
    println!("porthost shell: Erlang expressions ending with '.'; q(). or Ctrl-D quits");
    'input: loop {
        let mut buf = String::new();
        loop {
            match ed.readline(&format!("{n}> ")) {
                Ok(line) => {
                    buf.push_str(&line);
                    buf.push('\n');
                    if is_complete(&buf) {
                        break;
                    }
                }
                Err(ReadlineError::Interrupted) => continue 'input,
                Err(ReadlineError::Eof) => break 'input,
                Err(e) => return Err(e.into()),
            }
        }
        let _ = ed.add_history_entry(buf.trim_end());
        let forms = match parse_script(&buf) {
            Ok(forms) => forms,
            Err(e) => {
                println!("* {e}");
                continue;
            }
        };
        for form in &forms {
            history.push((n, buf.trim_end().to_string()));
            match command(form) {
                Some(Command::ForgetAll) => {
                    session.forget_all();
                    println!("ok");
                }
                Some(Command::Forget(v)) => {
                    session.forget(&v);
                    println!("ok");
                }
                Some(Command::ShowBindings) => {
                    for (name, value) in session.bindings() {
                        println!("{name} = {}", crate::term::pretty::pretty(value, name.len() + 4, 80, false));
                    }
                    println!("ok");
                }
                Some(Command::Quit) => break 'input,
                Some(Command::Value(k)) => {
                    // v(N): the value of query N; v(-K): K queries back.
                    let want = if k > 0 { k } else { n as i64 + k };
                    match values.iter().find(|(i, _)| *i as i64 == want) {
                        Some((_, v)) => {
                            println!("{}", super::pretty_value(v));
                            values.push((n, v.clone()));
                        }
                        None => println!("** exception error: no value for query {want}"),
                    }
                }
                Some(Command::History) => {
                    for (i, text) in &history[..history.len() - 1] {
                        println!("{i}: {text}");
                    }
                    println!("ok");
                }
                Some(Command::Help) => {
                    println!("{HELP}");
                    println!("ok");
                }
                None => {
                    // An explanation belongs to the expression that caused it.
                    let _ = rt.take_explanation();
                    if let Err(e) = rt.check_signals() {
                        report(&e, rt.take_explanation());
                    }
                    let mut out = std::io::stdout();
                    match session.eval_form(form, rt, &mut out) {
                        Ok(v) => {
                            println!("{}", super::pretty_value(&v));
                            values.push((n, v));
                        }
                        Err(e) => report(&e, rt.take_explanation()),
                    }
                    let _ = out.flush();
                }
            }
            n += 1;
        }
    }
    Ok(())
}
