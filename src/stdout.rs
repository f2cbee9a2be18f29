//! hrun's own output on standard output (estimates, plans, scripts, pages): a failed write is
//! an error (`> /dev/full`: exit 255, "cannot write to standard output: ..."), while a reader
//! that went away (`hrun slots --json | head -c1`: EPIPE) ends the output quietly, as in any
//! Unix filter: it has what it wanted.

use std::io::{ErrorKind, Write};

use anyhow::Result;

/// Writes all of `bytes` to standard output and flushes them; a closed pipe is not an error.
pub fn print(bytes: impl AsRef<[u8]>) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes.as_ref()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(anyhow::Error::new(e).context("cannot write to standard output")),
        Ok(()) => Ok(()),
    }
}

/// `result` of a writer to standard output, with a closed pipe (`hrun gen | head`) as success.
pub fn pipe_closed_is_ok(result: Result<()>) -> Result<()> {
    match result {
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == ErrorKind::BrokenPipe)
            }) =>
        {
            Ok(())
        }
        other => other,
    }
}
