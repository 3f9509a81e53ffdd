//! The samples of a run as a queue: worker threads take them from the front,
//! in increasing id order, so a run that stops early (an error, too many
//! failures) leaves a complete prefix and few holes, whatever `--jobs` is.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use crate::ranges::{RangeSet, SampleRange};

/// The ids still to hand out, front first.
pub(crate) struct SampleQueue {
    /// The remaining ranges, in reverse order (the next one last), and the
    /// next id of the last one.
    rest: Mutex<Vec<SampleRange>>,
    stopped: AtomicBool,
}

impl SampleQueue {
    /// A queue of every id of `work`.
    pub(crate) fn new(work: &RangeSet) -> Self {
        let mut rest: Vec<SampleRange> = work.ranges().collect();
        rest.reverse();
        Self {
            rest: Mutex::new(rest),
            stopped: AtomicBool::new(false),
        }
    }

    /// The next id, or `None` once the queue is empty or stopped.
    pub(crate) fn next(&self) -> Option<u64> {
        if self.is_stopped() {
            return None;
        }
        let mut rest = self.rest.lock().ok()?;
        let front = rest.last_mut()?;
        let id = front.start;
        front.start += 1;
        if front.is_empty() {
            rest.pop();
        }
        Some(id)
    }

    /// Hands out nothing more; samples already taken run to their end.
    pub(crate) fn stop(&self) {
        self.stopped.store(true, Ordering::Relaxed);
    }

    /// Whether the queue was stopped, or a stop signal arrived.
    pub(crate) fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Relaxed) || crate::interrupt::requested().is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_come_in_order_until_stopped() {
        let mut work = RangeSet::new();
        work.insert_range(SampleRange::new(5, 7));
        work.insert(9);
        let queue = SampleQueue::new(&work);
        assert_eq!(
            [queue.next(), queue.next(), queue.next()],
            [Some(5), Some(6), Some(9)]
        );
        assert_eq!(queue.next(), None);
        let queue = SampleQueue::new(&work);
        assert_eq!(queue.next(), Some(5));
        queue.stop();
        assert_eq!(queue.next(), None);
    }
}
