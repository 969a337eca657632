//! How busy the machine is: its runnable threads (`/proc/loadavg`).

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

/// `/proc/loadavg`, kept open: each read makes the kernel write it anew.
pub struct LoadAvg(File);

impl LoadAvg {
    /// Opens `/proc/loadavg`.
    ///
    /// # Errors
    /// No `/proc` (or no descriptor left).
    pub fn open() -> io::Result<LoadAvg> {
        File::open("/proc/loadavg").map(LoadAvg)
    }

    /// How many threads of the whole machine are runnable now, running or
    /// waiting for a CPU, the caller included (the kernel's `nr_running`:
    /// the first number of the fourth field, `R/T`); `None` if the file
    /// cannot be read or parsed. About a microsecond.
    pub fn runnable(&self) -> Option<u32> {
        let mut buf = [0u8; 128];
        let n = self.0.read_at(&mut buf, 0).ok()?;
        parse_runnable(&buf[..n])
    }
}

/// The `R` of `/proc/loadavg`'s `L1 L5 L15 R/T LAST`.
fn parse_runnable(text: &[u8]) -> Option<u32> {
    let field = text.split(|&b| b == b' ').nth(3)?;
    let running = field.split(|&b| b == b'/').next()?;
    std::str::from_utf8(running).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_runnable_count_is_the_fourth_fields_first_number() {
        assert_eq!(parse_runnable(b"0.49 1.48 2.61 3/234 12345\n"), Some(3));
        assert_eq!(parse_runnable(b"0.49 1.48 2.61"), None);
        assert_eq!(parse_runnable(b"0.49 1.48 2.61 x/234 1"), None);
        let now = LoadAvg::open().unwrap().runnable().unwrap();
        assert!(now >= 1, "the test's own thread runs");
    }
}
