//! The port table: ports by number, ERTS-style.
//!
//! A [`PortId`] is the port's number `N` (printed `#Port<0.N>`; its
//! `port_info` `id` is `8 * N`, as in ERTS 25). Numbers are handed out in
//! increasing order starting at [`FIRST_PORT`] (ERTS's own first ports take
//! 0..4), one per `open_port` that reaches the driver's `start`, so a script
//! sees the same numbers as under ERTS; a number is never reused while the
//! table lives (2^64 of them).
//!
//! The table is a power-of-two array of slots, and port `N` lives in slot
//! `N & mask`: a lookup is one index and one comparison, with no hashing.
//! When the next number's slot is taken by a long-lived port the number is
//! skipped (as ERTS skips numbers whose index is in use), and the array
//! doubles when it is half full, so lookups never probe. Closing a port
//! empties its slot; a stale id finds an empty slot or a port with another
//! number, and the BIF raises `badarg`.
#![deny(unsafe_code)]

use std::sync::Arc;

use parking_lot::RwLock;

use super::Port;
use crate::term::PortId;

/// The number of the first port a host opens.
pub const FIRST_PORT: u64 = 5;

const MIN_SLOTS: usize = 1024;

struct Inner {
    slots: Vec<Option<Arc<Port>>>,
    next: u64,
    count: usize,
}

/// All open ports of a host.
pub struct PortTable {
    inner: RwLock<Inner>,
}

impl Default for PortTable {
    fn default() -> PortTable {
        PortTable {
            inner: RwLock::new(Inner { slots: vec![None; MIN_SLOTS], next: FIRST_PORT, count: 0 }),
        }
    }
}

impl Inner {
    fn mask(&self) -> u64 {
        self.slots.len() as u64 - 1
    }

    fn grow(&mut self) {
        let mut slots = vec![None; self.slots.len() * 2];
        let mask = slots.len() as u64 - 1;
        for p in self.slots.drain(..).flatten() {
            let i = (p.id.0 & mask) as usize;
            slots[i] = Some(p);
        }
        self.slots = slots;
    }
}

impl PortTable {
    /// Gives the next free number to `make`, and puts the port it makes in
    /// the table.
    pub fn insert_with(&self, make: impl FnOnce(PortId) -> Arc<Port>) -> Arc<Port> {
        let mut t = self.inner.write();
        if (t.count + 1) * 2 > t.slots.len() {
            t.grow();
        }
        let mask = t.mask();
        let n = loop {
            let n = t.next;
            t.next += 1;
            if t.slots[(n & mask) as usize].is_none() {
                break n;
            }
        };
        let port = make(PortId(n));
        if crate::check::hooks() != 0 {
            let stop_select = port.driver().is_some_and(|d| d.entry().stop_select.is_some());
            crate::check::port_born(port.handle() as usize, n, port.driver_name(), stop_select);
        }
        t.slots[(n & mask) as usize] = Some(port.clone());
        t.count += 1;
        port
    }

    /// The open port `id`, if any.
    pub fn get(&self, id: PortId) -> Option<Arc<Port>> {
        let t = self.inner.read();
        match &t.slots[(id.0 & t.mask()) as usize] {
            Some(p) if p.id == id => Some(p.clone()),
            _ => None,
        }
    }

    /// Takes port `id` out of the table.
    pub fn remove(&self, id: PortId) {
        let mut t = self.inner.write();
        let i = (id.0 & t.mask()) as usize;
        if matches!(&t.slots[i], Some(p) if p.id == id) {
            if let Some(p) = t.slots[i].take() {
                crate::check::port_died(p);
            }
            t.count -= 1;
        }
    }

    /// How many ports are open.
    pub fn len(&self) -> usize {
        self.inner.read().count
    }

    /// Calls `f` on every open port, under the table's read lock (`f` must
    /// not open or close ports).
    pub fn for_each(&self, mut f: impl FnMut(&Arc<Port>)) {
        for p in self.inner.read().slots.iter().flatten() {
            f(p);
        }
    }

    /// Every open port.
    pub fn all(&self) -> Vec<Arc<Port>> {
        self.inner.read().slots.iter().flatten().cloned().collect()
    }

    /// The ids of every open port, in opening order (`erlang:ports/0`).
    pub fn ids(&self) -> Vec<PortId> {
        let mut v: Vec<PortId> = self.inner.read().slots.iter().flatten().map(|p| p.id).collect();
        v.sort();
        v
    }
}
