//! The engine against real programs (`cat`, `sh`, `printf`, `yes`, `sleep`).

use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};

use super::*;
use crate::term::Term;

const WAIT: Duration = Duration::from_secs(10);

fn a(name: &str) -> Term {
    Term::atom(name)
}
fn t2(x: Term, y: Term) -> Term {
    Term::Tuple(vec![x, y])
}
fn s(text: &str) -> Term {
    Term::string(text)
}

struct Port {
    ext: External,
    rx: Receiver<ExternalEvent>,
}

fn open(name: Term, opts: &[Term]) -> Result<Port, BifError> {
    let spec = ExternalSpec::parse(&name, opts)?;
    let (tx, rx) = crossbeam_channel::unbounded();
    let ext = External::spawn(
        &spec,
        Box::new(move |ev| {
            let _ = tx.send(ev);
        }),
    )?;
    Ok(Port { ext, rx })
}

fn sh(cmd: &str, opts: &[Term]) -> Port {
    open(t2(a("spawn"), s(cmd)), opts).expect("spawn")
}

impl Port {
    fn next(&self) -> ExternalEvent {
        match self.rx.recv_timeout(WAIT) {
            Ok(ev) => ev,
            Err(e) => panic!("no event: {e:?}"),
        }
    }
    /// Events up to and including `Eof` (or `Failure`).
    fn until_eof(&self) -> Vec<ExternalEvent> {
        let mut out = Vec::new();
        loop {
            let ev = self.next();
            let last = matches!(ev, ExternalEvent::Eof | ExternalEvent::Failure(_));
            out.push(ev);
            if last {
                return out;
            }
        }
    }
    /// Stream data up to `Eof`, concatenated, and the events after it.
    fn all_data(&self) -> (Vec<u8>, Vec<ExternalEvent>) {
        let mut data = Vec::new();
        let mut rest = Vec::new();
        for ev in self.until_eof() {
            match ev {
                ExternalEvent::Data(d) => data.extend(d),
                ev => rest.push(ev),
            }
        }
        (data, rest)
    }
    fn quiet(&self, d: Duration) -> bool {
        matches!(self.rx.recv_timeout(d), Err(RecvTimeoutError::Timeout))
    }
}

fn line(eol: bool, d: &str) -> ExternalEvent {
    ExternalEvent::Line { eol, data: d.as_bytes().to_vec() }
}

#[test]
fn packets_round_trip_through_cat() {
    for n in [1i64, 2, 4] {
        let p = sh("cat", &[t2(a("packet"), Term::Int(n))]);
        let big = vec![7u8; match n { 1 => 255, 2 => 65_535, _ => 70_000 }];
        for msg in [&b"hello"[..], b"", &big] {
            p.ext.write(msg).unwrap();
            assert_eq!(p.next(), ExternalEvent::Data(msg.to_vec()), "packet {n}");
        }
        let too_big = vec![0u8; if n == 1 { 256 } else { 65_536 }];
        let r = p.ext.write(&too_big);
        if n == 4 {
            assert!(r.is_ok());
            assert_eq!(p.next(), ExternalEvent::Data(too_big));
        } else {
            assert_eq!(r, Err(WriteError::TooLarge));
        }
        p.ext.close();
    }
}

#[test]
fn lines_long_and_unterminated() {
    let p = sh(r"printf 'abc\ndefghijkl\nxy'", &[t2(a("line"), Term::Int(4)), a("exit_status")]);
    assert_eq!(
        p.until_eof(),
        [
            line(true, "abc"),
            line(false, "defg"),
            line(false, "hijk"),
            line(true, "l"),
            ExternalEvent::ExitStatus(0),
            line(false, "xy"),
            ExternalEvent::Eof
        ]
    );
}

#[test]
fn stream_and_exit_statuses() {
    let p = sh("echo hi; exit 3", &[a("exit_status")]);
    // `exec echo hi; exit 3` execs echo: status 0. Through sh -c, 3.
    assert_eq!(p.all_data(), (b"hi\n".to_vec(), vec![ExternalEvent::ExitStatus(0), ExternalEvent::Eof]));
    let p = sh("sh -c 'echo hi; exit 3'", &[a("exit_status")]);
    assert_eq!(p.all_data(), (b"hi\n".to_vec(), vec![ExternalEvent::ExitStatus(3), ExternalEvent::Eof]));
    let p = sh("kill -9 $$", &[a("exit_status")]);
    assert_eq!(p.until_eof(), [ExternalEvent::ExitStatus(137), ExternalEvent::Eof]);
    let p = sh("nonexistent_command_xyz", &[a("exit_status")]);
    assert_eq!(p.until_eof(), [ExternalEvent::ExitStatus(127), ExternalEvent::Eof]);
    // The child closes its stdout and runs on: the status waits for its exit.
    let p = sh("sh -c 'exec 1>&-; sleep 0.2; exit 4'", &[a("exit_status")]);
    assert_eq!(p.until_eof(), [ExternalEvent::ExitStatus(4), ExternalEvent::Eof]);
}

#[test]
fn spawn_errors_as_erts() {
    let exe = |f: &str| open(t2(a("spawn_executable"), s(f)), &[]).err().map(|e| e.to_exception().1.to_string());
    assert_eq!(exe("/nonexistent").as_deref(), Some("enoent"));
    assert_eq!(exe("/etc/passwd").as_deref(), Some("eacces"));
    assert_eq!(exe("/etc/passwd/x").as_deref(), Some("enotdir"));
    assert_eq!(exe("cat").as_deref(), Some("enoent"));
    // A directory passes access(X_OK); the child's execve fails: EACCES.
    let p = open(t2(a("spawn_executable"), s("/")), &[a("exit_status")]).unwrap();
    assert_eq!(p.until_eof(), [ExternalEvent::ExitStatus(13), ExternalEvent::Eof]);
    // A bad cd: the child says so on stderr and exits with ENOENT.
    let p = sh("true", &[t2(a("cd"), s("/nonexistent")), a("exit_status"), a("stderr_messages")]);
    assert_eq!(
        p.until_eof(),
        [
            ExternalEvent::Stderr(b"spawn: Could not cd to /nonexistent\n".to_vec()),
            ExternalEvent::ExitStatus(2),
            ExternalEvent::Eof
        ]
    );
}

#[test]
fn cd_env_args_arg0() {
    std::env::set_var("PORTHOST_EXT_KEEP", "kept");
    std::env::set_var("PORTHOST_EXT_DROP", "dropped");
    let env = Term::List(vec![
        t2(s("PORTHOST_EXT_NEW"), s("old")),
        t2(s("PORTHOST_EXT_DROP"), a("false")),
        t2(s("PORTHOST_EXT_NEW"), s("new")),
        t2(s("PORTHOST_EXT_KEEP"), s("")),
        t2(s("PORTHOST_EXT_KEEP"), s("kept")),
    ]);
    let p = sh(
        "echo \"$(pwd) $PORTHOST_EXT_NEW ${PORTHOST_EXT_DROP-unset} $PORTHOST_EXT_KEEP\"",
        &[t2(a("cd"), s("/tmp")), t2(a("env"), env)],
    );
    assert_eq!(p.all_data().0, b"/tmp new unset kept\n");
    let p = open(
        t2(a("spawn_executable"), s("/bin/sh")),
        &[t2(a("args"), Term::List(vec![s("-c"), s("tr '\\0' ' ' </proc/$$/cmdline"), s("one")])), t2(a("arg0"), s("zero"))],
    )
    .unwrap();
    assert_eq!(p.all_data().0, b"zero -c tr '\\0' ' ' </proc/$$/cmdline one ");
}

#[test]
fn nouse_stdio_uses_fds_3_and_4() {
    let p = sh("sh -c 'tr a-z A-Z <&3 >&4'", &[a("nouse_stdio")]);
    p.ext.write(b"abc").unwrap();
    p.ext.close_input();
    assert_eq!(p.all_data().0, b"ABC");
}

#[test]
fn stderr_to_stdout_and_stderr_messages() {
    let p = sh("sh -c 'echo out; echo err >&2'", &[a("stderr_to_stdout")]);
    assert_eq!(p.all_data().0, b"out\nerr\n");
    let p = sh("sh -c 'echo err >&2; sleep 0.1; echo out'", &[a("stderr_messages")]);
    assert_eq!(p.all_data(), (b"out\n".to_vec(), vec![ExternalEvent::Stderr(b"err\n".to_vec()), ExternalEvent::Eof]));
}

#[test]
fn close_input_gives_eof_while_output_arrives() {
    let p = sh("cat", &[a("exit_status")]);
    p.ext.write(b"abc").unwrap();
    p.ext.close_input();
    assert_eq!(p.ext.write(b"more"), Err(WriteError::InputClosed));
    assert_eq!(p.all_data(), (b"abc".to_vec(), vec![ExternalEvent::ExitStatus(0), ExternalEvent::Eof]));
}

#[test]
fn in_only_and_out_only() {
    // `in`: the child's stdin is closed at once.
    let p = sh("cat", &[a("in"), a("exit_status")]);
    assert_eq!(p.ext.write(b"x"), Err(WriteError::NotWritable));
    assert_eq!(p.until_eof(), [ExternalEvent::ExitStatus(0), ExternalEvent::Eof]);
    // `out`: nothing is read, no exit status, as in ERTS.
    let p = sh("sh -c 'exit 3'", &[a("out"), a("exit_status")]);
    assert!(p.quiet(Duration::from_millis(300)));
}

#[test]
fn large_write_is_queued_and_flushed() {
    let p = sh("cat", &[]);
    let big = vec![b'x'; 1 << 20];
    p.ext.write(&big).unwrap();
    let mut got = 0;
    while got < big.len() {
        match p.next() {
            ExternalEvent::Data(d) => got += d.len(),
            ev => panic!("{ev:?}"),
        }
    }
    assert_eq!(p.ext.queued(), 0);
}

fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat.rsplit(')').next().and_then(|r| r.split_whitespace().next()).unwrap_or("");
            state != "Z" && state != "X"
        }
        Err(_) => false,
    }
}

fn wait_dead(pid: u32) -> bool {
    let end = Instant::now() + WAIT;
    while Instant::now() < end {
        if !alive(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

#[test]
fn kill_timeout_kills_a_term_ignoring_child_and_its_grandchild() {
    let p = sh("sh -c 'trap \"\" TERM; sleep 100 & echo $!; wait'", &[t2(a("kill_timeout"), Term::Int(200))]);
    let ExternalEvent::Data(d) = p.next() else { panic!("no pid") };
    let grandchild: u32 = String::from_utf8_lossy(&d).trim().parse().unwrap();
    let child = p.ext.os_pid().unwrap();
    let t = Instant::now();
    p.ext.close();
    assert!(t.elapsed() < Duration::from_millis(100), "close must not wait for the kill");
    assert!(wait_dead(child), "child {child} survived");
    assert!(wait_dead(grandchild), "grandchild {grandchild} survived");
}

#[test]
fn without_kill_timeout_the_child_survives_close() {
    let p = sh("sleep 0.5", &[]);
    let pid = p.ext.os_pid().unwrap();
    p.ext.close();
    std::thread::sleep(Duration::from_millis(100));
    assert!(alive(pid));
    assert!(wait_dead(pid), "reaped after it exits");
}

#[test]
fn max_pending_bounds_what_yes_can_push() {
    let p = sh("yes", &[t2(a("max_pending"), Term::Int(4)), a("binary")]);
    let count = |p: &Port| {
        let mut n = 0;
        while let Ok(ev) = p.rx.recv_timeout(Duration::from_millis(300)) {
            assert!(matches!(ev, ExternalEvent::Data(_)));
            n += 1;
        }
        n
    };
    let first = count(&p);
    assert!((4..=4 + 64).contains(&first), "{first} messages while none was acked");
    assert!(p.ext.pending() >= 4);
    p.ext.ack(first);
    let second = count(&p);
    assert!((1..=4 + 64).contains(&second), "{second} messages after ack");
    p.ext.pause_reading();
    p.ext.ack(usize::MAX);
    std::thread::sleep(Duration::from_millis(50));
    let _ = count(&p);
    assert!(p.quiet(Duration::from_millis(200)), "paused");
    p.ext.resume_reading();
    assert!(matches!(p.next(), ExternalEvent::Data(_)));
    p.ext.close();
}

/// True once `pid` is not a zombie child of this process (reaped, or the
/// number reused by someone else's process).
fn wait_not_our_zombie(pid: u32) -> bool {
    let me = std::process::id().to_string();
    let end = Instant::now() + WAIT;
    while Instant::now() < end {
        let ours_z = std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            let mut f = stat.rsplit(')').next().unwrap_or("").split_whitespace();
            let (state, ppid) = (f.next().unwrap_or(""), f.next().unwrap_or(""));
            state == "Z" && ppid == me
        });
        if !ours_z {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

/// Not a test by itself: the "porthost" that `child_dies_with_porthost_even_by_sigkill`
/// kills. Starts a shell with `kill_timeout` that starts `sleep 100`, both
/// ignoring `SIGTERM`; prints their pids, waits.
#[test]
#[ignore = "run by child_dies_with_porthost_even_by_sigkill"]
fn helper_host_for_pdeathsig() {
    use std::io::Write;
    if std::env::var_os("PORTHOST_EXT_HELPER").is_none() {
        return;
    }
    // The shell and `sleep` ignore SIGTERM: the guardian must SIGKILL,
    // each group at its own kill timeout.
    let cmd = "sh -c 'trap \"\" TERM; sleep 100 & echo $!; wait'";
    let p = sh(cmd, &[t2(a("kill_timeout"), Term::Int(300))]);
    let ExternalEvent::Data(d) = p.next() else { panic!("no pid") };
    let slow = sh(cmd, &[t2(a("kill_timeout"), Term::Int(SLOW_KILL_MS))]);
    let ExternalEvent::Data(slow_d) = slow.next() else { panic!("no pid") };
    println!(
        "CHILD_PID {} {} {}",
        p.ext.os_pid().unwrap(),
        String::from_utf8_lossy(&d).trim(),
        String::from_utf8_lossy(&slow_d).trim()
    );
    let _ = std::io::stdout().flush();
    std::thread::sleep(Duration::from_secs(30));
}

#[test]
fn child_dies_with_porthost_even_by_sigkill() {
    use std::io::BufRead;
    let mut helper = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "external::tests::helper_host_for_pdeathsig", "--ignored", "--nocapture", "--test-threads=1"])
        .env("PORTHOST_EXT_HELPER", "1")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut pids = None;
    for line in std::io::BufReader::new(helper.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        // libtest may print "test NAME ... " on the same line first.
        if let Some(i) = line.find("CHILD_PID ") {
            let v: Vec<u32> = line[i + "CHILD_PID ".len()..].split_whitespace().filter_map(|w| w.parse().ok()).collect();
            pids = Some((v[0], v[1], v[2]));
            break;
        }
    }
    let (child, grandchild, slow) = pids.expect("the helper printed its children's and grandchildren's pids");
    assert!(alive(child) && alive(grandchild) && alive(slow));
    helper.kill().unwrap();
    helper.wait().unwrap();
    assert!(wait_dead(child), "the child outlived its SIGKILLed host");
    assert!(wait_dead(grandchild), "the grandchild outlived its SIGKILLed host (the guardian)");
    let fast_dead = Instant::now();
    // The other group's grandchild dies at its own kill timeout, not at the
    // first group's, and the first group's did not wait for the second's.
    assert!(wait_dead(slow), "the slow group's grandchild outlived its kill timeout");
    let gap = fast_dead.elapsed();
    assert!(gap > Duration::from_millis(SLOW_KILL_MS as u64 / 2), "the two groups died {gap:?} apart");
}

/// The kill timeout of the helper's second guarded group.
const SLOW_KILL_MS: i64 = 3000;

fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0)
}

#[test]
fn no_descriptor_or_zombie_left_behind() {
    // Warm up the children thread (its eventfd is kept for good).
    drop(sh("true", &[]).until_eof());
    let before = fd_count();
    let mut pids = Vec::new();
    for i in 0..40 {
        let p = sh("cat", &[a("exit_status"), a("stderr_messages"), t2(a("kill_timeout"), Term::Int(50))]);
        pids.push(p.ext.os_pid().unwrap());
        if i % 2 == 0 {
            p.ext.write(b"x").unwrap();
            p.ext.close_input();
            let _ = p.until_eof();
        }
        p.ext.close();
    }
    for pid in &pids {
        assert!(wait_dead(*pid), "child {pid} is still running");
        assert!(wait_not_our_zombie(*pid), "child {pid} is a zombie of ours");
    }
    // The I/O threads close their ends as they finish.
    let end = Instant::now() + WAIT;
    while fd_count() > before + 8 && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(20));
    }
    let after = fd_count();
    assert!(after <= before + 8, "descriptors: {before} before, {after} after 40 ports");
}

#[test]
fn fd_port_reads_and_writes_given_descriptors() {
    let (r1, w1) = pipe().unwrap();
    let (r2, w2) = pipe().unwrap();
    let name = Term::Tuple(vec![a("fd"), Term::Int(r1.as_raw_fd() as i64), Term::Int(w2.as_raw_fd() as i64)]);
    let p = open(name, &[]).unwrap();
    assert_eq!(p.ext.os_pid(), None);
    // SAFETY: writes to / reads from pipes this test owns.
    unsafe { libc::write(w1.as_raw_fd(), b"in".as_ptr() as *const _, 2) };
    assert_eq!(p.next(), ExternalEvent::Data(b"in".to_vec()));
    p.ext.write(b"out").unwrap();
    let mut buf = [0u8; 8];
    // SAFETY: as above.
    let n = unsafe { libc::read(r2.as_raw_fd(), buf.as_mut_ptr() as *mut _, 8) };
    assert_eq!(&buf[..n as usize], b"out");
    drop(w1);
    assert_eq!(p.next(), ExternalEvent::Eof);
    p.ext.close();
}

#[test]
fn events_as_erts_messages() {
    let port = crate::term::PortId(5);
    let m = |ev: ExternalEvent, binary| ev.message(port, binary).map(|t| t.to_string());
    assert_eq!(m(ExternalEvent::Data(b"hi".to_vec()), false).unwrap(), "{#Port<0.5>,{data,[104,105]}}");
    assert_eq!(m(ExternalEvent::Data(vec![]), false).unwrap(), "{#Port<0.5>,{data,[]}}");
    assert_eq!(m(ExternalEvent::Data(b"hi".to_vec()), true).unwrap(), "{#Port<0.5>,{data,<<104,105>>}}");
    assert_eq!(m(line(false, "ab"), true).unwrap(), "{#Port<0.5>,{data,{noeol,<<97,98>>}}}");
    assert_eq!(m(line(true, ""), false).unwrap(), "{#Port<0.5>,{data,{eol,[]}}}");
    assert_eq!(m(ExternalEvent::Stderr(b"e".to_vec()), false).unwrap(), "{#Port<0.5>,{stderr,[101]}}");
    assert_eq!(m(ExternalEvent::ExitStatus(137), false).unwrap(), "{#Port<0.5>,{exit_status,137}}");
    assert_eq!(m(ExternalEvent::Eof, false), None);
}
