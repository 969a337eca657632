//! Turning a child's output bytes into messages: `stream`, `{packet, N}`
//! and `{line, L}`, as ERTS frames them.
//!
//! - `{packet, N}` follows `ready_input` in `erts/emulator/sys/unix/sys_drivers.c`:
//!   an N-byte big-endian length, then that many bytes, delivered whole; a
//!   zero length gives an empty message; a packet cut short by EOF is
//!   dropped (`clear_fd_data` in `port_inp_failure`).
//! - `{line, L}` follows `read_linebuf` / `flush_linebuf` in
//!   `erts/emulator/beam/io.c`: `\n` and `\r\n` end a line (`{eol, Line}`,
//!   the terminator removed); a line longer than L is cut into `{noeol,
//!   Part}` pieces of L bytes; a `\r` that is not followed by `\n` is data;
//!   at EOF what is left goes out as `{noeol, Part}` (a trailing `\r` too).
//!
//! Pure logic: no I/O, no allocation beyond the messages and one line or
//! packet being assembled.

/// How a port's input is cut into messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) enum Framing {
    /// `stream` (the default): each read is one message.
    #[default]
    Stream,
    /// `{packet, N}`, N in 1, 2, 4: length-prefixed packets.
    Packet(u8),
    /// `{line, L}`, L ≥ 1: lines of at most L bytes.
    Line(usize),
}

/// One framed piece of input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Frame {
    /// `{data, Bytes}`: a stream chunk or one whole packet.
    Data(Vec<u8>),
    /// `{data, {eol, Line}}` (`eol` true) or `{data, {noeol, Part}}`.
    Line {
        /// The line ended here (`\n` or `\r\n`, not included).
        eol: bool,
        /// The line's bytes.
        data: Vec<u8>,
    },
}

/// The state machine behind [`Framing`]: feed it reads, take frames out.
#[derive(Debug)]
pub(crate) struct Framer {
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Stream,
    Packet { size: u8, header: [u8; 4], have: u8, body: Vec<u8>, want: usize, in_body: bool },
    Line(LineBuf),
}

impl Framer {
    /// A framer in its initial state.
    pub(crate) fn new(framing: Framing) -> Framer {
        let kind = match framing {
            Framing::Stream => Kind::Stream,
            Framing::Packet(n) => {
                Kind::Packet { size: n, header: [0; 4], have: 0, body: Vec::new(), want: 0, in_body: false }
            }
            Framing::Line(l) => Kind::Line(LineBuf::new(l)),
        };
        Framer { kind }
    }

    /// Consumes one read's bytes, pushing every frame they complete.
    pub(crate) fn feed(&mut self, mut bytes: &[u8], out: &mut Vec<Frame>) {
        match &mut self.kind {
            Kind::Stream => {
                if !bytes.is_empty() {
                    out.push(Frame::Data(bytes.to_vec()));
                }
            }
            Kind::Packet { size, header, have, body, want, in_body } => {
                while !bytes.is_empty() {
                    if !*in_body {
                        let need = (*size - *have) as usize;
                        let take = need.min(bytes.len());
                        header[*have as usize..*have as usize + take].copy_from_slice(&bytes[..take]);
                        *have += take as u8;
                        bytes = &bytes[take..];
                        if *have < *size {
                            return;
                        }
                        *want = header[..*size as usize].iter().fold(0usize, |n, &b| (n << 8) | b as usize);
                        *have = 0;
                        *in_body = true;
                        // Grow as bytes arrive: a hostile header cannot make
                        // us allocate gigabytes up front.
                        body.clear();
                        body.reserve((*want).min(64 * 1024));
                    }
                    let take = (*want - body.len()).min(bytes.len());
                    body.extend_from_slice(&bytes[..take]);
                    bytes = &bytes[take..];
                    if body.len() == *want {
                        out.push(Frame::Data(std::mem::take(body)));
                        *in_body = false;
                    }
                }
            }
            Kind::Line(lb) => lb.feed(bytes, out),
        }
    }

    /// At EOF: the frames still held (`{line, L}`: the unterminated rest;
    /// `{packet, N}`: nothing, a partial packet is dropped as ERTS drops it).
    pub(crate) fn finish(&mut self, out: &mut Vec<Frame>) {
        match &mut self.kind {
            Kind::Stream => {}
            Kind::Packet { have, body, in_body, .. } => {
                *have = 0;
                *in_body = false;
                *body = Vec::new();
            }
            Kind::Line(lb) => lb.flush(out),
        }
    }
}

/// `io.c`'s line buffer states.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LineState {
    /// Collecting bytes.
    Main,
    /// L bytes held; the next byte decides (`\r`, `\n` or a cut).
    Full,
    /// A `\r` was seen (not yet stored) with room in the buffer.
    CrInside,
    /// A `\r` was seen while the buffer was full.
    CrAfter,
}

#[derive(Debug)]
struct LineBuf {
    limit: usize,
    buf: Vec<u8>,
    state: LineState,
}

impl LineBuf {
    fn new(limit: usize) -> LineBuf {
        LineBuf { limit: limit.max(1), buf: Vec::new(), state: LineState::Main }
    }

    fn emit(&mut self, eol: bool, out: &mut Vec<Frame>) {
        out.push(Frame::Line { eol, data: std::mem::take(&mut self.buf) });
    }

    /// `read_linebuf`, byte by byte.
    fn feed(&mut self, bytes: &[u8], out: &mut Vec<Frame>) {
        let mut i = 0;
        while i < bytes.len() {
            let c = bytes[i];
            if c == b'\n' {
                self.state = LineState::Main;
                i += 1;
                self.emit(true, out);
                continue;
            }
            match self.state {
                LineState::Main => {
                    if self.buf.len() >= self.limit {
                        self.state = LineState::Full;
                    } else if c == b'\r' {
                        i += 1;
                        self.state = LineState::CrInside;
                    } else {
                        // Copy the run of plain bytes that fits at once.
                        let room = self.limit - self.buf.len();
                        let run = bytes[i..]
                            .iter()
                            .take(room)
                            .position(|&b| b == b'\n' || b == b'\r')
                            .unwrap_or(room.min(bytes.len() - i));
                        self.buf.extend_from_slice(&bytes[i..i + run]);
                        i += run;
                    }
                }
                LineState::Full => {
                    if c == b'\r' {
                        i += 1;
                        self.state = LineState::CrAfter;
                    } else {
                        self.state = LineState::Main;
                        self.emit(false, out);
                    }
                }
                LineState::CrInside => {
                    self.buf.push(b'\r');
                    self.state = LineState::Main;
                }
                LineState::CrAfter => {
                    self.state = LineState::CrInside;
                    self.emit(false, out);
                }
            }
        }
    }

    /// `flush_linebuf`, called until it has nothing more.
    fn flush(&mut self, out: &mut Vec<Frame>) {
        loop {
            match self.state {
                LineState::CrInside => {
                    self.buf.push(b'\r');
                    self.state = LineState::Main;
                    self.emit(false, out);
                }
                LineState::Main | LineState::Full => {
                    self.state = LineState::Main;
                    if !self.buf.is_empty() {
                        self.emit(false, out);
                    }
                    return;
                }
                LineState::CrAfter => {
                    self.state = LineState::CrInside;
                    if !self.buf.is_empty() {
                        self.emit(false, out);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(limit: usize, chunks: &[&[u8]]) -> Vec<String> {
        let mut f = Framer::new(Framing::Line(limit));
        let mut out = Vec::new();
        for c in chunks {
            f.feed(c, &mut out);
        }
        f.finish(&mut out);
        out.into_iter()
            .map(|fr| match fr {
                Frame::Line { eol, data } => {
                    format!("{}:{}", if eol { "eol" } else { "noeol" }, String::from_utf8_lossy(&data))
                }
                Frame::Data(d) => format!("data:{d:?}"),
            })
            .collect()
    }

    #[test]
    fn lines_as_erts_cuts_them() {
        // The same input as the ERTS probe in tests/scripts_external/ext_line.erl.
        let want = ["eol:abcd", "eol:efgh", "eol:", "noeol:ijkl", "noeol:mnop"];
        assert_eq!(lines(4, &[b"abcd\nefgh\r\n\nijklmnop"]), want);
        // Byte by byte gives the same.
        let input = b"abcd\nefgh\r\n\nijklmnop";
        let chunks: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(lines(4, &chunks), want);
        assert_eq!(lines(4, &[b"abc\ndefghijkl\nxy"]), ["eol:abc", "noeol:defg", "noeol:hijk", "eol:l", "noeol:xy"]);
    }

    #[test]
    fn carriage_returns() {
        assert_eq!(lines(10, &[b"a\rb\n"]), ["eol:a\rb"]);
        assert_eq!(lines(10, &[b"ab\r"]), ["noeol:ab\r"]);
        assert_eq!(lines(10, &[b"\r"]), ["noeol:\r"]);
        // A full buffer, then \r\n: the line ends there.
        assert_eq!(lines(2, &[b"ab\r\ncd"]), ["eol:ab", "noeol:cd"]);
        // A full buffer, then \r and more: the \r starts the next piece.
        assert_eq!(lines(2, &[b"ab\rc\n"]), ["noeol:ab", "eol:\rc"]);
        // A full buffer, then \r at EOF.
        assert_eq!(lines(2, &[b"ab\r"]), ["noeol:ab", "noeol:\r"]);
        assert_eq!(lines(1, &[b"\r\r\n"]), ["eol:\r"]);
        // tests/scripts_external/ext_line.erl, as ERTS cuts it.
        assert_eq!(lines(2, &[b"a\rb\nab\rc\nxy\r"]), ["noeol:a\r", "eol:b", "noeol:ab", "eol:\rc", "noeol:xy", "noeol:\r"]);
    }

    #[test]
    fn packets_whole_across_reads() {
        for size in [1u8, 2, 4] {
            let mut input = Vec::new();
            for payload in [&b"hello"[..], b"", b"x"] {
                let len = (payload.len() as u32).to_be_bytes();
                input.extend_from_slice(&len[4 - size as usize..]);
                input.extend_from_slice(payload);
            }
            for step in [1, 2, 3, input.len()] {
                let mut f = Framer::new(Framing::Packet(size));
                let mut out = Vec::new();
                for c in input.chunks(step) {
                    f.feed(c, &mut out);
                }
                assert_eq!(
                    out,
                    [Frame::Data(b"hello".to_vec()), Frame::Data(vec![]), Frame::Data(b"x".to_vec())],
                    "packet {size}, step {step}"
                );
            }
        }
    }

    #[test]
    fn partial_packet_dropped_at_eof_and_huge_header_not_allocated() {
        let mut f = Framer::new(Framing::Packet(4));
        let mut out = Vec::new();
        f.feed(&[0xff, 0xff, 0xff, 0xff, 1, 2], &mut out);
        f.finish(&mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn stream_is_one_frame_per_read() {
        let mut f = Framer::new(Framing::Stream);
        let mut out = Vec::new();
        f.feed(b"ab", &mut out);
        f.feed(b"", &mut out);
        f.finish(&mut out);
        assert_eq!(out, [Frame::Data(b"ab".to_vec())]);
    }
}
