//! The async pool: `driver_async` and the `ready_async` callback (ERTS's
//! `erl_async.c`).
//!
//! A host has [`HostConfig::async_threads`](crate::HostConfig) worker
//! threads (ERTS's `+A`, default 1), started with the first job. A job runs
//! `async_invoke(async_data)` on a worker chosen by the job's key (`key %
//! threads`, so jobs with one key run in order on one thread; without a key,
//! `id % threads`, as in ERTS's `driver_async`), outside any port lock. Then,
//! under the port lock on that worker, the driver's `ready_async(drv_data,
//! async_data)` runs if the port is still open and the driver has one;
//! otherwise `async_free` (if given) gets the data back, as in ERTS. With
//! zero threads a job runs at once in the caller, `ready_async` included.
//!
//! Job ids: 1, 2, 3, ... per host (ERTS's are VM-wide, positive and
//! increasing, sometimes by 2); with zero threads `driver_async` returns 0,
//! as ERTS does without an async pool.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Weak};

use crossbeam_channel::Sender;
use parking_lot::Mutex;

use crate::host::HostInner;
use crate::port::{self, Port};
use crate::term::PortId;

/// `void (*)(void *)`.
pub(crate) type AsyncFn = unsafe extern "C" fn(*mut std::ffi::c_void);

/// One job.
pub(crate) struct Job {
    pub(crate) port: PortId,
    pub(crate) invoke: AsyncFn,
    pub(crate) data: *mut std::ffi::c_void,
    pub(crate) free: Option<AsyncFn>,
}

// SAFETY: the driver hands `data` to the pool; only the pool touches it
// until it goes back to the driver (ready_async or async_free).
unsafe impl Send for Job {}

/// A host's async pool.
pub struct AsyncPool {
    threads: usize,
    queues: Mutex<Vec<Sender<Job>>>,
    ids: AtomicI64,
}

impl AsyncPool {
    /// A pool of `threads` workers (none started yet).
    pub fn new(threads: usize) -> AsyncPool {
        AsyncPool { threads, queues: Mutex::new(Vec::new()), ids: AtomicI64::new(1) }
    }

    /// The number of workers (`erlang:system_info(thread_pool_size)`).
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// The queue a job with `key` goes to: `key % threads` (0 without
    /// threads). ERTS's `driver_async` writes it back into `*key`.
    pub(crate) fn queue_of(&self, key: u32) -> u32 {
        if self.threads == 0 {
            0
        } else {
            (key as usize % self.threads) as u32
        }
    }

    /// Queues `job` (`driver_async`); returns its id (0 with zero threads,
    /// where the job has run by the time this returns).
    pub(crate) fn submit(&self, host: &Arc<HostInner>, port: &Arc<Port>, key: Option<u32>, job: Job) -> i64 {
        if self.threads == 0 {
            run_job(host, job, Some(port));
            return 0;
        }
        let id = self.ids.fetch_add(1, Ordering::Relaxed);
        let i = match key {
            Some(k) => self.queue_of(k) as usize,
            None => id as usize % self.threads,
        };
        let mut queues = self.queues.lock();
        if queues.is_empty() {
            for n in 0..self.threads {
                let (tx, rx) = crossbeam_channel::unbounded::<Job>();
                let host: Weak<HostInner> = Arc::downgrade(host);
                std::thread::Builder::new()
                    .name(format!("porthost-async-{n}"))
                    .spawn(move || {
                        // No spinning for the next job here: a third spinning
                        // thread on two CPUs kept the threads it waited for
                        // off them (see `crate::spin`), while a sleeping
                        // async thread, once woken, gets a CPU at once.
                        for job in rx {
                            match host.upgrade() {
                                Some(h) => run_job(&h, job, None),
                                None => free(job),
                            }
                        }
                    })
                    .expect("spawning an async thread");
                queues.push(tx);
            }
        }
        let _ = queues[i].send(job);
        id
    }

    /// Stops the workers once their queues are empty (host shutdown).
    pub(crate) fn shutdown(&self) {
        self.queues.lock().clear();
    }
}

fn free(job: Job) {
    if let Some(f) = job.free {
        // SAFETY: the driver's free function with the data it gave us.
        unsafe { f(job.data) }
    }
}

fn run_job(host: &Arc<HostInner>, job: Job, caller_port: Option<&Arc<Port>>) {
    // SAFETY: the driver's invoke function with its own data.
    unsafe { (job.invoke)(job.data) };
    let (id, has_free) = (job.port.0, job.free.is_some());
    let port = caller_port.cloned().or_else(|| host.ports.get(job.port));
    let Some(p) = port.filter(|p| p.driver().is_some_and(|d| d.entry().ready_async.is_some())) else {
        free(job);
        crate::check::async_done(id, has_free);
        return;
    };
    let mut delivered = false;
    port::run_callback(&p, |port, driver, d| {
        delivered = true;
        crate::abi::entry::ready_async(port, driver, d, job.data);
    });
    if !delivered {
        free(job);
    }
    crate::check::async_done(id, has_free);
}
