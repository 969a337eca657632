//! The Rust driver SDK (`drivers/rust/porthost-driver`): its example driver,
//! built here with `rustc` as a `cdylib`, runs in porthost in-process and
//! isolated, and a panic in it fails the port instead of unwinding into C.
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use porthost::{BifError, Host, HostConfig, Term};

const WAIT: Option<Duration> = Some(Duration::from_secs(10));

/// Builds the SDK and `rs_echo_drv.so` once; returns their directory.
fn driver_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("sdk");
        std::fs::create_dir_all(&out).unwrap();
        let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
        let run = |args: &[&str]| {
            let st = Command::new(&rustc).args(args).status().unwrap_or_else(|e| panic!("running {rustc}: {e}"));
            assert!(st.success(), "{rustc} {args:?} failed");
        };
        let rlib = out.join("libporthost_driver.rlib");
        run(&[
            "--edition=2021", "--crate-type=rlib", "--crate-name=porthost_driver", "-O", "-o",
            rlib.to_str().unwrap(),
            root.join("drivers/rust/porthost-driver/src/lib.rs").to_str().unwrap(),
        ]);
        run(&[
            "--edition=2021", "--crate-type=cdylib", "--crate-name=rs_echo_drv", "-O",
            "--extern", &format!("porthost_driver={}", rlib.display()),
            "-o", out.join("rs_echo_drv.so").to_str().unwrap(),
            root.join("drivers/rust/examples/rs_echo_drv.rs").to_str().unwrap(),
        ]);
        out
    })
}

fn host(isolate: bool) -> Host {
    Host::new(HostConfig::default().driver_paths(vec![driver_dir().to_path_buf()]).isolate(isolate).worker_exe(Some(env!("CARGO_BIN_EXE_porthost").into())))
}

#[test]
fn a_rust_driver_echoes_and_a_panic_fails_only_its_port() {
    for isolate in [false, true] {
        let h = host(isolate);
        let p = h.spawn_process();
        p.set_trap_exit(true).unwrap();
        let port = p.open_port_driver("rs_echo_drv", &[Term::atom("binary")]).unwrap();
        p.port_command(port, &Term::string("hi")).unwrap();
        let m = p.receive(WAIT).unwrap().unwrap();
        assert_eq!(m.to_string(), format!("{{{},{{data,<<104,105>>}}}}", Term::Port(port)));
        assert_eq!(p.port_control(port, 0, &Term::string("ok")).unwrap().to_string(), "[111,107]");
        assert!(matches!(p.port_control(port, 7, &Term::nil()), Err(BifError::Badarg { .. })));
        let refused = p.open_port_driver("rs_echo_drv refuse", &[]).unwrap_err();
        assert_eq!(refused.to_exception().1.to_string(), "badarg");

        let other = p.open_port_driver("rs_echo_drv", &[]).unwrap();
        assert!(p.port_control(port, 1, &Term::nil()).is_err());
        let m = p.receive(WAIT).unwrap().unwrap();
        assert_eq!(m.to_string(), format!("{{'EXIT',{},driver_panic}}", Term::Port(port)), "isolated: {isolate}");
        assert_eq!(p.port_control(other, 0, &Term::string("x")).unwrap().to_string(), "[120]");
    }
}
