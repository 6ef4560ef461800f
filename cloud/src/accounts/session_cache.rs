//! A short-lived, bounded, per-instance cache of active sessions, so that most authenticated
//! requests skip the database.
//!
//! An entry means "session `sid` was active in the database at most `ttl` ago". This
//! instance's own revocations (logout, password reset and change, refresh-token reuse) go
//! through [`super::sessions`], which removes the entries at once; a revocation made by
//! **another instance** sharing the database takes effect here within `ttl` (default 1 s,
//! config `session_cache_ttl_ms`; 0 turns the cache off and every request reads the
//! database). A session's own expiry time is checked on every hit.
//!
//! A request that missed reads the database and then stores what it found, but only with a
//! [`Ticket`] taken before its read: every revocation bumps an epoch, so a read that raced
//! with a revocation is never stored and cannot resurrect the session.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::sessions::ActiveSession;

/// Default freshness of an entry.
pub const DEFAULT_TTL: Duration = Duration::from_secs(1);
/// Default bound on the number of cached sessions (each a few hundred bytes).
pub const DEFAULT_CAPACITY: usize = 50_000;

/// Cheap to clone: clones share one cache.
#[derive(Debug, Clone)]
pub struct SessionCache {
    inner: Option<Arc<Inner>>,
}

#[derive(Debug)]
struct Inner {
    ttl: Duration,
    capacity: usize,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    epoch: u64,
    entries: HashMap<String, Entry>,
    last_sweep: Instant,
}

#[derive(Debug)]
struct Entry {
    session: ActiveSession,
    stored: Instant,
}

/// Taken before a database read; [`SessionCache::put`] stores the result only when no
/// revocation happened since.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket(u64);

impl Default for SessionCache {
    fn default() -> Self {
        Self::new(DEFAULT_TTL, DEFAULT_CAPACITY)
    }
}

impl SessionCache {
    /// A cache whose entries stay fresh for `ttl`, holding at most `capacity` sessions.
    /// A zero `ttl` or `capacity` gives a disabled cache.
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        if ttl.is_zero() || capacity == 0 {
            return Self::disabled();
        }
        SessionCache {
            inner: Some(Arc::new(Inner {
                ttl,
                capacity,
                state: Mutex::new(State {
                    epoch: 0,
                    entries: HashMap::new(),
                    last_sweep: Instant::now(),
                }),
            })),
        }
    }

    /// A cache that never holds anything: every lookup goes to the database.
    pub fn disabled() -> Self {
        SessionCache { inner: None }
    }

    /// The cached session if it is fresh and not past its own expiry (`now`, Unix seconds).
    pub fn get(&self, session_id: &str, now: i64) -> Option<ActiveSession> {
        let inner = self.inner.as_ref()?;
        let state = inner.lock();
        let entry = state.entries.get(session_id)?;
        (entry.stored.elapsed() < inner.ttl && entry.session.expires_at > now)
            .then(|| entry.session.clone())
    }

    /// Take this before reading the database.
    pub fn ticket(&self) -> Ticket {
        Ticket(self.inner.as_ref().map_or(0, |inner| inner.lock().epoch))
    }

    /// Stores a session read from the database after `ticket` was taken; ignored when a
    /// revocation happened in between, or when the cache is full of fresh entries.
    pub fn put(&self, ticket: Ticket, session: &ActiveSession) {
        let Some(inner) = &self.inner else { return };
        let mut state = inner.lock();
        if state.epoch != ticket.0 {
            return;
        }
        if state.entries.len() >= inner.capacity && !state.entries.contains_key(&session.session_id)
        {
            // Sweep stale entries at most once per ttl, so a full cache costs no O(n) work
            // per request; while it stays full of fresh entries, new ones simply go uncached.
            if state.last_sweep.elapsed() < inner.ttl {
                return;
            }
            let ttl = inner.ttl;
            state
                .entries
                .retain(|_, entry| entry.stored.elapsed() < ttl);
            state.last_sweep = Instant::now();
            if state.entries.len() >= inner.capacity {
                return;
            }
        }
        state.entries.insert(
            session.session_id.clone(),
            Entry {
                session: session.clone(),
                stored: Instant::now(),
            },
        );
    }

    /// Forgets one session (call after its revocation is committed).
    pub fn forget(&self, session_id: &str) {
        let Some(inner) = &self.inner else { return };
        let mut state = inner.lock();
        state.epoch += 1;
        state.entries.remove(session_id);
    }

    /// Forgets every session of `user_id` but `keep` (call after the revocation is committed).
    pub fn forget_user(&self, user_id: &str, keep: Option<&str>) {
        let Some(inner) = &self.inner else { return };
        let mut state = inner.lock();
        state.epoch += 1;
        state
            .entries
            .retain(|sid, entry| entry.session.user_id != user_id || Some(sid.as_str()) == keep);
    }

    /// Number of entries held, fresh or not.
    pub fn len(&self) -> usize {
        self.inner
            .as_ref()
            .map_or(0, |inner| inner.lock().entries.len())
    }

    /// Whether the cache holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while the lock is held (map operations and clones only), so a
        // poisoned lock still guards consistent data.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::Role;

    fn session(sid: &str, user: &str, expires_at: i64) -> ActiveSession {
        ActiveSession {
            session_id: sid.into(),
            user_id: user.into(),
            role: Role::Client,
            name: "N".into(),
            email: None,
            team_id: None,
            expires_at,
        }
    }

    #[test]
    fn hits_until_expiry_and_only_when_fresh() {
        let cache = SessionCache::new(Duration::from_secs(60), 10);
        let s = session("ses_a", "usr_1", 1_000);
        cache.put(cache.ticket(), &s);
        assert_eq!(cache.get("ses_a", 999), Some(s.clone()));
        assert_eq!(
            cache.get("ses_a", 1_000),
            None,
            "past the session's own expiry"
        );
        assert_eq!(cache.get("ses_b", 999), None);

        let short = SessionCache::new(Duration::from_nanos(1), 10);
        short.put(short.ticket(), &s);
        std::thread::sleep(Duration::from_millis(1));
        assert_eq!(short.get("ses_a", 0), None, "older than the ttl");
    }

    #[test]
    fn revocations_forget_at_once_and_block_racing_reads() {
        let cache = SessionCache::new(Duration::from_secs(60), 10);
        let racing = cache.ticket();
        cache.put(cache.ticket(), &session("ses_a", "usr_1", i64::MAX));
        cache.put(cache.ticket(), &session("ses_b", "usr_1", i64::MAX));
        cache.put(cache.ticket(), &session("ses_c", "usr_2", i64::MAX));
        cache.forget("ses_a");
        assert_eq!(cache.get("ses_a", 0), None);
        // A read that began before the revocation must not store its (stale) answer.
        cache.put(racing, &session("ses_a", "usr_1", i64::MAX));
        assert_eq!(cache.get("ses_a", 0), None);

        cache.put(cache.ticket(), &session("ses_d", "usr_1", i64::MAX));
        cache.forget_user("usr_1", Some("ses_d"));
        assert_eq!(cache.get("ses_b", 0), None);
        assert!(cache.get("ses_d", 0).is_some(), "the kept session stays");
        assert!(cache.get("ses_c", 0).is_some(), "other users are untouched");
        cache.forget_user("usr_1", None);
        assert_eq!(cache.get("ses_d", 0), None);
    }

    #[test]
    fn stays_bounded_and_disabled_holds_nothing() {
        let cache = SessionCache::new(Duration::from_secs(60), 3);
        for i in 0..10 {
            cache.put(cache.ticket(), &session(&format!("ses_{i}"), "u", i64::MAX));
        }
        assert_eq!(cache.len(), 3);
        assert!(cache.get("ses_0", 0).is_some());
        assert_eq!(cache.get("ses_9", 0), None);

        for off in [
            SessionCache::disabled(),
            SessionCache::new(Duration::ZERO, 10),
        ] {
            off.put(off.ticket(), &session("ses_a", "u", i64::MAX));
            assert!(off.is_empty());
            assert_eq!(off.get("ses_a", 0), None);
        }
    }
}
