//! The driver queue: the byte queue every port owns, which a driver fills
//! and drains with `driver_enq`, `driver_deq`, `driver_peekq` and their
//! `_bin` and `v` variants (ERTS's `ErlIOQueue`, `erts/emulator/beam/io.c`).
//!
//! The queue holds byte ranges of reference-counted driver binaries: a
//! `_bin` or `v` enqueue takes one more reference to the driver's binary
//! rather than copying it, as ERTS does. `driver_peekq` returns an array of
//! `SysIOVec` that stays valid until the queue next changes; the array is
//! rebuilt on demand into buffers the queue owns.

use std::collections::VecDeque;

use crate::binary::Bin;
use crate::ffi::{ErlDrvBinary, ErlIOVec, SysIOVec};

/// A port's driver queue.
#[derive(Default)]
pub struct DriverQueue {
    segments: VecDeque<Bin>,
    size: usize,
    /// The `SysIOVec` array last handed out by `driver_peekq`.
    peek_iov: Vec<SysIOVec>,
    /// The binaries matching `peek_iov`, for `driver_peekqv`.
    peek_binv: Vec<*mut ErlDrvBinary>,
}

// SAFETY: the raw pointers in the peek arrays point into binaries that the
// queue's own `Bin`s keep alive; they are only read by the driver under the
// port lock.
unsafe impl Send for DriverQueue {}

impl DriverQueue {
    /// Bytes in the queue (`driver_sizeq`).
    pub fn size(&self) -> usize {
        self.size
    }

    /// Appends `bin` at the tail (`driver_enq_bin`; `driver_enq` after a
    /// copy). Each segment is a driver binary ([`Bin::allocated`]), which
    /// `driver_peekqv` hands the driver.
    pub fn enq(&mut self, bin: Bin) {
        if bin.is_empty() {
            return;
        }
        self.size += bin.len();
        self.segments.push_back(bin.allocated());
    }

    /// Puts `bin` at the head (`driver_pushq_bin`).
    pub fn push(&mut self, bin: Bin) {
        if bin.is_empty() {
            return;
        }
        self.size += bin.len();
        self.segments.push_front(bin.allocated());
    }

    /// Removes `n` bytes from the head (`driver_deq`). Returns the bytes
    /// left, or `None` (ERTS's -1) if the queue holds fewer than `n`.
    pub fn deq(&mut self, mut n: usize) -> Option<usize> {
        if n > self.size {
            return None;
        }
        self.size -= n;
        while n > 0 {
            let head = self.segments.front_mut().expect("size says bytes remain");
            if head.len() <= n {
                n -= head.len();
                self.segments.pop_front();
            } else {
                *head = head.sub(n, head.len() - n);
                n = 0;
            }
        }
        Some(self.size)
    }

    /// Removes everything (a port that fails discards its queue).
    pub fn clear(&mut self) {
        self.segments.clear();
        self.size = 0;
    }

    /// The queue as a `SysIOVec` array (`driver_peekq`): a pointer to its
    /// first element and the element count. Valid until the queue changes.
    pub fn peek(&mut self) -> (*mut SysIOVec, usize) {
        self.build_peek();
        (self.peek_iov.as_mut_ptr(), self.peek_iov.len())
    }

    /// Fills `ev` with the queue's contents (`driver_peekqv`); returns the
    /// queue size. Valid until the queue changes.
    pub fn peekv(&mut self, ev: &mut ErlIOVec) -> usize {
        self.build_peek();
        ev.vsize = self.peek_iov.len() as i32;
        ev.size = self.size;
        ev.iov = self.peek_iov.as_mut_ptr();
        ev.binv = self.peek_binv.as_mut_ptr();
        self.size
    }

    fn build_peek(&mut self) {
        self.peek_iov.clear();
        self.peek_binv.clear();
        for seg in &self.segments {
            self.peek_iov.push(SysIOVec {
                iov_base: seg.as_slice().as_ptr() as *mut _,
                iov_len: seg.len(),
            });
            self.peek_binv.push(seg.raw());
        }
    }

    /// Copies all queued bytes out, head first.
    #[cfg(test)]
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.size);
        for seg in &self.segments {
            out.extend_from_slice(seg.as_slice());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deq_across_segments_keeps_order() {
        let mut q = DriverQueue::default();
        q.enq(Bin::from_slice(b"abc"));
        q.enq(Bin::from_slice(b"defg"));
        q.push(Bin::from_slice(b"xy"));
        assert_eq!(q.size(), 9);
        assert_eq!(q.to_vec(), b"xyabcdefg");
        assert_eq!(q.deq(4), Some(5));
        assert_eq!(q.to_vec(), b"cdefg");
        assert_eq!(q.deq(6), None);
        let (_, n) = q.peek();
        assert_eq!(n, 2);
        assert_eq!(q.deq(5), Some(0));
        assert_eq!(q.peek().1, 0);
    }
}
