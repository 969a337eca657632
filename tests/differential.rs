//! Differential tests: every port script in `tests/scripts/` runs under real
//! ERTS (`../shared/erlrun.escript`) and under `porthost run`, twice: with
//! the test drivers compiled against porthost's `include/erl_driver.h` and
//! against OTP's. The normalised outputs (see [`util::normalize`]) and exit
//! statuses must be equal, line for line. A third porthost run, with
//! `--isolate`, runs every driver in a worker process: its output must be
//! the same too, apart from `port_info`'s `os_pid` (the worker's, where ERTS
//! has `undefined`).
//!
//! In a script, `@DRIVERS@` stands for the directory of the test drivers
//! (`tests/drivers/*.c`) and `@BUNDLED@` for that of the bundled drivers
//! (`drivers/c/*.c`), each built for the run in question.
//!
//! ERTS's output is also kept as a golden file, `tests/scripts/NAME.erts`
//! (normalised stdout, then `exit status: N`), so that a change of the
//! reference shows up in review and the expected output can be read without
//! running ERTS. `PORTHOST_BLESS=1 cargo test differential` rewrites the
//! golden files from the live ERTS run; otherwise a live ERTS run that
//! differs from its golden file fails the test.
//!
//! Every script needs an entry in the `scripts!` list below (one `#[test]`
//! each); `every_script_is_listed` fails when a file and the list disagree.

use std::path::{Path, PathBuf};

use crate::util::{self, Header};

macro_rules! scripts {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                check_script(stringify!($name));
            }
        )*
        /// The scripts that have a test, by file stem.
        const SCRIPTS: &[&str] = &[$(stringify!($name)),*];
    };
}

scripts! {
    mem,
    port_info_closed,
    async_closed,
    async_jobs,
    busy_closed,
    caller_command_msg,
    busy_msgq,
    busy_msgq_open,
    busy_output,
    busy_port,
    busy_soft,
    call,
    close,
    command,
    command_pack,
    connect,
    control,
    ddll_errors,
    ddll_load,
    ddll_monitor,
    ddll_ports,
    ddll_unload_linked,
    echo,
    ext_close,
    ext_env_cd_args,
    ext_exit_status,
    ext_fd,
    ext_line,
    ext_opts,
    ext_packet,
    ext_spawn_errors,
    ext_stdio,
    ext_stream,
    err_call_closed,
    err_call_garbage,
    err_call_negative,
    err_call_nocall,
    err_close_twice,
    err_command_badlist,
    err_command_badopt,
    err_command_bits,
    err_command_byte,
    err_command_closed,
    err_command_force,
    err_connect_closed,
    err_control_baddata,
    err_control_badop,
    err_control_closed,
    err_control_negative,
    err_open_badarg,
    err_open_badopt,
    err_open_empty,
    err_open_enoent,
    err_open_errno,
    err_open_general,
    err_open_unknown,
    failure_atom,
    failure_badsig,
    failure_bang,
    failure_int,
    failure_kill,
    failure_normal,
    failure_output,
    failure_posix,
    failure_trap,
    lang_binary,
    lang_comprehension,
    lang_depth,
    lang_format,
    lang_format_errors,
    lang_lists,
    lang_maps,
    lang_os_time,
    lang_port_monitor,
    lang_pretty,
    lang_process_info,
    lang_proplists_string,
    lang_string,
    lang_try,
    lang_try_after,
    lang_try_of,
    lang_try_uncaught,
    lang_undef,
    open_port,
    outputv_large,
    port_info,
    ports_create,
    ports_driver_entry,
    ports_init_ack,
    ports_lock_driver,
    ports_monitor,
    ports_monitor_exit,
    ports_os_pid,
    ports_pdl,
    ports_pdl_thread,
    proc_exit_closes,
    proc_kill,
    proc_link,
    proc_link_crash,
    proc_monitor,
    proc_owner,
    queue,
    select_close,
    select_echo,
    select_level,
    select_pipe,
    select_steal,
    sys_dl,
    sys_info,
    sys_threads,
    term_bad_spec,
    term_output,
    term_port_state,
    term_send,
    term_send_timer,
    timer,
    timer_cancel,
    timer_closed,
    timer_no_callback,
    timer_reset,
    timer_set,
    timer_zero_in_start,
}

pub(crate) fn scripts_dir() -> PathBuf {
    util::repo_dir().join("tests").join("scripts")
}

#[test]
fn every_script_is_listed() {
    let mut on_disk: Vec<String> = std::fs::read_dir(scripts_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "erl"))
        .map(|p| p.file_stem().unwrap().to_str().unwrap().to_owned())
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = SCRIPTS.iter().map(|s| s.to_string()).collect();
    listed.sort();
    let missing: Vec<&String> = on_disk.iter().filter(|s| !listed.contains(s)).collect();
    let stale: Vec<&String> = listed.iter().filter(|s| !on_disk.contains(s)).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "tests/differential.rs's scripts! list and tests/scripts/*.erl disagree:\n  \
         scripts without a test: {missing:?}\n  tests without a script: {stale:?}"
    );
}

/// One run's result, ready to compare.
struct Outcome {
    /// Normalised stdout followed by an `exit status: N` line.
    text: String,
    /// stderr, shown when the comparison fails.
    stderr: String,
}

fn check_script(name: &str) {
    let source_path = scripts_dir().join(format!("{name}.erl"));
    let source = std::fs::read_to_string(&source_path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", source_path.display()));

    let erts_script = instantiate(name, "erts", &source, Header::Otp);
    let erts_out = util::erlrun_full(&erts_script);
    let erts = outcome(&erts_out.stdout, erts_out.status, erts_out.stderr.clone());

    let mut failures = Vec::new();
    check_golden(name, &erts.text, &mut failures);

    for (label, header) in [("own header", Header::Own), ("OTP header", Header::Otp)] {
        let tag = match header {
            Header::Own => "porthost_own",
            Header::Otp => "porthost_otp",
        };
        let script = instantiate(name, tag, &source, header);
        let out = util::porthost_run_full(&script, &[]);
        let got = outcome(&out.stdout, out.status, out.stderr);
        if got.text != erts.text {
            failures.push(format!(
                "porthost (drivers compiled with the {label}) differs from ERTS \
                 (- ERTS, + porthost):\n{}{}",
                util::line_diff(&erts.text, &got.text),
                stderr_note("porthost", &got.stderr),
            ));
        }
    }

    if let Some((_, why)) = NOT_ISOLATED.iter().find(|(n, _)| *n == name) {
        eprintln!("{name}: no --isolate run: {why}");
        return finish(name, failures, &erts);
    }
    let script = instantiate(name, "porthost_isolated", &source, Header::Own);
    let out = util::porthost_run_full(&script, &["--isolate"]);
    let got = outcome(&mask_os_pid(&out.stdout), out.status, out.stderr);
    let expected = outcome(&mask_os_pid(&erts_out.stdout), erts_out.status, String::new());
    if got.text != expected.text {
        failures.push(format!(
            "porthost --isolate differs from ERTS (- ERTS, + porthost):\n{}{}",
            util::line_diff(&expected.text, &got.text),
            stderr_note("porthost", &got.stderr),
        ));
    }

    finish(name, failures, &erts);
}

fn finish(name: &str, failures: Vec<String>, erts: &Outcome) {
    assert!(
        failures.is_empty(),
        "script tests/scripts/{name}.erl:\n\n{}\n(ERTS stderr: {})",
        failures.join("\n"),
        if erts.stderr.trim().is_empty() { "empty" } else { erts.stderr.trim() }
    );
}

/// Scripts whose `--isolate` run is skipped, and why. None: a driver in a
/// worker sees the parent's processes, ports and driver registry (see
/// `crate::isolate`'s docs); a script that cannot pass isolated goes here
/// with the reason.
const NOT_ISOLATED: &[(&str, &str)] = &[];

/// `{os_pid,N}` → `{os_pid,undefined}`: an isolated port reports its
/// worker's pid.
pub(crate) fn mask_os_pid(stdout: &str) -> String {
    let mut out = String::with_capacity(stdout.len());
    let mut rest = stdout;
    while let Some(i) = rest.find("{os_pid,") {
        let (head, tail) = rest.split_at(i + "{os_pid,".len());
        out.push_str(head);
        let digits = tail.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 {
            out.push_str("undefined");
        }
        rest = &tail[digits..];
    }
    out.push_str(rest);
    out
}

pub(crate) fn outcome_text(stdout: &str, status: i32) -> String {
    outcome(stdout, status, String::new()).text
}

fn outcome(stdout: &str, status: i32, stderr: String) -> Outcome {
    let mut text = util::normalize(stdout);
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&format!("exit status: {status}\n"));
    Outcome { text, stderr }
}

fn stderr_note(who: &str, stderr: &str) -> String {
    let stderr = stderr.trim();
    if stderr.is_empty() {
        return String::new();
    }
    let lines: Vec<&str> = stderr.lines().take(20).collect();
    format!("{who} stderr:\n{}\n", lines.join("\n"))
}

/// Writes the script with its placeholders filled in for one run:
/// `<tmp>/scripts/<tag>/<name>.erl`.
pub(crate) fn instantiate(name: &str, tag: &str, source: &str, header: Header) -> PathBuf {
    let drivers = erlang_string_path(util::drivers_dir(header));
    let bundled = erlang_string_path(util::bundled_dir(header));
    let text = source.replace("@DRIVERS@", &drivers).replace("@BUNDLED@", &bundled);
    let dir = util::tmp_dir().join("scripts").join(tag);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.erl"));
    std::fs::write(&path, text).unwrap();
    path
}

/// A path as it may appear inside an Erlang string literal in a script.
fn erlang_string_path(path: &Path) -> String {
    let s = path.to_str().expect("the build directory's path is UTF-8");
    assert!(
        !s.contains(['"', '\\', '~', '\n']),
        "{s}: the build directory's path cannot go into a script's string literal"
    );
    s.to_owned()
}

/// Compares ERTS's live output with `tests/scripts/NAME.erts`, or rewrites
/// that file when `PORTHOST_BLESS` is set.
fn check_golden(name: &str, erts: &str, failures: &mut Vec<String>) {
    let golden = scripts_dir().join(format!("{name}.erts"));
    if std::env::var_os("PORTHOST_BLESS").is_some() {
        std::fs::write(&golden, erts).unwrap();
        return;
    }
    match std::fs::read_to_string(&golden) {
        Ok(expected) if expected == erts => {}
        Ok(expected) => failures.push(format!(
            "ERTS's output differs from {} (- golden, + ERTS now); if ERTS is \
             right, rerun with PORTHOST_BLESS=1:\n{}",
            golden.display(),
            util::line_diff(&expected, erts)
        )),
        Err(_) => failures.push(format!(
            "{} is missing: run `PORTHOST_BLESS=1 cargo test differential` to write it",
            golden.display()
        )),
    }
}
