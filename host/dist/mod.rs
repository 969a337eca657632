//! porthost for a BEAM node: the requests of the Erlang client
//! (`erlang/src/porthost.erl`) served over a port program's standard input
//! and output (`porthost bridge`, [`bridge`]) or over Erlang distribution
//! (`porthost node`, [`node`]).
//!
//! # The protocol
//! Both transports carry the same frames, each one term in the external
//! term format (over the bridge, each in a `{packet, 4}` frame; over
//! distribution, as a binary message). The BEAM side sends requests:
//!
//! | request | reply |
//! |---|---|
//! | `{open, Tag, PortName, Opts}` | `{ok, N}` |
//! | `{command, N, Data}` | none (asynchronous, as `port_command/2`) |
//! | `{control, Tag, N, Op, Data}` | `{ok, Answer}` |
//! | `{call, Tag, N, Op, Term}` | `{ok, Answer}` |
//! | `{close, Tag, N}` | `{ok, true}` |
//! | `{close_input, Tag, N}` | `{ok, true}` |
//! | `{info, Tag, N}` / `{info, Tag, N, Item}` | `{ok, Info}` |
//! | `{exit, N, Reason}` | none (`exit(Port, Reason)` from the owner) |
//!
//! `N` is porthost's port number (`#Port<0.N>`); `Tag` is a binary that
//! porthost does not look into (the client puts the caller's pid and a
//! reference there, so that the BEAM side routes the reply without a
//! table). A reply is `{reply, Tag, {ok, Value}}` or `{reply, Tag, {error,
//! Class, Reason}}` (the exception the BIF raised, such as `error:badarg`).
//! Without being asked, porthost sends `{msg, N, Msg}` for each `{Port,
//! Msg}` the port sends its owner (`{data, D}`, `{exit_status, S}`, ...),
//! `{term, N, Term}` for any other term a driver sends the owner, and
//! `{exit, N, Reason}` when the port ends (also when it is closed).
//!
//! Either side may also send a *batch*: the byte 0, then several frames,
//! each with its 4-byte big-endian length (over the bridge, inside one
//! `{packet, 4}` packet; over distribution, as one binary message). A
//! frame in the external term format starts with 131, so the two cannot
//! be confused. The client sends every request in a batch (a lone one as
//! a batch of one, a burst of its callers' as one), porthost batches the
//! frames it writes while running requests it has already read (see
//! [`bridge`]'s "Batches").
//!
//! All ports a connection opens belong to one porthost process (the
//! connection's *session*), which traps exits; the Erlang side keeps the
//! real owners, links and `port_connect` (a proxy process per port, see the
//! client). When the connection ends, the session ends and its ports close.
#![deny(unsafe_code)]

pub(crate) mod bridge;
pub(crate) mod node;
pub(crate) mod session;
