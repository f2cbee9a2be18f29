//! Removing the result's temporary file when a signal ends the worker: SIGINT (Ctrl-C), SIGTERM
//! (hrun's `--timeout`, a forwarded `scancel`) or SIGHUP, so that no `.NAME.tmp.PID` is left
//! beside the results.
//!
//! The handler makes only async-signal-safe calls: `unlink(2)` of a path turned into a C string
//! before the handler could run, then `raise(3)` of the same signal, whose action
//! `SA_RESETHAND` has already put back to the default, so the worker still dies of that signal
//! (and hrun records it as such) once the handler returns.

use std::ffi::{CString, c_char, c_int};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::ptr;
use std::sync::Once;
use std::sync::atomic::{AtomicPtr, Ordering};

/// The temporary file to remove, as a C string that lives to the end of the process; null when
/// there is none.
static TEMPORARY: AtomicPtr<c_char> = AtomicPtr::new(ptr::null_mut());

const SIGNALS: [c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

/// From now on, a terminating signal removes `path` before the worker dies. Call it before the
/// file is created, so that no moment exists when it is there but unknown to the handler.
pub fn remove_on_signal(path: &Path) {
    static INSTALL: Once = Once::new();
    let Ok(c) = CString::new(path.as_os_str().as_bytes()) else { return };
    // Leaked on purpose: the handler may read it at any moment until the process ends.
    TEMPORARY.store(c.into_raw(), Ordering::SeqCst);
    INSTALL.call_once(install);
}

/// The file is gone (renamed into place, or removed): a signal leaves nothing to remove.
pub fn forget() {
    TEMPORARY.store(ptr::null_mut(), Ordering::SeqCst);
}

fn install() {
    for sig in SIGNALS {
        // SAFETY: a zeroed sigaction is a valid starting point; the handler has the signature
        // sa_handler expects; sigemptyset and sigaction get valid pointers.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as extern "C" fn(c_int) as libc::sighandler_t;
            action.sa_flags = libc::SA_RESETHAND;
            libc::sigemptyset(&mut action.sa_mask);
            // A signal ignored by whoever started the worker (nohup) stays ignored.
            let mut old: libc::sigaction = std::mem::zeroed();
            libc::sigaction(sig, ptr::null(), &mut old);
            if old.sa_sigaction != libc::SIG_IGN {
                libc::sigaction(sig, &action, ptr::null_mut());
            }
        }
    }
}

extern "C" fn on_signal(sig: c_int) {
    let path = TEMPORARY.load(Ordering::SeqCst);
    // SAFETY: `path` is null or a leaked, NUL-terminated CString; unlink and raise are
    // async-signal-safe. The signal is blocked while this runs and its action is the default
    // again (SA_RESETHAND), so the raised signal ends the process as soon as the handler returns.
    unsafe {
        if !path.is_null() {
            libc::unlink(path);
        }
        libc::raise(sig);
    }
}
