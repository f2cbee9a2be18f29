//! Which binary a task ran: its program file's SHA-256, computed once per path.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::Digest;

/// Paths remembered at most (a task file naming more programs hashes the rest each time).
const MAX: usize = 1024;

/// SHA-256 of each program file seen, by path.
#[derive(Default)]
pub struct Hashes {
    seen: RefCell<HashMap<PathBuf, Option<String>>>,
}

impl Hashes {
    /// (path, SHA-256) of `program` for a task record; the hash is `None` if unreadable.
    pub fn provenance(&self, program: Option<PathBuf>) -> Option<(String, Option<String>)> {
        let path = program?;
        let mut seen = self.seen.borrow_mut();
        let hash = match seen.get(&path) {
            Some(h) => h.clone(),
            None => {
                let h = sha256_file(&path);
                if seen.len() < MAX {
                    seen.insert(path.clone(), h.clone());
                }
                h
            }
        };
        Some((path.display().to_string(), hash))
    }
}

/// Hex SHA-256 of a file's contents; `None` if it cannot be read.
fn sha256_file(path: &Path) -> Option<String> {
    let mut f = std::fs::File::open(path).ok()?;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
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
    fn known_digest() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("abc");
        std::fs::write(&p, "abc").unwrap();
        let (_, h) = Hashes::default().provenance(Some(p)).unwrap();
        assert_eq!(h.unwrap(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
