//! The driver author's kit: what the library carries inside itself so that
//! an installed `porthost` (or any program that depends on the library)
//! needs nothing from its build directory.
//!
//! Embedded at build time (see `build.rs`) and written out on first use to
//! a private directory, [`kit_dir`], named after a hash of the contents (so
//! two porthost versions never share one, and a file is written once):
//! - `drivers/*.so`: the bundled drivers (`drivers/c/`), found by name like
//!   any driver in the driver path, in-process and by isolated workers;
//! - `lib/libporthost_erl_driver.so`: the API shim (see `shim`);
//! - `include/*.h`: the C headers, for `porthost config --cflags`.
#![deny(unsafe_code)]

use std::io;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub(crate) mod shim;

include!(concat!(env!("OUT_DIR"), "/embedded.rs"));

/// The kit directory, written out once per process: `$XDG_CACHE_HOME`
/// (else `$HOME/.cache`) `/porthost/<version>-<hash>/`; if that cannot be
/// written, `<tmp>/porthost-<uid>/<version>-<hash>/` (a directory that must
/// belong to this user and be closed to others).
///
/// # Errors
/// No directory could be made or written.
pub fn kit_dir() -> io::Result<&'static Path> {
    static DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    DIR.get_or_init(|| {
        let leaf = format!("{}-{KIT_HASH}", env!("CARGO_PKG_VERSION"));
        let cache = std::env::var_os("XDG_CACHE_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").filter(|v| !v.is_empty()).map(|h| Path::new(&h).join(".cache")));
        let mut errors = Vec::new();
        if let Some(c) = cache {
            match write_out(&c.join("porthost"), &leaf) {
                Ok(d) => return Ok(d),
                Err(e) => errors.push(format!("{}: {e}", c.display())),
            }
        }
        let tmp = std::env::temp_dir().join(format!("porthost-{}", crate::sys::uid()));
        match private_dir(&tmp).and_then(|()| write_out(&tmp, &leaf)) {
            Ok(d) => Ok(d),
            Err(e) => {
                errors.push(format!("{}: {e}", tmp.display()));
                Err(errors.join("; "))
            }
        }
    })
    .as_ref()
    .map(PathBuf::as_path)
    .map_err(|e| io::Error::other(format!("cannot write porthost's kit directory: {e}")))
}

/// The directory of the bundled drivers (inside [`kit_dir`]).
///
/// # Errors
/// As [`kit_dir`].
pub fn bundled_drivers_dir() -> io::Result<PathBuf> {
    Ok(kit_dir()?.join("drivers"))
}

/// The directory of the C headers: the checkout's `include/` when porthost
/// runs from the checkout it was built in and the headers there are the
/// ones it embeds, else the copy in [`kit_dir`].
///
/// # Errors
/// As [`kit_dir`].
pub fn include_dir() -> io::Result<PathBuf> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("include");
    let same = EMBEDDED
        .iter()
        .filter_map(|(name, bytes)| name.strip_prefix("include/").map(|n| (n, bytes)))
        .all(|(n, bytes)| std::fs::read(src.join(n)).is_ok_and(|b| b == *bytes));
    if same {
        return Ok(src);
    }
    Ok(kit_dir()?.join("include"))
}

/// Makes `dir` (mode 0700) if missing and checks that it is ours and
/// closed to others (it lies in a shared temporary directory).
fn private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    let md = std::fs::symlink_metadata(dir)?;
    if !md.is_dir() || md.uid() != crate::sys::uid() || md.mode() & 0o022 != 0 {
        return Err(io::Error::other("exists, but is not a directory of this user closed to others"));
    }
    Ok(())
}

/// Writes every embedded file under `base/leaf/` unless it is there with
/// the same contents (each through a temporary file and a rename, so a
/// concurrent porthost never sees half a file).
fn write_out(base: &Path, leaf: &str) -> io::Result<PathBuf> {
    let dir = base.join(leaf);
    for (name, bytes) in EMBEDDED {
        let path = dir.join(name);
        if std::fs::read(&path).is_ok_and(|b| b == *bytes) {
            continue;
        }
        let parent = path.parent().expect("a file in a directory");
        std::fs::create_dir_all(parent)?;
        let tmp = parent.join(format!(".{}.{}.tmp", path.file_name().unwrap().to_string_lossy(), std::process::id()));
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, &path)?;
    }
    Ok(dir)
}
