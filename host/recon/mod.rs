//! recon's view of ports, for every port porthost hosts: counters,
//! rankings ([`Host::port_count`], [`Host::port_window`]) and what the
//! port costs.
//!
//! recon (ferd/recon's `src/recon.erl`) ranks only inet ports, with
//! `inet_count/2` and `inet_window/3`; porthost ranks every port by the
//! counters it keeps itself, without the driver's help:
//!
//! | [`Attr`] | what | kept where |
//! |---|---|---|
//! | `input` | bytes the port sent its owner (`port_info(P, input)`) | `Port::input` |
//! | `output` | bytes written to the port (`port_info(P, output)`) | `Port::output` |
//! | `io` | `input + output` | |
//! | `commands` | commands written to the port | `Port::commands` |
//! | `messages` | messages the port sent its owner | `Port::messages` |
//! | `queue_size` | bytes queued in the port (see below) | the backend |
//! | `memory` | what the port costs, bytes (see below) | |
//!
//! Each counter is a relaxed atomic add on a path that already touches the
//! port; reading them takes no port lock. `queue_size` is the driver queue
//! of a driver port, the bytes waiting for an external program's stdin, and
//! 0 for an isolated port in rankings (its queue lives in the worker;
//! `port_info(P, queue_size)` asks there). `memory` is porthost's own
//! structure for the port (`size_of::<Port>()` and its name), its queued
//! bytes, and the driver memory allocated with `driver_alloc` during the
//! port's callbacks and not yet freed (`crate::port::account` says how it
//! is counted).
//!
//! # Windows
//! [`Host::port_window`] follows `recon:inet_window/3`
//! (`recon_lib:sample/2` and `sliding_window/2`): it takes every port's
//! counters, waits, takes them again, and ranks the differences. A port
//! opened inside the window has no first sample and counts from zero, so
//! its value is all it did (recon does the same). A port closed inside the
//! window is left out: recon keeps such a port with its totals from the
//! first sample, which ranks a dead port by what it did before the window;
//! porthost does not. `queue_size` and `memory` are levels, so their
//! difference may be negative. The list of counters in each entry is the
//! second sample's.
//!
//! ```
//! use porthost::recon::Attr;
//! use porthost::{Host, Term};
//!
//! let host = Host::new(Default::default());
//! let owner = host.spawn_process();
//! let port = owner.open_port_driver("echo_drv", &[Term::atom("binary")]).unwrap();
//! owner.port_command(port, &Term::string("hello")).unwrap();
//! let top = host.port_count(Attr::Output, 10);
//! assert_eq!(top[0].port, port);
//! assert_eq!(top[0].value, 5);
//! assert_eq!(top[0].counters.commands, 1);
//! ```
#![deny(unsafe_code)]

pub(crate) mod info;

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::host::{Host, HostInner};
use crate::port::Port;
use crate::term::{PortId, Term};

/// A counter to rank ports by (the `Attr` of `porthost:port_count/2`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Attr {
    /// Bytes from the port to its owner.
    Input,
    /// Bytes written to the port.
    Output,
    /// Both.
    Io,
    /// Bytes queued in the port.
    QueueSize,
    /// What the port costs, bytes.
    Memory,
    /// Commands written to the port.
    Commands,
    /// Messages the port sent its owner.
    Messages,
}

impl Attr {
    /// Every attribute, in the order of [`PortCounters::to_props`].
    pub const ALL: [Attr; 7] =
        [Attr::Input, Attr::Output, Attr::Io, Attr::QueueSize, Attr::Memory, Attr::Commands, Attr::Messages];

    /// The attribute's name, as scripts write it (`input`, `queue_size`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Attr::Input => "input",
            Attr::Output => "output",
            Attr::Io => "io",
            Attr::QueueSize => "queue_size",
            Attr::Memory => "memory",
            Attr::Commands => "commands",
            Attr::Messages => "messages",
        }
    }

    /// The attribute named `name`, if any.
    pub fn from_name(name: &str) -> Option<Attr> {
        Attr::ALL.into_iter().find(|a| a.name() == name)
    }
}

/// A port's counters at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PortCounters {
    /// Bytes the port sent its owner.
    pub input: u64,
    /// Bytes written to the port.
    pub output: u64,
    /// Commands written to the port.
    pub commands: u64,
    /// Messages the port sent its owner.
    pub messages: u64,
    /// Bytes queued in the port.
    pub queue_size: u64,
    /// What the port costs, bytes.
    pub memory: u64,
}

impl PortCounters {
    /// The value of `attr`.
    pub fn get(&self, attr: Attr) -> u64 {
        match attr {
            Attr::Input => self.input,
            Attr::Output => self.output,
            Attr::Io => self.input + self.output,
            Attr::QueueSize => self.queue_size,
            Attr::Memory => self.memory,
            Attr::Commands => self.commands,
            Attr::Messages => self.messages,
        }
    }

    /// As a property list: `[{input, I}, {output, O}, {commands, C},
    /// {messages, M}, {queue_size, Q}, {memory, Mem}]`.
    pub fn to_props(&self) -> Term {
        Term::List(
            [
                ("input", self.input),
                ("output", self.output),
                ("commands", self.commands),
                ("messages", self.messages),
                ("queue_size", self.queue_size),
                ("memory", self.memory),
            ]
            .into_iter()
            .map(|(k, v)| Term::Tuple(vec![Term::atom(k), Term::Int(v as i64)]))
            .collect(),
        )
    }
}

/// One entry of a ranking: recon's `{Port, Value, Props}`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Ranked {
    /// The port.
    pub port: PortId,
    /// The ranked value: the counter, or its change over the window.
    pub value: i64,
    /// The port's counters (at the second sample, for a window).
    pub counters: PortCounters,
}

impl Ranked {
    /// recon's shape: `{Port, Value, [{input, I}, {output, O}, ...]}`.
    pub fn to_term(&self) -> Term {
        Term::Tuple(vec![Term::Port(self.port), Term::Int(self.value), self.counters.to_props()])
    }
}

/// The counters of `port` now.
pub(crate) fn counters(port: &Port) -> PortCounters {
    let queue = port.backend.ops().queue_bytes(port) as u64;
    PortCounters {
        input: port.input.load(Ordering::Relaxed),
        output: port.output.load(Ordering::Relaxed),
        commands: port.commands.load(Ordering::Relaxed),
        messages: port.messages.load(Ordering::Relaxed),
        queue_size: queue,
        memory: own_memory(port) + queue + port.driver_memory(),
    }
}

/// porthost's own structures for a port, bytes.
pub(crate) fn own_memory(port: &Port) -> u64 {
    (std::mem::size_of::<Port>() + port.name.len()) as u64
}

/// Every open port's counters.
pub(crate) fn sample(host: &HostInner) -> Vec<(PortId, PortCounters)> {
    let mut v = Vec::with_capacity(host.ports.len());
    host.ports.for_each(|p| v.push((p.id, counters(p))));
    v
}

/// The `n` largest of `entries`, largest first; equal values rank the
/// larger port first (recon compares `{Value, Port}`).
pub(crate) fn top(mut entries: Vec<Ranked>, n: usize) -> Vec<Ranked> {
    let key = |r: &Ranked| std::cmp::Reverse((r.value, r.port));
    if n == 0 {
        return Vec::new();
    }
    if entries.len() > n {
        entries.select_nth_unstable_by_key(n - 1, key);
        entries.truncate(n);
    }
    entries.sort_unstable_by_key(key);
    entries
}

/// `port_count`: see [`Host::port_count`].
pub(crate) fn port_count(host: &HostInner, attr: Attr, n: usize) -> Vec<Ranked> {
    let all = sample(host)
        .into_iter()
        .map(|(port, counters)| Ranked { port, value: counters.get(attr) as i64, counters })
        .collect();
    top(all, n)
}

/// A hasher for port numbers (already unique integers): one multiply.
#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8 | *b as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// The first sample of a window: each port's value of `attr`.
pub(crate) type First = HashMap<PortId, u64, std::hash::BuildHasherDefault<IdHasher>>;

/// Every open port's value of `attr` (a window's first sample).
pub(crate) fn sample_attr(host: &HostInner, attr: Attr) -> First {
    let mut m = First::with_capacity_and_hasher(host.ports.len(), Default::default());
    host.ports.for_each(|p| {
        m.insert(p.id, counters(p).get(attr));
    });
    m
}

/// The difference of two samples, recon's `sliding_window/2` (but a port
/// absent from `last` is left out: see the module's docs).
pub(crate) fn window(first: &First, last: Vec<(PortId, PortCounters)>, attr: Attr) -> Vec<Ranked> {
    last.into_iter()
        .map(|(port, counters)| {
            let now = counters.get(attr) as i64;
            let value = first.get(&port).map_or(now, |b| now - *b as i64);
            Ranked { port, value, counters }
        })
        .collect()
}

impl Host {
    /// Every open port's counters, in no particular order.
    pub fn port_counters(&self) -> Vec<(PortId, PortCounters)> {
        sample(&self.inner)
    }

    /// The `n` ports with the largest `attr`, largest first (as
    /// `recon:inet_count/2` ranks sockets): `porthost:port_count/2` in
    /// scripts. Reads every port's counters once, without port locks.
    pub fn port_count(&self, attr: Attr, n: usize) -> Vec<Ranked> {
        port_count(&self.inner, attr, n)
    }

    /// The `n` ports whose `attr` grew most over `window`, largest first
    /// (as `recon:inet_window/3`): two samples, `window` apart, and their
    /// difference; blocks the caller for `window`. Ports opened inside the
    /// window count from zero; ports closed inside it are left out (see
    /// the module's docs).
    pub fn port_window(&self, attr: Attr, n: usize, window: Duration) -> Vec<Ranked> {
        let first = sample_attr(&self.inner, attr);
        std::thread::sleep(window);
        let last = sample(&self.inner);
        top(self::window(&first, last, attr), n)
    }

    /// How many ports are open (`erlang:system_info(port_count)`).
    pub fn port_count_open(&self) -> usize {
        self.inner.ports.len()
    }

    /// The most ports open at once (`erlang:system_info(port_limit)`).
    pub fn port_limit(&self) -> usize {
        self.inner.port_limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(port: u64, value: i64) -> Ranked {
        Ranked { port: PortId(port), value, counters: PortCounters::default() }
    }

    #[test]
    fn top_is_largest_first_ties_by_larger_port() {
        let got = top(vec![r(5, 1), r(6, 3), r(7, 3), r(8, 0)], 3);
        let ids: Vec<u64> = got.iter().map(|r| r.port.0).collect();
        assert_eq!(ids, [7, 6, 5]);
        assert!(top(vec![r(5, 1)], 0).is_empty());
        assert_eq!(top(vec![r(5, 1)], 10).len(), 1);
    }

    #[test]
    fn window_counts_new_ports_from_zero_and_drops_closed_ones() {
        let c = |o: u64| PortCounters { output: o, ..Default::default() };
        let first: First = [(PortId(5), 100), (PortId(6), 10)].into_iter().collect();
        let last = vec![(PortId(6), c(15)), (PortId(7), c(4))];
        let mut w = window(&first, last, Attr::Output);
        w.sort_by_key(|r| r.port);
        let got: Vec<(u64, i64)> = w.iter().map(|r| (r.port.0, r.value)).collect();
        assert_eq!(got, [(6, 5), (7, 4)]);
    }
}
