//! Hostile scripts run by the `porthost` binary: input that once took the
//! host down (stack overflow, abort on allocation, panic) must end with a
//! value or a clear error, and the process must exit by itself, never by a
//! signal. Inputs are generated here, not stored.
use std::path::PathBuf;

use crate::util::{erlrun, normalize, porthost_run, porthost_run_full, tmp_dir, RunOutput};

fn script(name: &str, text: &str) -> PathBuf {
    let dir = tmp_dir().join("hostile");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs `text` under `porthost run`; fails the test if a signal ended it.
fn run(name: &str, text: &str) -> RunOutput {
    let out = porthost_run_full(&script(name, text), &[]);
    assert!(out.status < 128, "{name}: killed by signal {} (stderr: {})", out.status - 128, out.stderr);
    out
}

/// Each value of `exprs` as the script prints it, or `{error,Reason}`
/// when it raises (under ERTS the stack trace is dropped). Each line has
/// variables of its own: bindings carry from one line to the next.
fn guarded(exprs: &[&str]) -> String {
    exprs
        .iter()
        .enumerate()
        .map(|(i, e)| format!("case catch ({e}) of {{'EXIT', {{R{i}, _}}}} -> {{error, R{i}}}; V{i} -> V{i} end.\n"))
        .collect()
}

#[test]
fn deep_nesting_and_recursion_do_not_overflow_the_stack() {
    let cases: Vec<(&str, String, String)> = vec![
        (
            "list_3000.erl",
            format!("X = {}{}.\nlength(X).\n", "[".repeat(3000), "]".repeat(3000)),
            format!("{}{}\n1\n", "[".repeat(3000), "]".repeat(3000)),
        ),
        ("parens_20000.erl", format!("{}1{}.\n", "(".repeat(20_000), ")".repeat(20_000)), "1\n".into()),
        ("ops_30000.erl", format!("1{}.\n", " + 1".repeat(30_000)), "30001\n".into()),
        (
            "recursion_20000.erl",
            "F = fun G(0) -> 0; G(N) -> 1 + G(N - 1) end.\nF(20000).\n".into(),
            "#Fun<erl_eval.19.3316493>\n20000\n".into(),
        ),
        (
            "term_200000.erl",
            "N = 200000.\n\
             B = <<131, (binary:copy(<<108,0,0,0,1>>, N))/binary, (binary:copy(<<106>>, N + 1))/binary>>.\n\
             D = binary_to_term(B), ok.\n\
             term_to_binary(D) =:= B.\n\
             D < [D].\n"
                .into(),
            "200000\nok\ntrue\ntrue\n".into(),
        ),
    ];
    for (name, text, expected) in cases {
        let out = run(name, &text);
        assert_eq!(out.status, 0, "{name}: {}", out.stderr);
        let got = if name == "term_200000.erl" {
            // Leave out the binary, 1 MB of it.
            out.stdout.lines().filter(|l| !l.starts_with("<<")).map(|l| format!("{l}\n")).collect()
        } else {
            out.stdout
        };
        assert_eq!(got, expected, "{name}");
    }
}

/// Sizes ERTS cannot allocate abort ERTS itself (`<<0:(1 bsl 40)>>`,
/// `binary:copy/2` to 3 TiB) or exhaust its memory (`lists:seq/2` over
/// the 64-bit range, `lists:duplicate/2` with 2^62); porthost refuses them
/// with `system_limit`.
#[test]
fn sizes_erts_cannot_allocate_are_system_limit() {
    for (i, expr) in [
        "<<0:(1 bsl 40)>>",
        "<<0:(1 bsl 39), 1>>",
        "binary:copy(<<1,2,3>>, 1 bsl 40)",
        "lists:seq(-(1 bsl 63), (1 bsl 63) - 1)",
        "lists:duplicate(1 bsl 62, a)",
        "1 bsl 100000000000",
    ]
    .iter()
    .enumerate()
    {
        let out = run(&format!("size_{i}.erl"), &format!("{expr}.\n"));
        assert_eq!((out.status, out.stdout.as_str()), (1, "error: {error,system_limit}\n"), "{expr}");
    }
}

/// erl_scan refuses an atom of more than 255 characters ("illegal atom").
#[test]
fn an_atom_literal_over_255_characters_is_a_scan_error() {
    let out = run("long_atom.erl", &format!("ok.\n{}.\n", "a".repeat(256)));
    assert_eq!(out.status, 1);
    assert!(out.stdout.is_empty());
    assert!(out.stderr.contains("long_atom.erl:2:1: illegal atom"), "{}", out.stderr);
    let out = run("atom_255.erl", &format!("length(atom_to_list({})).\n", "a".repeat(255)));
    assert_eq!((out.status, out.stdout.as_str()), (0, "255\n"));
}

/// Hostile terms and sizes where ERTS answers: the same answers, line for
/// line, as `erlrun.escript` prints.
#[test]
fn hostile_terms_get_the_answers_erts_gives() {
    let compressed_as = "<<131,80,0,0,1,150,120,156,203,97,96,96,72,73,97,96,76,28,197,131,7,103,1,0,48,70,78,147>>";
    let exprs = [
        // A compressed term claiming 4 GiB, a list of 2^32 elements, a
        // binary of 4 GiB, all in a few bytes.
        "binary_to_term(<<131,80,255,255,255,255,120,156,203,96,0,0,0,0>>)".to_string(),
        "binary_to_term(<<131,108,255,255,255,255,106>>)".into(),
        "binary_to_term(<<131,109,255,255,255,255,0>>)".into(),
        // A real compressed term; declared sizes that lie; `used`.
        format!("length(binary_to_term({compressed_as}))"),
        format!("binary_to_term(<<131,80,0,0,1,149,(binary:part({compressed_as}, 6, 22))/binary>>)"),
        format!("binary_to_term(<<131,80,0,0,1,151,(binary:part({compressed_as}, 6, 22))/binary>>)"),
        format!("element(2, binary_to_term(<<({compressed_as})/binary, 1, 2, 3>>, [used]))"),
        // Atoms past 255 characters.
        "list_to_atom(lists:duplicate(256, $a))".into(),
        "length(atom_to_list(list_to_atom(lists:duplicate(255, $a))))".into(),
        "binary_to_term(<<131,118,1,0,(binary:copy(<<\"a\">>, 256))/binary>>)".into(),
        "binary_to_term(<<131,100,1,0,(binary:copy(<<\"a\">>, 256))/binary>>)".into(),
        // MAP_EXT with a key twice; EXPORT_EXT with arity 256 and -1.
        "binary_to_term(<<131,116,0,0,0,2,97,1,97,2,97,1,97,3>>)".into(),
        "binary_to_term(<<131,113,100,0,1,109,100,0,1,102,98,0,0,1,0>>)".into(),
        "binary_to_term(<<131,113,100,0,1,109,100,0,1,102,98,255,255,255,255>>)".into(),
        // binary_to_term/2.
        "binary_to_term(<<131,100,0,8,\"zq_fresh\">>, [safe])".into(),
        "binary_to_term(<<131,100,0,2,\"ok\">>, [safe])".into(),
        "binary_to_term(<<131,100,0,2,\"ok\",1,2,3>>, [used])".into(),
        "binary_to_term(<<131,100,0,2,\"ok\",1,2,3>>, [safe, used])".into(),
        "binary_to_term(<<131,100,0,2,\"ok\">>, [bogus])".into(),
        "binary_to_term(<<131,100,0,2,\"ok\">>, [safe | x])".into(),
        "binary_to_term(<<131,100,0,2,\"ok\">>, [])".into(),
        // Sizes and arithmetic at the edges of 64 bits.
        "<<0:(1 bsl 64)>>".into(),
        "1 bsr (-(1 bsl 63))".into(),
        "binary_part(<<1,2,3>>, -(1 bsl 63), -5)".into(),
        "binary_part(<<1,2,3>>, 3, -(1 bsl 63))".into(),
        "lists:seq(-(1 bsl 63), (1 bsl 63) - 1, 1 bsl 62)".into(),
        "binary:copy(<<>>, 1 bsl 62)".into(),
    ];
    let text = guarded(&exprs.iter().map(String::as_str).collect::<Vec<_>>());
    let path = script("erts_answers.erl", &text);
    let (erts, erts_status) = erlrun(&path);
    let (ours, status) = porthost_run(&path, &[]);
    assert_eq!(erts_status, 0, "{erts}");
    assert_eq!(status, 0, "{ours}");
    assert_eq!(normalize(&ours), normalize(&erts));
}
