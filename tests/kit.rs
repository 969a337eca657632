//! The driver author's kit (issue 14): an installed porthost needs nothing
//! from its build directory; a crate that depends on the library loads
//! drivers in-process with no flags; `porthost test`, `new-driver` and
//! `config`; `porthost::testing`.
//!
//! The scaffold and library-user tests build small crates outside the
//! checkout with the `cargo` running these tests, sharing this target
//! directory (and a copy of porthost's `Cargo.lock`) so that porthost's
//! dependencies are compiled once.
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::Command;

use porthost::testing::{self, TestHost};
use porthost::{HostConfig, Term};

fn porthost_exe() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_porthost"))
}

/// A fresh directory outside the checkout (the scaffolds must work where
/// no porthost source is around them): `<tmp>/porthost-kit-tests-<uid>/NAME`.
fn fresh(name: &str) -> PathBuf {
    let uid = std::fs::metadata(env!("CARGO_MANIFEST_DIR")).map(|m| std::os::unix::fs::MetadataExt::uid(&m)).unwrap_or(0);
    let d = std::env::temp_dir().join(format!("porthost-kit-tests-{uid}")).join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// This target directory (the parent of `CARGO_TARGET_TMPDIR`).
fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap().to_path_buf()
}

/// `PATH` with the directory of the porthost under test first.
fn path_with_porthost() -> std::ffi::OsString {
    let mut dirs = vec![porthost_exe().parent().unwrap().to_path_buf()];
    dirs.extend(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()));
    std::env::join_paths(dirs).unwrap()
}

fn run(mut cmd: Command, what: &str) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{what} failed ({}):\n{text}", out.status);
    text
}

/// `cargo test` in `dir`, in this target directory.
fn cargo_test(dir: &Path) -> String {
    std::fs::copy(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.arg("test")
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target_dir())
        .env("PATH", path_with_porthost())
        .env("PORTHOST_WORKER", porthost_exe());
    run(cmd, &format!("cargo test in {}", dir.display()))
}

#[test]
fn an_installed_porthost_alone_runs_the_echo_example_from_anywhere() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = fresh("installed");
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::copy(porthost_exe(), bin.join("porthost")).unwrap();
    let elsewhere = dir.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::copy(root.join("examples/echo.erl"), elsewhere.join("echo.erl")).unwrap();
    let expect = run(
        {
            let mut c = Command::new(porthost_exe());
            c.arg("run").arg(root.join("examples/echo.erl"));
            c
        },
        "porthost run in the checkout",
    );
    for isolate in [false, true] {
        let mut c = Command::new(bin.join("porthost"));
        if isolate {
            c.arg("--isolate");
        }
        // A fresh cache: the kit directory is written out from the binary.
        c.arg("run").arg("echo.erl").current_dir(&elsewhere).env("XDG_CACHE_HOME", dir.join("cache")).env_remove("PORTHOST_WORKER");
        assert_eq!(run(c, "the copied porthost"), expect, "isolate: {isolate}");
    }
    let drivers: Vec<PathBuf> = std::fs::read_dir(dir.join("cache/porthost")).unwrap().map(|e| e.unwrap().path().join("drivers/echo_drv.so")).collect();
    assert!(drivers.iter().all(|d| d.is_file()), "{drivers:?}");
}

#[test]
fn a_crate_that_depends_on_porthost_loads_drivers_in_process_with_no_flags() {
    let dir = fresh("library_user");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::create_dir_all(dir.join("tests")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"kit_library_user\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
             [dependencies]\nporthost = {{ path = {:?} }}\n\n[workspace]\n",
            env!("CARGO_MANIFEST_DIR")
        ),
    )
    .unwrap();
    std::fs::write(dir.join("src/lib.rs"), "").unwrap();
    std::fs::write(
        dir.join("tests/load.rs"),
        r#"
use porthost::{Host, HostConfig, Term};
fn echo(isolate: bool) {
    let host = Host::new(HostConfig::default().isolate(isolate));
    let p = host.spawn_process();
    let port = p.open_port_driver("echo_drv", &[Term::atom("binary")]).unwrap();
    p.port_command(port, &Term::string("hi")).unwrap();
    let m = p.receive(Some(std::time::Duration::from_secs(10))).unwrap().unwrap();
    assert_eq!(m.to_string(), format!("{{{},{{data,<<104,105>>}}}}", Term::Port(port)));
}
#[test]
fn echo_drv_in_process() {
    // This test binary is linked without --export-dynamic: echo_drv finds
    // driver_output & co. in porthost's API shim.
    echo(false);
}
#[test]
fn echo_drv_isolated() {
    echo(true);
}
"#,
    )
    .unwrap();
    let out = cargo_test(&dir);
    assert!(out.contains("2 passed"), "{out}");
}

/// A suite of two scripts on the bundled echo driver.
fn echo_suite(name: &str) -> PathBuf {
    let dir = fresh(name);
    std::fs::copy(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/echo.erl"), dir.join("echo.erl")).unwrap();
    std::fs::write(
        dir.join("control.erl"),
        "P = open_port({spawn_driver, \"echo_drv\"}, []).\nport_control(P, 0, \"abc\").\nport_close(P).\n",
    )
    .unwrap();
    dir
}

fn porthost_test(args: &[&str], dir: &Path) -> (String, i32) {
    let out = Command::new(porthost_exe()).arg("test").args(args).arg(dir).output().unwrap();
    (String::from_utf8_lossy(&out.stdout).into_owned(), out.status.code().unwrap_or(-1))
}

#[test]
fn porthost_test_blesses_passes_and_reports_a_failure_with_a_diff() {
    let dir = echo_suite("suite");
    let (out, code) = porthost_test(&[], &dir);
    assert_eq!(code, 1, "no expected outputs yet: {out}");
    assert!(out.contains("no ") && out.contains("--bless"), "{out}");

    let (out, code) = porthost_test(&["--bless"], &dir);
    assert_eq!(code, 0, "{out}");
    let blessed = std::fs::read_to_string(dir.join("control.out")).unwrap();
    assert!(blessed.starts_with("#Port<0.") && blessed.ends_with(">\n[97,98,99]\ntrue\n"), "{blessed}");

    for args in [&[][..], &["--isolate"]] {
        let (out, code) = porthost_test(args, &dir);
        assert_eq!(code, 0, "{args:?}: {out}");
        assert!(out.contains("2 script(s): 2 passed, 0 failed"), "{out}");
    }

    std::fs::write(dir.join("control.out"), "#Port<0.99>\n[97,98,100]\ntrue\n").unwrap();
    let (out, code) = porthost_test(&[], &dir);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL  control.erl"), "{out}");
    assert!(out.contains("- [97,98,100]") && out.contains("+ [97,98,99]"), "a line diff: {out}");
    assert!(out.contains("ok    echo.erl") && out.contains("1 passed, 1 failed"), "{out}");
}

#[test]
fn porthost_test_against_erts_agrees_on_the_echo_example() {
    if Command::new("escript").arg("-h").output().is_err() {
        eprintln!("no escript: skipped");
        return;
    }
    let dir = echo_suite("suite_erts");
    assert_eq!(porthost_test(&["--bless"], &dir).1, 0);
    let (out, code) = porthost_test(&["--against-erts"], &dir);
    assert_eq!(code, 0, "{out}");
    // A script ERTS answers differently: porthost's own BIF.
    std::fs::write(dir.join("own.erl"), "porthost:close_input(undefined).\n").unwrap();
    std::fs::write(dir.join("own.out"), "error: {error,badarg}\n").unwrap();
    let (out, code) = porthost_test(&["--against-erts"], &dir);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("porthost and ERTS differ"), "{out}");
}

#[test]
fn new_driver_c_builds_and_passes_its_own_tests() {
    let dir = fresh("c_scaffold");
    let proj = dir.join("kit_c_drv");
    run(
        {
            let mut c = Command::new(porthost_exe());
            c.args(["new-driver", "kit_c_drv", "--lang", "c"]).arg(&proj);
            c
        },
        "porthost new-driver --lang c",
    );
    let mut make = Command::new("make");
    make.arg("test").current_dir(&proj).env("PATH", path_with_porthost());
    let out = run(make, "make test");
    assert_eq!(out.matches("1 passed, 0 failed").count(), 2, "in-process and isolated: {out}");
    if Command::new("escript").arg("-h").output().is_ok() {
        let mut make = Command::new("make");
        make.arg("erts-test").current_dir(&proj).env("PATH", path_with_porthost());
        let out = run(make, "make erts-test");
        assert!(out.contains("1 passed, 0 failed"), "under ERTS too: {out}");
    }
    let readme = std::fs::read_to_string(proj.join("README.md")).unwrap();
    assert!(readme.contains("ERTS") && readme.contains("erl_ddll:load_driver"), "{readme}");
}

#[test]
fn new_driver_rust_passes_its_own_tests_in_process_and_isolated() {
    let dir = fresh("rust_scaffold");
    let proj = dir.join("kit_rs_drv");
    run(
        {
            let mut c = Command::new(porthost_exe());
            c.args(["new-driver", "kit_rs_drv", "--lang", "rust"]).arg(&proj);
            c
        },
        "porthost new-driver --lang rust",
    );
    let out = cargo_test(&proj);
    for t in ["echoes_in_process ... ok", "echoes_isolated ... ok", "script_gives_expected_output ... ok"] {
        assert!(out.contains(t), "{t}: {out}");
    }
    // The README's way to run the same scripts under ERTS.
    if Command::new("escript").arg("-h").output().is_ok() {
        let mut c = Command::new(porthost_exe());
        c.arg("--driver-path").arg(target_dir().join("debug")).args(["test", "--against-erts"]).arg(proj.join("tests"));
        let out = run(c, "porthost test --against-erts on the Rust driver");
        assert!(out.contains("1 passed, 0 failed"), "{out}");
    }
    let readme = std::fs::read_to_string(proj.join("README.md")).unwrap();
    assert!(readme.contains("ERTS") && readme.contains("crates.io"), "{readme}");
}

#[test]
fn new_driver_refuses_a_bad_name_and_a_full_directory() {
    let dir = fresh("scaffold_refusals");
    let out = Command::new(porthost_exe()).args(["new-driver", "Bad-Name"]).current_dir(&dir).output().unwrap();
    assert!(!out.status.success());
    std::fs::write(dir.join("file"), "x").unwrap();
    let out = Command::new(porthost_exe()).args(["new-driver", "ok_name"]).arg(&dir).output().unwrap();
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("not empty"));
}

#[test]
fn config_prints_an_include_dir_with_the_headers_and_a_pkg_config_file() {
    let out = run(
        {
            let mut c = Command::new(porthost_exe());
            c.args(["config", "--include-dir"]);
            c
        },
        "config --include-dir",
    );
    let inc = PathBuf::from(out.trim());
    assert!(inc.join("erl_driver.h").is_file() && inc.join("erl_drv_nif.h").is_file(), "{}", inc.display());
    let out = run(
        {
            let mut c = Command::new(porthost_exe());
            c.args(["config", "--cflags"]);
            c
        },
        "config --cflags",
    );
    assert_eq!(out.trim(), format!("-I{}", inc.display()));
    let pc = run(
        {
            let mut c = Command::new(porthost_exe());
            c.args(["config", "--pkg-config"]);
            c
        },
        "config --pkg-config",
    );
    assert!(pc.contains(&format!("includedir={}", inc.display())) && pc.contains("Cflags: -I${includedir}"), "{pc}");
    // Without the checkout (an installed porthost), the kit's copy.
    let dir = fresh("config_installed");
    std::fs::copy(porthost_exe(), dir.join("porthost")).unwrap();
    let mut c = Command::new(dir.join("porthost"));
    c.args(["config", "--include-dir"]).env("XDG_CACHE_HOME", dir.join("cache"));
    let inc = PathBuf::from(run(c, "config --include-dir").trim());
    assert!(inc.join("erl_driver.h").is_file(), "{}", inc.display());
}

#[test]
fn the_testing_api_prints_failures_in_erlang_notation() {
    let host = TestHost::new(HostConfig::default());
    let port = host.open("echo_drv", &["binary"]);
    port.command("ok");
    port.expect_data(b"ok");
    assert_eq!(port.control(0, "abc"), b"abc");
    port.command("no");
    let err = catch_unwind(AssertUnwindSafe(|| port.expect_data(b"ok"))).unwrap_err();
    let msg = err.downcast_ref::<String>().unwrap();
    let p = Term::Port(port.id());
    assert!(msg.contains(&format!("expected message {{{p},{{data,<<\"ok\">>}}}}")), "{msg}");
    assert!(msg.contains(&format!("got {{{p},{{data,<<\"no\">>}}}}")), "{msg}");
    port.close();
}

#[test]
fn the_testing_api_checks_a_script_against_a_file_and_blesses_by_env() {
    let dir = echo_suite("testing_api");
    std::fs::write(dir.join("control.out"), "#Port<0.7>\n[97,98,99]\ntrue\n").unwrap();
    let host = TestHost::new(HostConfig::default());
    testing::check_script(dir.join("control.erl"), dir.join("control.out"), &host);
    std::fs::write(dir.join("control.out"), "#Port<0.7>\n[97]\ntrue\n").unwrap();
    let err = catch_unwind(AssertUnwindSafe(|| testing::check_script(dir.join("control.erl"), dir.join("control.out"), &host))).unwrap_err();
    let msg = err.downcast_ref::<String>().unwrap();
    assert!(msg.contains("- [97]") && msg.contains("+ [97,98,99]"), "{msg}");
}

#[test]
fn a_cargo_named_lib_driver_loads_and_a_missing_one_gets_a_hint() {
    let dir = fresh("libname");
    std::fs::copy(porthost::kit::bundled_drivers_dir().unwrap().join("echo_drv.so"), dir.join("libecho_drv.so")).unwrap();
    for isolated in [false, true] {
        let host = TestHost::new(
            HostConfig::default().driver_paths(vec![dir.clone()]).bundled_drivers(false).isolate(isolated).worker_exe(Some(porthost_exe().into())),
        );
        let port = host.open("echo_drv", &[]);
        port.command("x");
        port.expect_data(b"x");
        let err = host.try_open("nowhere_drv", &[]).err().unwrap();
        let text = format!("{err:?} {err}");
        assert!(text.contains("libnowhere_drv.so"), "isolated {isolated}: {text}");
    }
}

#[test]
fn the_sdk_carries_the_same_bindings_as_the_host() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let sdk = std::fs::read_to_string(root.join("drivers/rust/porthost-driver/src/bindings.rs")).unwrap();
    let host = std::fs::read_to_string(root.join("host/ffi/bindings.rs")).unwrap();
    assert!(sdk == host, "copy host/ffi/bindings.rs to drivers/rust/porthost-driver/src/bindings.rs");
    let lib = std::fs::read_to_string(root.join("drivers/rust/porthost-driver/src/lib.rs")).unwrap();
    assert!(!lib.contains("include!(\"../"), "the SDK includes nothing outside its folder");
}

#[test]
fn an_isolated_drivers_crash_backtrace_names_its_functions_and_lines() {
    let dir = fresh("crash_symbols");
    let src = dir.join("kit_boom_drv.c");
    std::fs::write(
        &src,
        r#"#include <erl_driver.h>
static ErlDrvData boom_start(ErlDrvPort port, char *cmd) { return (ErlDrvData)port; }
static __attribute__((noinline)) void deep_in_the_driver(volatile int *p) { *p = 1; }
static void boom_output(ErlDrvData d, char *buf, ErlDrvSizeT len) { deep_in_the_driver((volatile int *)0); }
static ErlDrvEntry boom_entry = { .driver_name = "kit_boom_drv", .start = boom_start, .output = boom_output,
    .extended_marker = ERL_DRV_EXTENDED_MARKER, .major_version = ERL_DRV_EXTENDED_MAJOR_VERSION,
    .minor_version = ERL_DRV_EXTENDED_MINOR_VERSION };
DRIVER_INIT(kit_boom_drv) { return &boom_entry; }
"#,
    )
    .unwrap();
    let mut cc = Command::new("cc");
    cc.args(["-g", "-O0", "-shared", "-fPIC", "-o"])
        .arg(dir.join("kit_boom_drv.so"))
        .arg(format!("-I{}", Path::new(env!("CARGO_MANIFEST_DIR")).join("include").display()))
        .arg(&src);
    run(cc, "cc kit_boom_drv.c");
    let script = dir.join("boom.erl");
    std::fs::write(&script, "process_flag(trap_exit, true).\nP = open_port({spawn_driver, \"kit_boom_drv\"}, [isolated]).\nport_command(P, \"x\").\nreceive {'EXIT', P, R} -> R after 10000 -> timeout end.\n").unwrap();
    let out = Command::new(porthost_exe()).arg("--driver-path").arg(&dir).arg("run").arg(&script).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.ends_with("{driver_crashed,sigsegv}\n"), "{stdout}");
    if !Path::new("/usr/bin/addr2line").exists() && !Path::new("/bin/addr2line").exists() {
        eprintln!("no addr2line: the raw frames only");
        return;
    }
    assert!(stderr.contains("deep_in_the_driver at ") && stderr.contains("kit_boom_drv.c:3"), "{stderr}");
    assert!(stderr.contains("boom_output at "), "{stderr}");
}

/// Builds the SDK's example drivers once (`cargo build -p porthost-driver
/// --examples`); returns their directory.
fn sdk_examples() -> &'static Path {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut c = Command::new(cargo);
        c.args(["build", "-p", "porthost-driver", "--examples", "--manifest-path"])
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
            .env("CARGO_TARGET_DIR", target_dir());
        run(c, "cargo build -p porthost-driver --examples");
        target_dir().join("debug/examples")
    })
}

#[test]
fn sdk_examples_pass_their_scripts_in_porthost_isolated_and_under_erts() {
    let scripts = Path::new(env!("CARGO_MANIFEST_DIR")).join("drivers/rust/porthost-driver/examples/scripts");
    let erts = Command::new("escript").arg("-h").output().is_ok();
    let mut runs: Vec<&[&str]> = vec![&[], &["--isolate"]];
    if erts {
        runs.push(&["--against-erts"]);
    }
    for args in runs {
        let out = Command::new(porthost_exe()).arg("--driver-path").arg(sdk_examples()).arg("test").args(args).arg(&scripts).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && text.contains("3 script(s): 3 passed"), "{args:?}:\n{text}{}", String::from_utf8_lossy(&out.stderr));
    }
}

#[test]
fn a_panic_in_any_sdk_callback_fails_only_its_port() {
    for isolated in [false, true] {
        let host = TestHost::new(HostConfig::default().driver_paths(vec![sdk_examples().to_path_buf()]).isolate(isolated).worker_exe(Some(porthost_exe().into())));
        let p = host.process();
        let refused = host.try_open("rs_all_drv panic:start", &[]).err().expect("start panicked");
        assert_eq!(refused.to_exception().1.to_string(), "badarg");
        let c = |port: &testing::TestPort<'_>, op: u8, data: &str| p.port_control(port.id(), u32::from(op), &Term::string(data));
        for cb in ["outputv", "control", "call", "timeout", "ready_input", "ready_async", "async_work", "process_exit"] {
            let port = host.open(&format!("rs_all_drv panic:{cb}"), &["binary"]);
            match cb {
                "outputv" => port.command("x"),
                "control" => assert!(c(&port, b't', "").is_err()),
                "call" => assert!(port.call(0, &Term::atom("x")).is_err()),
                "timeout" => drop(c(&port, b't', "").unwrap()),
                "ready_input" => drop(c(&port, b's', "").unwrap()),
                "ready_async" | "async_work" => drop(c(&port, b'a', "abc").unwrap()),
                "process_exit" => {
                    let other = host.host().spawn_process();
                    other.port_control(port.id(), u32::from(b'm'), &Term::nil()).unwrap();
                    other.exit(Term::atom("bye"));
                }
                _ => unreachable!(),
            }
            port.expect_exit("driver_panic");
            // The host goes on: a new port works.
            let ok = host.open("rs_all_drv", &["binary"]);
            ok.command("fine");
            ok.expect_data(b"fine");
            let id = ok.id();
            ok.close();
            // port_close/1 ends the port with reason normal, as in ERTS.
            host.expect_message(&Term::Tuple(vec![Term::atom("EXIT"), Term::Port(id), Term::atom("normal")]));
        }
        // flush: port_close with a queued byte; the panic is contained.
        let port = host.open("rs_all_drv panic:flush", &["binary"]);
        c(&port, b'Q', "x").unwrap();
        let _ = p.port_close(port.id());
        let ok = host.open("rs_all_drv", &["binary"]);
        ok.command("still");
        let want = format!("{{{},{{data,<<115,116,105,108,108>>}}}}", Term::Port(ok.id()));
        // First the closed port's {'EXIT', P, normal}.
        let got: Vec<String> = (0..2).map(|_| host.receive().to_string()).collect();
        assert!(got.contains(&want), "{got:?}");
    }
}
