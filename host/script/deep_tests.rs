//! Scripts whose nesting or recursion depth would overflow a thread's
//! stack if the parser or the evaluator recursed on it unchecked. Each
//! runs on a thread with Rust's default 2 MiB stack (smaller than the main
//! thread's 8 MiB), where each of these crashed the process before.

use super::erts_tests::run_lines;

fn on_small_stack(src: String) -> Vec<String> {
    std::thread::Builder::new().stack_size(2 << 20).spawn(move || run_lines(&src)).unwrap().join().unwrap()
}

#[test]
fn a_list_literal_nested_3000_deep_parses_evaluates_and_prints() {
    let src = format!("X = {}{}.\nlength(X).\n", "[".repeat(3000), "]".repeat(3000));
    let lines = on_small_stack(src);
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0], format!("{}{}", "[".repeat(3000), "]".repeat(3000)));
    assert_eq!(lines[1], "1");
}

#[test]
fn twenty_thousand_parentheses_parse() {
    let src = format!("{}1{} + 1.\n", "(".repeat(20_000), ")".repeat(20_000));
    assert_eq!(on_small_stack(src), ["2"]);
}

#[test]
fn a_chain_of_30000_operators_parses_evaluates_and_drops() {
    let sum = format!("1{}.\n", " + 1".repeat(30_000));
    assert_eq!(on_small_stack(sum), ["30001"]);
    let matches = format!("{} = 7.\n", vec!["X"; 30_000].join(" = "));
    assert_eq!(on_small_stack(matches), ["7"]);
    let minus = format!("{}1.\n", "- ".repeat(30_001));
    assert_eq!(on_small_stack(minus), ["-1"]);
    let append = format!("length({}).\n", vec!["[1]"; 3_000].join(" ++ "));
    assert_eq!(on_small_stack(append), ["3000"]);
}

/// ERTS runs body recursion as deep as its heap grows.
#[test]
fn a_non_tail_recursion_20000_deep_returns() {
    let src = "F = fun G(0) -> 0; G(N) -> 1 + G(N - 1) end.\nF(20000).\n".to_string();
    assert_eq!(on_small_stack(src)[1], "20000");
    let build = "L = fun G(0) -> []; G(N) -> [G(N - 1)] end.\nlength(L(20000)).\n".to_string();
    assert_eq!(on_small_stack(build)[1], "1");
}

#[test]
fn deep_patterns_match() {
    let deep = format!("{}X{}", "{".repeat(5000), "}".repeat(5000));
    let value = format!("{}7{}", "{".repeat(5000), "}".repeat(5000));
    let src = format!("{deep} = {value}.\nX.\n");
    assert_eq!(on_small_stack(src)[1], "7");
}

/// A term 300,000 lists deep: decoded, compared, printed, encoded,
/// copied into bindings and dropped.
#[test]
fn a_300000_deep_term_from_binary_to_term() {
    let src = "N = 300000.\n\
               B = <<131, (binary:copy(<<108,0,0,0,1>>, N))/binary, (binary:copy(<<106>>, N + 1))/binary>>.\n\
               D = binary_to_term(B).\n\
               term_to_binary(D) =:= B.\n\
               D < [D].\n\
               iolist_size(D).\n"
        .to_string();
    let lines = on_small_stack(src);
    assert_eq!(lines[3..], ["true", "true", "0"]);
}
