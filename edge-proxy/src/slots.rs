//! Places among the open streams (SDK and OFREP alike): at most `--max-sse-clients` on
//! the edge, and at most `--max-sse-clients-per-key` for any one SDK key, so one key
//! cannot take every place.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::error::EdgeError;

pub struct Slots {
    open: AtomicUsize,
    /// Open streams per SDK key hash; touched when a stream opens or ends, never while
    /// one is served.
    per_key: Mutex<HashMap<[u8; 32], usize>>,
    max: usize,
    max_per_key: usize,
}

impl Slots {
    pub fn new(max: usize, max_per_key: usize) -> Arc<Slots> {
        Arc::new(Slots {
            open: AtomicUsize::new(0),
            per_key: Mutex::default(),
            max,
            max_per_key: max_per_key.max(1),
        })
    }

    /// Streams open right now.
    pub fn current(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// A place for a stream of `key`, given back when the [`Slot`] drops.
    pub fn take(self: &Arc<Self>, key: [u8; 32]) -> Result<Slot, EdgeError> {
        let mut per_key = self
            .per_key
            .lock()
            .expect("never poisoned: no panics inside");
        // A full edge is the answer that sends clients elsewhere, so it is checked first.
        self.open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max).then_some(n + 1)
            })
            .map_err(|_| {
                EdgeError::Unavailable("too many streaming clients on this edge; retry on another")
            })?;
        let count = per_key.entry(key).or_insert(0);
        if *count >= self.max_per_key {
            self.open.fetch_sub(1, Ordering::AcqRel);
            return Err(EdgeError::TooManyStreams(
                "this SDK key has as many streams open on this edge as it may; retry later",
            ));
        }
        *count += 1;
        drop(per_key);
        Ok(Slot {
            slots: Arc::clone(self),
            key,
        })
    }
}

/// One place among the open streams, held as long as the stream lasts.
pub struct Slot {
    slots: Arc<Slots>,
    key: [u8; 32],
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut per_key = self
            .slots
            .per_key
            .lock()
            .expect("never poisoned: no panics inside");
        if let Some(count) = per_key.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                per_key.remove(&self.key);
            }
        }
        self.slots.open.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_are_bounded_per_edge_and_per_key_and_come_back() {
        let slots = Slots::new(3, 2);
        let a1 = slots.take([1; 32]).unwrap();
        let _a2 = slots.take([1; 32]).unwrap();
        assert!(matches!(
            slots.take([1; 32]),
            Err(EdgeError::TooManyStreams(_))
        ));
        let _b1 = slots.take([2; 32]).unwrap();
        assert!(matches!(
            slots.take([3; 32]),
            Err(EdgeError::Unavailable(_))
        ));
        assert_eq!(slots.current(), 3);
        drop(a1);
        assert_eq!(slots.current(), 2);
        let _c1 = slots.take([3; 32]).unwrap();
        // Refused keys leave nothing behind.
        assert_eq!(slots.per_key.lock().unwrap().len(), 3);
    }
}
