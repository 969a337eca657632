//! The conformance suite: cases taken from ERTS's own test suites
//! (`driver_SUITE`, `ddll_SUITE`, `port_SUITE` in erts/emulator/test) and
//! real open-source drivers, each run under real ERTS, porthost in-process
//! and porthost `--isolate`. See `docs/conformance.md` for the list.
//!
//! A case is `tests/conformance/NAME.erl`, a port script whose first
//! comment lines say what it covers (`% ERTS: suite:case, ...` or
//! `% Real driver: ...`), with our own C drivers in
//! `tests/conformance/drivers/` (facts from ERTS's test drivers, not their
//! code), and ERTS's output in `NAME.erts`. In a script:
//! - `@DRIVERS@` is the directory of `tests/conformance/drivers/*.c`,
//!   `@TDRIVERS@` that of `tests/drivers/*.c`, `@BUNDLED@` that of
//!   `drivers/c/*.c`, each built for the run in question (ERTS: OTP's
//!   header; porthost in-process: both headers, one run each; isolated:
//!   porthost's header);
//! - `@PRIV:app@` is the directory that holds `app`'s prebuilt shared
//!   objects under OTP's `lib/` (`app-VSN/priv/lib`, else `app-VSN/priv`):
//!   real drivers are loaded from there, unmodified;
//! - `@TMP@` is an empty scratch directory of its own for each run.
//!
//! `PORTHOST_BLESS=1 cargo test --test tests conformance` rewrites the
//! golden files from ERTS, after running ERTS three times and checking that
//! the three outputs agree (a case must be deterministic), and rewrites
//! `docs/conformance.md`. `PORTHOST_CONFORMANCE=a,b` runs only the named
//! cases.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use crate::util::{self, Header};

fn cases_dir() -> PathBuf {
    util::repo_dir().join("tests").join("conformance")
}

fn doc_path() -> PathBuf {
    util::repo_dir().join("docs").join("conformance.md")
}

fn blessing() -> bool {
    std::env::var_os("PORTHOST_BLESS").is_some()
}

/// The conformance drivers built against `header`, once per test run.
fn conf_drivers(header: Header) -> &'static Path {
    static OWN: OnceLock<PathBuf> = OnceLock::new();
    static OTP: OnceLock<PathBuf> = OnceLock::new();
    let (cell, tag) = match header {
        Header::Own => (&OWN, "own"),
        Header::Otp => (&OTP, "otp"),
    };
    cell.get_or_init(|| {
        let out = util::tmp_dir().join("conformance").join("drivers").join(tag);
        util::build_drivers_from(&cases_dir().join("drivers"), &out, header);
        out
    })
}

/// One case: its name and what it covers (the `% ERTS:` / `% Real driver:`
/// lines at its top).
struct Case {
    name: String,
    source: String,
    covers: String,
}

fn all_cases() -> Vec<Case> {
    let mut names: Vec<String> = std::fs::read_dir(cases_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "erl"))
        .map(|p| p.file_stem().unwrap().to_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let path = cases_dir().join(format!("{name}.erl"));
            let source = std::fs::read_to_string(&path).unwrap();
            let covers = source
                .lines()
                .take_while(|l| l.starts_with('%'))
                .filter_map(|l| {
                    let l = l.trim_start_matches('%').trim();
                    l.strip_prefix("ERTS:").or_else(|| l.strip_prefix("Real driver:").map(|_| l))
                })
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(", ");
            assert!(!covers.is_empty(), "{}: no `% ERTS:` or `% Real driver:` line at its top", path.display());
            Case { name, source, covers }
        })
        .collect()
}

/// The directory of an OTP application's (or an installed Erlang
/// library's) prebuilt shared objects.
fn priv_dir(app: &str) -> String {
    let lib = util::otp_root().join("lib");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&lib)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                n.strip_prefix(app).is_some_and(|rest| rest.starts_with('-'))
            })
        })
        .collect();
    found.sort();
    let dir = found.pop().unwrap_or_else(|| {
        panic!("{app} is not installed under {}: see .ci/run for the packages the conformance suite needs", lib.display())
    });
    let with_lib = dir.join("priv").join("lib");
    let priv_dir = if with_lib.is_dir() { with_lib } else { dir.join("priv") };
    priv_dir.to_str().unwrap().to_owned()
}

/// Writes the case's script with its placeholders filled in for one run.
fn instantiate(case: &Case, tag: &str, header: Header) -> PathBuf {
    let dir = util::tmp_dir().join("conformance").join(tag);
    let scratch = dir.join(format!("{}.tmp", case.name));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).unwrap();
    let path_str = |p: &Path| p.to_str().unwrap().to_owned();
    let mut text = case
        .source
        .replace("@DRIVERS@", &path_str(conf_drivers(header)))
        .replace("@TDRIVERS@", &path_str(util::drivers_dir(header)))
        .replace("@BUNDLED@", &path_str(util::bundled_dir(header)))
        .replace("@TMP@", &path_str(&scratch));
    while let Some(i) = text.find("@PRIV:") {
        let end = i + 6 + text[i + 6..].find('@').expect("@PRIV:app@ is closed by @");
        let app = text[i + 6..end].to_owned();
        text.replace_range(i..=end, &priv_dir(&app));
    }
    let path = dir.join(format!("{}.erl", case.name));
    std::fs::write(&path, text).unwrap();
    path
}

fn outcome(stdout: &str, status: i32) -> String {
    let mut text = util::normalize(stdout);
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&format!("exit status: {status}\n"));
    text
}

/// The result of one case under the three hosts.
struct Row {
    name: String,
    covers: String,
    erts: bool,
    inproc: bool,
    isolated: bool,
    failures: Vec<String>,
    /// Wall time of the case's runs, in seconds.
    secs: f64,
}

fn run_case(case: &Case) -> Row {
    let started = std::time::Instant::now();
    let mut failures = Vec::new();
    let runs = if blessing() { 3 } else { 1 };
    let mut erts_runs = Vec::new();
    for _ in 0..runs {
        // Anew each time: a fresh @TMP@ for every run.
        let script = instantiate(case, "erts", Header::Otp);
        let out = util::erlrun_full(&script);
        erts_runs.push((outcome(&out.stdout, out.status), out));
    }
    let (erts, erts_out) = erts_runs.swap_remove(0);
    let mut erts_ok = true;
    for (other, _) in &erts_runs {
        if *other != erts {
            erts_ok = false;
            failures.push(format!(
                "ERTS is not deterministic on this case (- first run, + a later run):\n{}",
                util::line_diff(&erts, other)
            ));
        }
    }
    let golden = cases_dir().join(format!("{}.erts", case.name));
    if blessing() {
        if erts_ok {
            std::fs::write(&golden, &erts).unwrap();
        }
    } else {
        match std::fs::read_to_string(&golden) {
            Ok(expected) if expected == erts => {}
            Ok(expected) => {
                erts_ok = false;
                failures.push(format!(
                    "ERTS's output differs from {} (- golden, + ERTS now); if ERTS is right, \
                     rerun with PORTHOST_BLESS=1:\n{}",
                    golden.display(),
                    util::line_diff(&expected, &erts)
                ));
            }
            Err(_) => {
                erts_ok = false;
                failures.push(format!("{} is missing: run with PORTHOST_BLESS=1", golden.display()));
            }
        }
    }

    let mut inproc = true;
    for (header, tag) in [(Header::Otp, "inproc_otp"), (Header::Own, "inproc_own")] {
        let script = instantiate(case, tag, header);
        let out = util::porthost_run_full(&script, &[]);
        let got = outcome(&out.stdout, out.status);
        if got != erts {
            inproc = false;
            failures.push(format!(
                "porthost in-process ({tag}) differs from ERTS (- ERTS, + porthost):\n{}{}",
                util::line_diff(&erts, &got),
                stderr_note(&out.stderr)
            ));
        }
    }

    let script = instantiate(case, "isolated", Header::Own);
    let out = util::porthost_run_full(&script, &["--isolate"]);
    let got = outcome(&crate::differential::mask_os_pid(&out.stdout), out.status);
    let expected = outcome(&crate::differential::mask_os_pid(&erts_out.stdout), erts_out.status);
    let isolated = got == expected;
    if !isolated {
        failures.push(format!(
            "porthost --isolate differs from ERTS (- ERTS, + porthost):\n{}{}",
            util::line_diff(&expected, &got),
            stderr_note(&out.stderr)
        ));
    }
    Row {
        name: case.name.clone(),
        covers: case.covers.clone(),
        erts: erts_ok,
        inproc,
        isolated,
        failures,
        secs: started.elapsed().as_secs_f64(),
    }
}

fn stderr_note(stderr: &str) -> String {
    let stderr = stderr.trim();
    if stderr.is_empty() {
        return String::new();
    }
    let lines: Vec<&str> = stderr.lines().take(20).collect();
    format!("stderr:\n{}\n", lines.join("\n"))
}

fn mark(ok: bool) -> &'static str {
    if ok { "pass" } else { "FAIL" }
}

fn table(rows: &[Row]) -> String {
    let mut t = String::from("| case | covers | ERTS | in-process | isolated | s |\n|---|---|---|---|---|---:|\n");
    for r in rows {
        t.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {:.1} |\n",
            r.name,
            r.covers,
            mark(r.erts),
            mark(r.inproc),
            mark(r.isolated),
            r.secs
        ));
    }
    t
}

/// The case list for `docs/conformance.md` (what each case covers; the
/// results are the test's).
fn doc_table(cases: &[Case]) -> String {
    let mut t = String::from("| case | covers |\n|---|---|\n");
    for c in cases {
        t.push_str(&format!("| `{}` | {} |\n", c.name, c.covers));
    }
    t
}

const DOC_HEAD: &str = "# Conformance suite\n\n\
Cases taken from ERTS's own test suites (`erts/emulator/test/driver_SUITE.erl`,\n\
`ddll_SUITE.erl`, `port_SUITE.erl`; facts, not code: the drivers and scripts\n\
are our own) and real open-source drivers loaded unmodified, each run under\n\
Erlang/OTP 25's ERTS, porthost in-process (drivers built with OTP's header and\n\
with porthost's) and porthost `--isolate`. The expected output is ERTS's,\n\
recorded in `tests/conformance/NAME.erts`; `tests/conformance.rs` runs the\n\
suite, prints this table and fails on any difference.\n\
`PORTHOST_BLESS=1 cargo test --test tests conformance` re-records ERTS's\n\
output (three runs that must agree) and rewrites this file.\n\n";

#[test]
fn conformance() {
    let only: Option<Vec<String>> = std::env::var("PORTHOST_CONFORMANCE")
        .ok()
        .map(|s| s.split(',').map(|x| x.trim().to_owned()).collect());
    let every = all_cases();
    let doc = format!("{DOC_HEAD}{}", doc_table(&every));
    let cases: Vec<&Case> = every.iter().filter(|c| only.as_ref().is_none_or(|o| o.contains(&c.name))).collect();
    // Build both driver sets before the workers start.
    conf_drivers(Header::Own);
    conf_drivers(Header::Otp);
    util::drivers_dir(Header::Own);
    let next = AtomicUsize::new(0);
    let rows: Mutex<Vec<Option<Row>>> = Mutex::new((0..cases.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(case) = cases.get(i) else { break };
                let row = run_case(case);
                rows.lock().unwrap()[i] = Some(row);
            });
        }
    });
    let rows: Vec<Row> = rows.into_inner().unwrap().into_iter().map(Option::unwrap).collect();
    let summary = table(&rows);
    println!("{summary}");

    let mut failures: Vec<String> = rows
        .iter()
        .filter(|r| !r.failures.is_empty())
        .map(|r| format!("== tests/conformance/{}.erl:\n{}", r.name, r.failures.join("\n")))
        .collect();
    if blessing() {
        std::fs::write(doc_path(), &doc).unwrap();
    } else if std::fs::read_to_string(doc_path()).ok().as_deref() != Some(doc.as_str()) {
        failures.push("docs/conformance.md is stale: rerun with PORTHOST_BLESS=1".to_owned());
    }
    assert!(failures.is_empty(), "{summary}\n{}", failures.join("\n\n"));
}
