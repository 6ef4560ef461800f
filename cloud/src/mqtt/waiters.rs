//! Callers waiting for a command's result (the device signer): woken when this instance
//! stores the result. With several instances the result may be stored by another one, so
//! waiters also re-read the command row now and then.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

/// Request id → the waiter's wake-up.
#[derive(Debug, Default)]
pub struct Waiters(Mutex<HashMap<String, Arc<Notify>>>);

impl Waiters {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Notify>>> {
        // A plain map of wake-ups: nothing a panic could leave half done.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers interest in `request_id`.
    pub fn register(&self, request_id: &str) -> Arc<Notify> {
        self.map()
            .entry(request_id.to_owned())
            .or_insert_with(|| Arc::new(Notify::new()))
            .clone()
    }

    /// Stops waiting for `request_id`.
    pub fn forget(&self, request_id: &str) {
        self.map().remove(request_id);
    }

    /// Wakes whoever waits for `request_id`.
    pub fn finish(&self, request_id: &str) {
        if let Some(n) = self.map().get(request_id) {
            n.notify_one();
        }
    }
}
