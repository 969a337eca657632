//! Loading drivers: erl_ddll's errors and reference counts, through the
//! Rust API.
use porthost::Unloaded;
use porthost::{DdllError, Host, HostConfig};

use crate::util::{drivers_dir, Header};

fn host() -> Host {
    Host::new(HostConfig::default().bundled_drivers(false))
}

#[test]
fn each_bad_driver_gets_its_erl_ddll_reason_and_a_readable_error() {
    let h = host();
    let p = h.spawn_process();
    for header in [Header::Own, Header::Otp] {
        let dir = drivers_dir(header);
        let cases: [(&str, &str, &str); 7] = [
            ("no_such_drv", "{open_error,", "cannot open shared object file"),
            ("not_so_drv", "{open_error,", "not_so_drv.so"),
            ("bad_marker_drv", "driver_incorrect_version", "extended marker"),
            ("bad_major_drv", "driver_incorrect_version", "version 4"),
            ("wrong_name_drv", "bad_driver_name", "driver_name is"),
            ("init_fail_drv", "driver_init_failed", "init function failed"),
            ("no_init_drv", "no_driver_init", "no driver_init"),
        ];
        for (name, reason, text) in cases {
            let e = p.ddll_load(dir, name, true).unwrap_err();
            assert!(e.reason().to_string().starts_with(reason), "{name}: {}", e.reason());
            assert!(e.to_string().contains(text), "{name}: {e}");
        }
    }
}

#[test]
fn reference_counts_follow_erl_ddll() {
    let h = host();
    let a = h.spawn_process();
    let b = h.spawn_process();
    let dir = drivers_dir(Header::Own);
    a.ddll_load(dir, "probe_drv", false).unwrap();
    a.ddll_load(dir, "probe_drv", false).unwrap();
    b.ddll_load(dir, "probe_drv", false).unwrap();
    assert!(matches!(b.ddll_load(dir, "probe_drv", true), Err(DdllError::Inconsistent)));
    let info = h.driver_info("probe_drv").unwrap();
    assert_eq!(info.processes, vec![(a.pid(), 2), (b.pid(), 1)]);
    assert_eq!(a.ddll_unload("probe_drv").unwrap(), Unloaded::PendingProcess);
    assert_eq!(b.ddll_unload("probe_drv").unwrap(), Unloaded::PendingProcess);
    let port = a.open_port_driver("probe_drv", &[]).unwrap();
    assert_eq!(a.ddll_unload("probe_drv").unwrap(), Unloaded::PendingDriver);
    assert!(h.loaded_drivers().contains(&"probe_drv".to_string()));
    a.port_close(port).unwrap();
    assert!(!h.loaded_drivers().contains(&"probe_drv".to_string()), "unloaded with its last port");
    assert!(matches!(a.ddll_unload("probe_drv"), Err(DdllError::NotLoaded)));
}

#[test]
fn a_dying_process_releases_its_driver_references() {
    let h = host();
    let dir = drivers_dir(Header::Otp);
    let a = h.spawn_process();
    a.ddll_load(dir, "probe_drv", true).unwrap();
    drop(a);
    assert!(h.loaded_drivers().is_empty());
}

#[test]
fn unloading_closes_the_library_so_a_new_load_starts_fresh() {
    // probe_drv numbers its ports in a static counter: after the last
    // unload the library is dlclose'd (as ERTS does), so the next load
    // starts counting from 1 again.
    let h = host();
    let p = h.spawn_process();
    let dir = drivers_dir(Header::Own);
    let first_start = |p: &porthost::Process| {
        let port = p.open_port_driver("probe_drv", &[]).unwrap();
        let log = p.port_control(port, 'K' as u32, &porthost::Term::nil()).unwrap();
        p.port_close(port).unwrap();
        String::from_utf8(log.iolist_to_bytes().unwrap()).unwrap()
    };
    p.ddll_load(dir, "probe_drv", false).unwrap();
    assert_eq!(first_start(&p), "start(1)");
    assert_eq!(first_start(&p), "stop(1) start(2)");
    p.ddll_unload("probe_drv").unwrap();
    p.ddll_load(dir, "probe_drv", false).unwrap();
    assert_eq!(first_start(&p), "start(1)");
}
