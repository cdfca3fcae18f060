//! The threads the kernels split their work between: a small pool of workers that spin
//! for a while after each job before they sleep, so that the many short parallel regions
//! of a model at batch 1 (one per layer, a few tens of microseconds each) do not each pay
//! for waking a sleeping thread.
//!
//! Why not rayon's pool, which the crate used before: its workers sleep soon after a job,
//! and waking one costs a futex and, under a hypervisor, an inter-processor interrupt. On
//! the project's 2-vCPU KVM guest a `par_chunks_mut` over two chunks of trivial work took a
//! median 27 µs back to back and 124 µs after a 1 ms gap, against 0.45 µs for a hand-off
//! to a spinning worker (measured in `BENCHMARKS.md`, seventh session). MobileNetV2 at
//! batch 1 has about a hundred such regions, and ran slower on two threads than on one.
//!
//! How many threads: `rayon::current_num_threads()`, as before, so `RAYON_NUM_THREADS`
//! and a rayon pool's `install` still set it; the workers are the machine's cores less
//! the caller's, started on first use. One job runs at a time: a caller that finds the
//! pool busy (another thread's job, or a task splitting again) runs its tasks itself, in
//! order, so nothing waits on a pool it holds. Which thread runs a task never changes a
//! value: each task writes only its own outputs.

use std::any::Any;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

/// How long an idle worker spins for the next job before it sleeps. A model's layers
/// follow each other within microseconds, and back-to-back calls within less than this;
/// an idle program gives the core back after it.
const SPIN: Duration = Duration::from_millis(2);

/// How many threads work that can be split should use: rayon's count (1 under
/// `RAYON_NUM_THREADS=1`).
pub(crate) fn count() -> usize {
    rayon::current_num_threads().max(1)
}

/// Runs `f(t)` for every `t` in `0..tasks`, shared between the calling thread and up to
/// `tasks - 1` workers, and returns when all have run. A panic in a task is raised again
/// here, after every task has stopped.
pub(crate) fn for_each(tasks: usize, f: impl Fn(usize) + Sync) {
    if tasks <= 1 {
        return (0..tasks).for_each(f);
    }
    let pool = pool();
    let helpers = pool.workers.len().min(tasks - 1);
    if helpers == 0
        || pool
            .busy
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
    {
        return (0..tasks).for_each(f);
    }
    let job = Job {
        f: &f,
        tasks,
        next: AtomicUsize::new(0),
        panic: Mutex::new(None),
    };
    // SAFETY: the job outlives every use of this pointer: each worker given it clears its
    // slot after its last access, and this function waits for every slot to clear before
    // `job` goes out of scope (panics included, as `work` catches them).
    let erased = &job as *const Job<'_> as *mut Job<'static>;
    let workers = &pool.workers[..helpers];
    for w in workers {
        w.give(erased);
    }
    job.work();
    for w in workers {
        w.wait_idle();
    }
    pool.busy.store(false, Ordering::Release);
    if let Some(panic) = job.panic.into_inner().unwrap_or_else(|e| e.into_inner()) {
        resume_unwind(panic);
    }
}

/// `y` in chunks of `chunk` values (the last one shorter), `f(t, chunk t)` on each through
/// [`for_each`].
pub(crate) fn chunks_mut<T: Send>(y: &mut [T], chunk: usize, f: impl Fn(usize, &mut [T]) + Sync) {
    let chunk = chunk.max(1);
    let (len, base) = (y.len(), Shared(y.as_mut_ptr()));
    for_each(len.div_ceil(chunk), |t| {
        let start = t * chunk;
        // SAFETY: `for_each` runs each `t` once, so the chunks handed out are disjoint
        // parts of `y`, which stays borrowed mutably until it returns.
        let part =
            unsafe { std::slice::from_raw_parts_mut(base.at(start), chunk.min(len - start)) };
        f(t, part)
    });
}

/// Like [`chunks_mut`] over two slices at once: chunk `t` of `a` (`ca` values) beside chunk
/// `t` of `b` (`cb` values), for as many chunks as both have.
pub(crate) fn chunks_mut2<A: Send, B: Send>(
    a: &mut [A],
    ca: usize,
    b: &mut [B],
    cb: usize,
    f: impl Fn(usize, &mut [A], &mut [B]) + Sync,
) {
    let (ca, cb) = (ca.max(1), cb.max(1));
    let tasks = a.len().div_ceil(ca).min(b.len().div_ceil(cb));
    let (la, pa) = (a.len(), Shared(a.as_mut_ptr()));
    let (lb, pb) = (b.len(), Shared(b.as_mut_ptr()));
    for_each(tasks, |t| {
        let (sa, sb) = (t * ca, t * cb);
        // SAFETY: as in `chunks_mut`, for each slice.
        let (x, y) = unsafe {
            (
                std::slice::from_raw_parts_mut(pa.at(sa), ca.min(la - sa)),
                std::slice::from_raw_parts_mut(pb.at(sb), cb.min(lb - sb)),
            )
        };
        f(t, x, y)
    });
}

/// A slice's start, shared with the tasks that each take a disjoint part of it.
struct Shared<T>(*mut T);

// SAFETY: only used to hand disjoint parts of a `&mut [T]` to other threads, which
// `T: Send` allows.
unsafe impl<T: Send> Sync for Shared<T> {}

impl<T> Shared<T> {
    /// # Safety
    /// `i` must be within the slice.
    unsafe fn at(&self, i: usize) -> *mut T {
        unsafe { self.0.add(i) }
    }
}

/// One call of [`for_each`]: its tasks, claimed in turn.
struct Job<'a> {
    f: &'a (dyn Fn(usize) + Sync),
    tasks: usize,
    next: AtomicUsize,
    panic: Mutex<Option<Box<dyn Any + Send>>>,
}

impl Job<'_> {
    /// Runs tasks until none is left; a panic stops this thread's share and is kept for
    /// the caller.
    fn work(&self) {
        let run = AssertUnwindSafe(|| loop {
            let t = self.next.fetch_add(1, Ordering::Relaxed);
            if t >= self.tasks {
                break;
            }
            (self.f)(t);
        });
        if let Err(panic) = catch_unwind(run) {
            // Let the others stop at their next claim.
            self.next.store(self.tasks, Ordering::Relaxed);
            let mut kept = self.panic.lock().unwrap_or_else(|e| e.into_inner());
            kept.get_or_insert(panic);
        }
    }
}

struct Pool {
    workers: Vec<&'static Worker>,
    /// Set while a job runs.
    busy: AtomicBool,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| {
        let cores = thread::available_parallelism().map_or(1, |n| n.get());
        let workers = (1..cores).map_while(Worker::start).collect();
        Pool {
            workers,
            busy: AtomicBool::new(false),
        }
    })
}

/// A worker thread and the slot it takes jobs from.
struct Worker {
    /// The job to help with; null when idle. The worker clears it when done.
    job: AtomicPtr<Job<'static>>,
    /// Set while the worker sleeps (or is about to), so that a giver wakes it.
    asleep: AtomicBool,
    thread: OnceLock<Thread>,
}

impl Worker {
    /// Starts worker `i`; `None` if the system refuses another thread (the pool then has
    /// fewer workers, and runs the rest of each job on the caller).
    fn start(i: usize) -> Option<&'static Worker> {
        let w: &'static Worker = Box::leak(Box::new(Worker {
            job: AtomicPtr::new(ptr::null_mut()),
            asleep: AtomicBool::new(false),
            thread: OnceLock::new(),
        }));
        let handle = thread::Builder::new()
            .name(format!("model-worker-{i}"))
            .spawn(move || w.serve())
            .ok()?;
        let _ = w.thread.set(handle.thread().clone());
        Some(w)
    }

    fn give(&self, job: *mut Job<'static>) {
        self.job.store(job, Ordering::SeqCst);
        if self.asleep.load(Ordering::SeqCst) {
            if let Some(t) = self.thread.get() {
                t.unpark();
            }
        }
    }

    fn wait_idle(&self) {
        let mut spins = 0u32;
        while !self.job.load(Ordering::Acquire).is_null() {
            spins += 1;
            if spins < 1 << 16 {
                std::hint::spin_loop();
            } else {
                // A worker the system has descheduled: let it run.
                thread::yield_now();
            }
        }
    }

    fn serve(&self) {
        loop {
            let job = self.next_job();
            // SAFETY: the giver keeps the job alive until this slot is cleared below.
            unsafe { &*job }.work();
            self.job.store(ptr::null_mut(), Ordering::Release);
        }
    }

    /// Spins for the next job for up to [`SPIN`], then sleeps until given one.
    fn next_job(&self) -> *mut Job<'static> {
        let start = Instant::now();
        let mut spins = 0u32;
        loop {
            let job = self.job.load(Ordering::Acquire);
            if !job.is_null() {
                return job;
            }
            spins = spins.wrapping_add(1);
            if spins.is_multiple_of(256) && start.elapsed() > SPIN {
                break;
            }
            std::hint::spin_loop();
        }
        loop {
            self.asleep.store(true, Ordering::SeqCst);
            let job = self.job.load(Ordering::SeqCst);
            if !job.is_null() {
                self.asleep.store(false, Ordering::SeqCst);
                return job;
            }
            thread::park();
            self.asleep.store(false, Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{chunks_mut, chunks_mut2, for_each};
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn every_task_runs_once() {
        for tasks in [0, 1, 2, 3, 17, 1000] {
            let runs: Vec<AtomicUsize> = (0..tasks).map(|_| AtomicUsize::new(0)).collect();
            for_each(tasks, |t| {
                runs[t].fetch_add(1, Ordering::Relaxed);
            });
            assert!(
                runs.iter().all(|r| r.load(Ordering::Relaxed) == 1),
                "{tasks}"
            );
        }
    }

    #[test]
    fn chunks_cover_the_slice_and_nest() {
        let mut y = vec![0usize; 103];
        chunks_mut(&mut y, 10, |t, part| {
            assert!(part.len() == 10 || (t == 10 && part.len() == 3));
            // A task that splits again runs its inner tasks itself.
            chunks_mut(part, 4, |u, inner| {
                inner.iter_mut().for_each(|v| *v = t * 100 + u)
            });
        });
        let want: Vec<usize> = (0..103).map(|i| i / 10 * 100 + i % 10 / 4).collect();
        assert_eq!(y, want);

        let (mut a, mut b) = (vec![0u8; 9], vec![0u32; 7]);
        chunks_mut2(&mut a, 4, &mut b, 2, |t, a, b| {
            a.fill(t as u8);
            b.fill(t as u32 + 1);
        });
        assert_eq!(a, [0, 0, 0, 0, 1, 1, 1, 1, 2]);
        assert_eq!(b, [1, 1, 2, 2, 3, 3, 0]);
    }

    #[test]
    fn a_panicking_task_reaches_the_caller_and_the_pool_goes_on() {
        let caught = std::panic::catch_unwind(|| {
            for_each(8, |t| assert!(t != 5, "task five"));
        });
        assert!(caught.is_err());
        let sum = AtomicUsize::new(0);
        for_each(8, |t| {
            sum.fetch_add(t, Ordering::Relaxed);
        });
        assert_eq!(sum.load(Ordering::Relaxed), 28);
    }

    #[test]
    fn callers_on_many_threads_each_get_their_tasks_run() {
        std::thread::scope(|s| {
            for k in 0..4usize {
                s.spawn(move || {
                    for round in 0..200 {
                        let mut y = vec![0usize; 64];
                        chunks_mut(&mut y, 8, |t, part| part.fill(t + k + round));
                        assert!(y.iter().enumerate().all(|(i, &v)| v == i / 8 + k + round));
                    }
                });
            }
        });
    }
}
