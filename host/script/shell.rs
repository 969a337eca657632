//! `porthost shell`: an interactive read-eval-print loop over the script
//! language, in the manner of `erl`.
//!
//! The prompt is `N> `, where `N` counts evaluated expressions; input is
//! read line by line until it ends with a terminating dot; each form's value
//! prints with `~w`. An exception prints as `** exception Class: Reason`
//! and keeps the bindings made before it. Shell commands: `f()` forgets all
//! bindings, `f(X)` forgets `X`, `b()` lists the bindings, `q()` quits, as
//! does Ctrl-D; Ctrl-C discards the current input.

use std::io::Write;

use rustyline::error::ReadlineError;

use super::parse::{is_complete, parse_script, Expr, Form};
use super::{Exception, Runtime, Session};
use crate::term::Term;

enum Command {
    ForgetAll,
    Forget(String),
    ShowBindings,
    Quit,
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
            _ => None,
        },
        _ => None,
    }
}

fn report(e: &Exception) {
    println!("** exception {}: {}", e.class.name(), e.reason);
}

/// Runs the interactive shell on `rt` until `q()` or end of input.
///
/// # Errors
/// Terminal errors from the line editor.
pub fn shell(rt: &mut dyn Runtime) -> anyhow::Result<()> {
    let mut ed = rustyline::DefaultEditor::new()?;
    let mut session = Session::new();
    let mut n = 1usize;
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
                        println!("{name} = {value}");
                    }
                    println!("ok");
                }
                Some(Command::Quit) => break 'input,
                None => {
                    if let Err(e) = rt.check_signals() {
                        report(&e);
                    }
                    let mut out = std::io::stdout();
                    match session.eval_form(form, rt, &mut out) {
                        Ok(v) => println!("{v}"),
                        Err(e) => report(&e),
                    }
                    let _ = out.flush();
                }
            }
            n += 1;
        }
    }
    Ok(())
}
