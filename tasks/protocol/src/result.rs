//! The worker's result file: small TOML (written by the worker's `output` module). `hrun reduce` reads
//! these files back with [`McPiResult::parse`].

use serde::{Deserialize, Serialize};

/// The value of [`McPiResult::format`]; identifies a file as one of ours.
pub const FORMAT: &str = "hrun-mc-pi/1";

/// One run of the worker.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct McPiResult {
    /// Always [`FORMAT`].
    pub format: String,
    pub seed: u64,
    pub threads: u64,
    pub samples_per_thread: u64,
    /// `threads * samples_per_thread`.
    pub samples: u64,
    pub hits: u64,
    /// `4 * hits / samples`.
    pub pi: f64,
    /// Unix seconds when sampling started (`start + elapsed_s` is when it ended).
    pub start: f64,
    pub elapsed_s: f64,
    pub samples_per_s: f64,
    /// User + system CPU seconds of the whole worker process.
    pub cpu_s: f64,
    /// The worker's affinity mask as it saw it (kernel list format, e.g. `4-7`).
    pub cpus: String,
    pub host: String,
    /// Worker version.
    pub version: String,
    /// Which kernel computed the hits (`scalar`, or a SIMD one); all give identical hits.
    pub kernel: String,
}

/// Why a file is not a usable result.
#[derive(Debug, thiserror::Error)]
pub enum ResultError {
    #[error("cannot read: {0}")]
    Read(std::io::Error),
    #[error("not TOML: {0}")]
    Toml(String),
    #[error("not an hrun-mc-pi result: {0}")]
    Foreign(String),
    #[error("inconsistent result: {0}")]
    Inconsistent(String),
}

impl McPiResult {
    /// Parses and checks a result file's text.
    pub fn parse(text: &str) -> Result<McPiResult, ResultError> {
        let table: toml::Table = toml::from_str(text).map_err(|e| ResultError::Toml(toml_error(text, &e)))?;
        match table.get("format").and_then(|v| v.as_str()) {
            Some(FORMAT) => {}
            Some(other) => {
                return Err(ResultError::Foreign(format!("format is {other:?}, expected {FORMAT:?}")));
            }
            None => return Err(ResultError::Foreign(format!("no `format = \"{FORMAT}\"` key"))),
        }
        let r: McPiResult = table
            .try_into()
            .map_err(|e: toml::de::Error| ResultError::Inconsistent(one_line(&e.to_string())))?;
        r.check()?;
        Ok(r)
    }

    fn check(&self) -> Result<(), ResultError> {
        let bad = |why: String| Err(ResultError::Inconsistent(why));
        if self.threads == 0 || self.samples_per_thread == 0 {
            return bad(format!(
                "threads = {}, samples_per_thread = {}",
                self.threads, self.samples_per_thread
            ));
        }
        if self.threads.checked_mul(self.samples_per_thread) != Some(self.samples) {
            return bad(format!(
                "samples = {} but threads x samples_per_thread = {} x {}",
                self.samples, self.threads, self.samples_per_thread
            ));
        }
        if self.hits > self.samples {
            return bad(format!("hits = {} exceeds samples = {}", self.hits, self.samples));
        }
        let times = [
            ("pi", self.pi),
            ("start", self.start),
            ("elapsed_s", self.elapsed_s),
            ("samples_per_s", self.samples_per_s),
            ("cpu_s", self.cpu_s),
        ];
        match times.iter().find(|(_, v)| !(v.is_finite() && *v >= 0.0)) {
            Some((field, v)) => bad(format!("{field} = {v}: not a finite number of at least 0")),
            None => Ok(()),
        }
    }

    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a result always encodes")
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// "line 3: invalid array": the place and the reason, without the quoted source line (which
/// may be megabytes long).
fn toml_error(text: &str, e: &toml::de::Error) -> String {
    let why = one_line(e.message());
    match e.span() {
        Some(span) => format!(
            "line {}: {why}",
            text.as_bytes()[..span.start.min(text.len())].split(|&b| b == b'\n').count()
        ),
        None => why,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> McPiResult {
        McPiResult {
            format: FORMAT.into(),
            seed: 3,
            threads: 2,
            samples_per_thread: 100,
            samples: 200,
            hits: 157,
            pi: 3.0,
            start: 1.0e9,
            elapsed_s: 0.5,
            samples_per_s: 400.0,
            cpu_s: 1.0,
            cpus: "0-1".into(),
            host: "h".into(),
            version: "0.1.0".into(),
            kernel: "scalar".into(),
        }
    }

    #[test]
    fn round_trips() {
        let r = sample();
        assert_eq!(McPiResult::parse(&r.to_toml()).unwrap(), r);
    }

    #[test]
    fn foreign_corrupt_and_inconsistent_files_are_told_apart() {
        let cases = [
            ("hits = [", "not TOML: line 1: "),
            ("seed = 1\nhits = [", "not TOML: line 2: "),
            ("title = \"my notes\"", "not an hrun-mc-pi result: no `format"),
            ("format = \"other/2\"", "format is \"other/2\""),
            (&sample().to_toml().replace("hits = 157", "hits = 999"), "hits = 999 exceeds"),
            (&sample().to_toml().replace("samples = 200", "samples = 201"), "samples = 201 but"),
            (&sample().to_toml().replace("seed = 3\n", ""), "missing field `seed`"),
            (&sample().to_toml().replace("cpu_s = 1.0", "cpu_s = -inf"), "cpu_s = -inf: not a finite number"),
            (&sample().to_toml().replace("cpu_s = 1.0", "cpu_s = nan"), "cpu_s = NaN: not a finite number"),
            (&sample().to_toml().replace("pi = 3.0", "pi = inf"), "pi = inf: not a finite"),
            (&sample().to_toml().replace("start = 1000000000.0", "start = -1.0"), "start = -1: not a finite"),
            (&sample().to_toml().replace("elapsed_s = 0.5", "elapsed_s = -0.5"), "elapsed_s = -0.5: not"),
            (
                &sample().to_toml().replace("samples_per_s = 400.0", "samples_per_s = nan"),
                "samples_per_s = NaN",
            ),
        ];
        for (text, needle) in cases {
            let e = McPiResult::parse(text).unwrap_err().to_string();
            assert!(e.contains(needle), "{e}");
        }
    }
}
