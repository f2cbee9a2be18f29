//! Which binary a task ran: its program file's SHA-256, computed once per path, on a thread
//! of its own, so a big (or endless) file never holds up the dispatcher: a task whose
//! program's hash is not ready when it ends is recorded without it (later tasks get it).
//! Only regular files up to [`MAX_BYTES`] are hashed.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};

use sha2::Digest;

/// Paths remembered at most (a task file naming more programs goes without their hashes).
const MAX_PATHS: usize = 1024;
/// Larger program files are not hashed (a 256 MiB binary takes about a second).
pub const MAX_BYTES: u64 = 256 << 20;

type Done = Arc<Mutex<HashMap<PathBuf, Option<String>>>>;

/// SHA-256 of each program file seen, by path.
#[derive(Default)]
pub struct Hashes {
    asked: RefCell<HashMap<PathBuf, Option<String>>>,
    done: Done,
    hasher: RefCell<Option<mpsc::Sender<PathBuf>>>,
}

impl Hashes {
    /// Asks for the hash of `program` (a task is starting with it); returns at once.
    pub fn request(&self, program: &Path) {
        let mut asked = self.asked.borrow_mut();
        if asked.contains_key(program) || asked.len() >= MAX_PATHS {
            return;
        }
        asked.insert(program.to_path_buf(), None);
        let mut hasher = self.hasher.borrow_mut();
        if hasher.is_none() {
            let (tx, rx) = mpsc::channel::<PathBuf>();
            let done = self.done.clone();
            let spawned = std::thread::Builder::new().name("hrun-hash".into()).spawn(move || {
                for path in rx {
                    let h = sha256_file(&path);
                    done.lock().unwrap_or_else(|e| e.into_inner()).insert(path, h);
                }
            });
            if spawned.is_err() {
                return;
            }
            *hasher = Some(tx);
        }
        if let Some(tx) = hasher.as_ref() {
            let _ = tx.send(program.to_path_buf());
        }
    }

    /// The hash of `program`, waiting up to `patience` for the thread to finish it (only the
    /// first task of a program ever waits, and never longer).
    pub fn get_within(&self, program: &Path, patience: std::time::Duration) -> Option<String> {
        let until = std::time::Instant::now() + patience;
        loop {
            let h = self.get(program);
            let pending = h.is_none()
                && self.asked.borrow().contains_key(program)
                && !self.done.lock().unwrap_or_else(|e| e.into_inner()).contains_key(program);
            if !pending || std::time::Instant::now() >= until {
                return h;
            }
            std::thread::sleep(std::time::Duration::from_micros(200));
        }
    }

    /// The hash of `program` if it is ready (never waits).
    pub fn get(&self, program: &Path) -> Option<String> {
        let mut asked = self.asked.borrow_mut();
        if let Some(Some(h)) = asked.get(program) {
            return Some(h.clone());
        }
        let ready = self.done.lock().unwrap_or_else(|e| e.into_inner()).get(program).cloned().flatten();
        if let Some(h) = &ready {
            asked.insert(program.to_path_buf(), Some(h.clone()));
        }
        ready
    }
}

/// Hex SHA-256 of a regular file of at most [`MAX_BYTES`]; `None` for anything else (a
/// device, a FIFO, a huge file) or when it cannot be read.
pub fn sha256_file(path: &Path) -> Option<String> {
    use std::os::unix::fs::OpenOptionsExt;
    let small_regular = |m: &std::fs::Metadata| m.is_file() && m.len() <= MAX_BYTES;
    if !small_regular(&std::fs::metadata(path).ok()?) {
        return None;
    }
    let f = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path).ok()?;
    if !small_regular(&f.metadata().ok()?) {
        return None;
    }
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut f = f.take(MAX_BYTES + 1);
    loop {
        let n = f.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Some(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digest_off_the_callers_thread() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("abc");
        std::fs::write(&p, "abc").unwrap();
        let hashes = Hashes::default();
        hashes.request(&p);
        let t0 = std::time::Instant::now();
        let h = loop {
            if let Some(h) = hashes.get(&p) {
                break h;
            }
            assert!(t0.elapsed() < std::time::Duration::from_secs(10));
            std::thread::sleep(std::time::Duration::from_millis(1));
        };
        assert_eq!(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn only_small_regular_files_are_hashed() {
        assert_eq!(sha256_file(Path::new("/dev/zero")), None, "a device: never read");
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(sha256_file(dir.path()), None, "a directory");
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        assert_eq!(sha256_file(&fifo), None, "a FIFO: never opened for reading");
    }
}
