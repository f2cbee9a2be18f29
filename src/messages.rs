//! hrun's own lines on standard error: notes, warnings and errors, each `hrun: ...`, one
//! channel so that `--quiet` can hold back what is not a problem. Task output never goes
//! through here.

use std::sync::atomic::{AtomicBool, Ordering};

static QUIET: AtomicBool = AtomicBool::new(false);
static GNU: AtomicBool = AtomicBool::new(false);

/// hrun runs as `parallel`: warnings are held back too, as GNU parallel would not print them
/// (they concern hrun's own additions: slots, pinning, the log).
pub fn set_gnu(gnu: bool) {
    GNU.store(gnu, Ordering::Relaxed);
}

/// True when hrun runs as `parallel`.
pub fn gnu() -> bool {
    GNU.load(Ordering::Relaxed)
}

/// `--quiet`: notes are held back from now on (warnings and errors still go out).
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// True under `--quiet`.
pub fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// `hrun: note: ...`: something worth knowing that is not a problem; not under `--quiet`.
pub fn note(text: impl std::fmt::Display) {
    if !quiet() {
        eprintln!("hrun: note: {text}");
    }
}

/// `hrun: warning: ...`: something that may be a problem; said even under `--quiet`.
pub fn warning(text: impl std::fmt::Display) {
    if GNU.load(Ordering::Relaxed) {
        return;
    }
    eprintln!("hrun: warning: {text}");
}

/// A warning GNU parallel gives too: as `parallel`, GNU's line (`parallel: Warning: ...`),
/// else hrun's (`hrun: warning: ...`).
pub fn shared_warning(hrun: impl std::fmt::Display, gnu: impl std::fmt::Display) {
    if GNU.load(Ordering::Relaxed) {
        eprintln!("parallel: Warning: {gnu}");
    } else {
        eprintln!("hrun: warning: {hrun}");
    }
}
