//! `open_port/2`'s option list, as a driver port reads it
//! (`erts/emulator/beam/erl_bif_port.c`, `open_port/2` in the `erlang`
//! reference manual).
#![deny(unsafe_code)]

use crate::error::BifError;
use crate::term::Term;

use super::BUSY_MSGQ_DISABLED;

/// The options of `open_port/2` that matter to a driver port.
#[derive(Clone, Debug, Default)]
pub struct OpenOptions {
    /// `binary`: data arrives as binaries rather than lists.
    pub binary: bool,
    /// `eof`: `driver_failure_eof` sends `{Port, eof}` instead of closing.
    pub eof: bool,
    /// `in` without `out`: the port may not be written to.
    pub input_only: bool,
    /// `out` without `in`: nothing is read from the port.
    pub output_only: bool,
    /// `isolated` / `{isolated, driver | port}`: run the driver in a worker
    /// process (`Some(true)`: a worker of the port's own); see
    /// [`crate::isolate`].
    pub isolated: Option<bool>,
    /// The options as given, but for the isolation ones (what an isolated
    /// port's worker opens the real port with).
    pub given: Vec<Term>,
    /// `{busy_limits_msgq, {Low, High} | disabled}`: the port's busy message
    /// queue limits, set as `erl_drv_busy_msgq_limits(port, Low, High)` sets
    /// them (`disabled`: both [`BUSY_MSGQ_DISABLED`]). Limits (not
    /// `disabled`) are `badarg` at open for a driver with
    /// `ERL_DRV_FLAG_NO_BUSY_MSGQ`, as in ERTS 25.
    pub busy_limits_msgq: Option<(usize, usize)>,
    /// `{busy_limits_port, _}` was given: ERTS 25 refuses it (`badarg`) for
    /// driver ports.
    pub busy_limits_port: bool,
}

/// A `busy_limits_*` limit: `ERL_DRV_BUSY_MSGQ_LIM_MIN` (1) to
/// `ERL_DRV_BUSY_MSGQ_LIM_MAX` (`usize::MAX - 1`).
fn busy_limit(t: &Term) -> Option<usize> {
    let n = match t {
        Term::Int(i) => usize::try_from(*i).ok()?,
        Term::BigInt(b) => b.to_string().parse::<usize>().ok()?,
        _ => return None,
    };
    (1..BUSY_MSGQ_DISABLED).contains(&n).then_some(n)
}

impl OpenOptions {
    /// Parses an `open_port/2` option list.
    ///
    /// # Errors
    /// `badarg` for anything ERTS does not accept.
    pub fn parse(opts: &[Term]) -> Result<OpenOptions, BifError> {
        let mut o = OpenOptions::default();
        let (mut inp, mut out) = (false, false);
        for opt in opts {
            if let Some(per_port) = crate::isolate::parse_option(opt) {
                o.isolated = Some(per_port);
                continue;
            }
            o.given.push(opt.clone());
            match opt {
                Term::Atom(a) => match a.name() {
                    "binary" => o.binary = true,
                    "eof" => o.eof = true,
                    "in" => inp = true,
                    "out" => out = true,
                    "stream" | "hide" | "use_stdio" | "nouse_stdio" | "stderr_to_stdout"
                    | "exit_status" | "overlapped_io" => {}
                    other => return Err(BifError::badarg(format!("unknown open_port option {other}"))),
                },
                Term::Tuple(t) if t.len() == 2 && t[0].as_atom().is_some() => {
                    match (t[0].as_atom().unwrap().name(), &t[1]) {
                        ("packet", Term::Int(1 | 2 | 4)) | ("line", Term::Int(1..)) => {}
                        ("busy_limits_msgq", v) => {
                            o.busy_limits_msgq = Some(match v {
                                Term::Atom(a) if a.name() == "disabled" => (BUSY_MSGQ_DISABLED, BUSY_MSGQ_DISABLED),
                                Term::Tuple(lh) if lh.len() == 2 => match (busy_limit(&lh[0]), busy_limit(&lh[1])) {
                                    (Some(l), Some(h)) => (l, h),
                                    _ => return Err(BifError::badarg(format!("bad open_port option {opt}"))),
                                },
                                _ => return Err(BifError::badarg(format!("bad open_port option {opt}"))),
                            })
                        }
                        ("busy_limits_port", _) => o.busy_limits_port = true,
                        ("parallelism", Term::Atom(_)) | ("cd", _) | ("env", _) | ("args", _)
                        | ("arg0", _) => {}
                        _ => return Err(BifError::badarg(format!("bad open_port option {opt}"))),
                    }
                }
                _ => return Err(BifError::badarg(format!("bad open_port option {opt}"))),
            }
        }
        o.input_only = inp && !out;
        o.output_only = out && !inp;
        Ok(o)
    }
}
