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

mod prop {
    use proptest::prelude::*;

    use super::super::parse_script;

    /// Erlang-ish text: fragments of the script language in any order.
    fn text() -> impl Strategy<Value = String> {
        let frag = prop_oneof![
            Just("("), Just(")"), Just("["), Just("]"), Just("{"), Just("}"), Just("<<"), Just(">>"),
            Just("#{"), Just("=>"), Just(":="), Just(","), Just("."), Just(";"), Just("|"), Just("||"),
            Just("->"), Just("<-"), Just("="), Just("+"), Just("-"), Just("*"), Just("++"), Just("!"),
            Just("fun"), Just("end"), Just("case"), Just("of"), Just("receive"), Just("after"),
            Just("when"), Just("begin"), Just("catch"), Just("X"), Just("_"), Just("a"), Just("'q'"),
            Just("1"), Just("2.5"), Just("16#ff"), Just("$a"), Just("\"s\""), Just(":"), Just("/"),
            Just(" "), Just("\n"),
        ];
        proptest::collection::vec(frag, 0..60).prop_map(|v| v.concat())
    }

    /// Expressions over the pure BIFs and operators, with values at the
    /// edges of 64 bits and of ERTS's limits.
    fn expr() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            Just("0"), Just("-1"), Just("255"), Just("256"), Just("9223372036854775807"),
            Just("-9223372036854775808"), Just("(1 bsl 64)"), Just("(1 bsl 200)"), Just("2.5"),
            Just("-0.0"), Just("1.0e308"), Just("a"), Just("[]"), Just("<<>>"), Just("<<1,2,3>>"),
            Just("\"ab\""), Just("{}"), Just("#{a => 1}"), Just("<<131,108,0,0,0,1,106,106>>"),
        ]
        .prop_map(String::from);
        leaf.prop_recursive(4, 32, 3, |inner| {
            let op = prop_oneof![
                Just("+"), Just("-"), Just("*"), Just("/"), Just("div"), Just("rem"), Just("band"),
                Just("bor"), Just("bxor"), Just("bsl"), Just("bsr"), Just("=="), Just("<"), Just("=:="),
                Just("++"), Just("--"), Just("andalso"), Just("orelse"),
            ];
            let bif = prop_oneof![
                Just("element"), Just("setelement"), Just("binary_part"), Just("binary_to_term"),
                Just("term_to_binary"), Just("iolist_to_binary"), Just("iolist_size"), Just("length"),
                Just("hd"), Just("tl"), Just("abs"), Just("float"), Just("round"), Just("list_to_atom"),
                Just("atom_to_list"), Just("integer_to_list"), Just("list_to_integer"), Just("binary_to_list"),
                Just("list_to_binary"), Just("tuple_to_list"), Just("list_to_tuple"), Just("byte_size"),
                Just("bit_size"), Just("max"), Just("min"), Just("lists:reverse"), Just("lists:flatten"),
                Just("lists:nth"), Just("lists:sublist"), Just("erlang:make_tuple"), Just("lists:sort"),
            ];
            prop_oneof![
                (inner.clone(), op, inner.clone()).prop_map(|(a, o, b)| format!("({a} {o} {b})")),
                (bif.clone(), inner.clone()).prop_map(|(f, a)| format!("(catch {f}({a}))")),
                (bif, inner.clone(), inner.clone()).prop_map(|(f, a, b)| format!("(catch {f}({a}, {b}))")),
                (bif_free_seg(), inner.clone()).prop_map(|(n, a)| format!("(catch <<({a}):({n})>>)")),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("[{a} | {b}]")),
                (inner.clone(), inner).prop_map(|(a, b)| format!("{{{a}, {b}}}")),
            ]
        })
    }

    fn bif_free_seg() -> impl Strategy<Value = &'static str> {
        prop_oneof![Just("0"), Just("1"), Just("7"), Just("64"), Just("-1"), Just("(1 bsl 64)"), Just("(1 bsl 40)")]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        /// Whatever the values, the evaluator answers with a value or an
        /// exception, never a panic or an abort.
        #[test]
        fn pure_expressions_never_panic(e in expr()) {
            let forms = parse_script(&format!("catch {e}.")).expect("generated text parses");
            let _ = super::super::Session::new().eval_pure(&forms[0]);
        }

        #[test]
        fn the_parser_never_panics(src in text()) {
            let _ = parse_script(&src);
        }

        #[test]
        fn the_parser_never_panics_on_arbitrary_text(src in "\\PC{0,80}") {
            let _ = parse_script(&src);
        }
    }
}
