//! Graceful interruption: SIGINT and SIGTERM become a request to stop, and
//! the process groups of the block programs running now are known, so that
//! a stop (a signal, `--max-failures`) kills them at once.
//!
//! Contract:
//! - [`install`] (called by the CLI for `run` and `merge`) sets a handler
//!   for SIGINT and SIGTERM with `sigaction`. On the first signal the
//!   handler records it and sends SIGKILL to every registered process group;
//!   the engine sees [`requested`], starts no new sample, discards what the
//!   killed blocks left in staging, writes its logs and returns, and the CLI
//!   exits with [`exit_code`] (130 for SIGINT, 143 for SIGTERM) through a
//!   normal exit. A second signal kills the groups again and `_exit`s at once.
//! - The handler only loads and stores atomics and calls `kill` and `_exit`,
//!   which are async-signal-safe.
//! - Every block program is started in a process group of its own, which is
//!   [`register`]ed while it may run. A group is unregistered before its
//!   leader is reaped, so a signal never reaches a reused id.
//! - Without [`install`] (a library caller), nothing here changes behaviour:
//!   [`requested`] stays `None`.
//!
//! A leaf of the crate: it imports nothing of it.

use std::sync::atomic::{AtomicI32, Ordering};

/// The first stop signal received, 0 while none.
static SIGNAL: AtomicI32 = AtomicI32::new(0);
/// Room for this many block process groups at once (job slots times blocks
/// with workers); a group that finds no slot is still killed by the end of
/// its block, only not by a signal.
const GROUP_SLOTS: usize = 4096;
/// The registered process group ids, 0 for a free slot.
static GROUPS: [AtomicI32; GROUP_SLOTS] = [const { AtomicI32::new(0) }; GROUP_SLOTS];

/// Installs the SIGINT and SIGTERM handler (idempotent).
pub(crate) fn install() {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: a zeroed sigaction is valid; the handler is async-signal-safe
        // (atomics, kill, _exit) and lives for the whole process.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
    }
}

extern "C" fn on_signal(signal: libc::c_int) {
    let first = SIGNAL
        .compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst)
        .is_ok();
    kill_groups();
    if !first {
        // SAFETY: _exit is async-signal-safe; a second signal stops at once.
        unsafe { libc::_exit(128 + signal) };
    }
}

/// The stop signal received (`SIGINT` or `SIGTERM`), if any.
pub(crate) fn requested() -> Option<i32> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        signal => Some(signal),
    }
}

/// The exit status of a run stopped by `signal`: 128 + its number.
pub(crate) fn exit_code(signal: i32) -> u8 {
    u8::try_from(128 + signal).unwrap_or(1)
}

/// `SIGINT`, `SIGTERM`, or `signal N`.
pub(crate) fn signal_name(signal: i32) -> String {
    match signal {
        libc::SIGINT => "SIGINT".to_owned(),
        libc::SIGTERM => "SIGTERM".to_owned(),
        other => format!("signal {other}"),
    }
}

/// A registered process group; dropping it unregisters the group.
pub(crate) struct Registered {
    slot: Option<usize>,
}

impl Drop for Registered {
    fn drop(&mut self) {
        if let Some(slot) = self.slot {
            GROUPS[slot].store(0, Ordering::SeqCst);
        }
    }
}

/// Registers process group `pgid` (a block program's, just started) for
/// [`kill_groups`]. A stop already requested kills it at once, so a program
/// started while the signal arrived does not run on.
pub(crate) fn register(pgid: u32) -> Registered {
    let Ok(pgid) = i32::try_from(pgid) else {
        return Registered { slot: None };
    };
    let slot = GROUPS.iter().position(|slot| {
        slot.compare_exchange(0, pgid, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    });
    if requested().is_some() {
        kill_group(pgid);
    }
    Registered { slot }
}

/// Sends SIGKILL to every registered process group (async-signal-safe).
pub(crate) fn kill_groups() {
    for slot in &GROUPS {
        let pgid = slot.load(Ordering::SeqCst);
        if pgid > 0 {
            kill_group(pgid);
        }
    }
}

fn kill_group(pgid: i32) {
    // SAFETY: signals only, to a group created for a block program and
    // registered while its leader is unreaped (so its id is not reused).
    unsafe { libc::kill(-pgid, libc::SIGKILL) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_shell_convention() {
        assert_eq!(exit_code(libc::SIGINT), 130);
        assert_eq!(exit_code(libc::SIGTERM), 143);
        assert_eq!(signal_name(libc::SIGTERM), "SIGTERM");
    }

    #[test]
    fn groups_are_registered_until_dropped() {
        let id = 0x7fff_fff0_u32;
        let count = || {
            GROUPS
                .iter()
                .filter(|s| s.load(Ordering::SeqCst) == id as i32)
                .count()
        };
        let registered = register(id);
        assert_eq!(count(), 1);
        drop(registered);
        assert_eq!(count(), 0);
    }
}
