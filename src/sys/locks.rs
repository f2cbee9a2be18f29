//! Who holds a file's lock: `flock` does not say, but the kernel lists every lock with the pid
//! that took it in `/proc/locks`, so a refusal can name the other hrun.

use std::fs::File;
use std::os::unix::fs::MetadataExt;

/// The pid of the process holding a `flock` on `file` (its exclusive lock first), from
/// `/proc/locks`; `None` when none is listed or `/proc` cannot be read.
pub fn lock_holder(file: &File) -> Option<u32> {
    let meta = file.metadata().ok()?;
    let text = std::fs::read_to_string("/proc/locks").ok()?;
    holder_in(&text, libc::major(meta.dev()), libc::minor(meta.dev()), meta.ino())
}

/// The holder of a lock on (major, minor, inode) in the text of `/proc/locks`: lines such as
/// `3: FLOCK  ADVISORY  WRITE 6756 fe:00:5326426 0 EOF` (device numbers in hex); waiters
/// (`3: -> FLOCK ...`) hold nothing. A writer's lock wins over a reader's.
fn holder_in(text: &str, major: u32, minor: u32, ino: u64) -> Option<u32> {
    let mut reader = None;
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.get(1) == Some(&"->") || words.len() < 6 {
            continue;
        }
        let mut id = words[5].split(':');
        let (Some(ma), Some(mi), Some(i)) = (id.next(), id.next(), id.next()) else { continue };
        let same = u32::from_str_radix(ma, 16).ok() == Some(major)
            && u32::from_str_radix(mi, 16).ok() == Some(minor)
            && i.parse::<u64>().ok() == Some(ino);
        if !same {
            continue;
        }
        let pid = words[4].parse::<u32>().ok();
        if words[3] == "WRITE" {
            return pid;
        }
        reader = reader.or(pid);
    }
    reader
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_writer_of_the_right_file_is_found() {
        let text = "1: FLOCK  ADVISORY  READ 10 fe:00:77 0 EOF\n\
                    2: -> FLOCK  ADVISORY  WRITE 11 fe:00:77 0 EOF\n\
                    3: FLOCK  ADVISORY  WRITE 12 fe:01:77 0 EOF\n\
                    4: FLOCK  ADVISORY  WRITE 13 fe:00:77 0 EOF\n";
        assert_eq!(holder_in(text, 0xfe, 0, 77), Some(13));
        assert_eq!(holder_in(text, 0xfe, 1, 77), Some(12));
        assert_eq!(holder_in(&text[..44], 0xfe, 0, 77), Some(10), "a reader when no writer");
        assert_eq!(holder_in(text, 0xfe, 0, 78), None);
    }

    #[test]
    fn a_lock_held_here_is_ours() {
        let dir = tempfile::tempdir().unwrap();
        let f = File::create(dir.path().join("x")).unwrap();
        assert_eq!(lock_holder(&f), None);
        assert!(super::super::try_lock(&f).unwrap());
        assert_eq!(lock_holder(&f), Some(std::process::id()));
    }
}
