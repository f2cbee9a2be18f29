//! What the dispatcher's decisions ask of the world. The run's state changes in plain code
//! that pushes effects; the dispatcher's shell carries them out (signals to process groups,
//! requests withdrawn from launchers, lines on stderr) before it next waits. So the decisions
//! can be tested without a process: a test feeds events and reads the effects.

/// One thing to do outside hrun's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Send `sig` to the process group `pgid` (a task's).
    Signal {
        pgid: i32,
        sig: i32,
    },
    /// Withdraw the request waiting at `slot`'s launcher (its answer says whether it started).
    Withdraw {
        slot: usize,
    },
    /// A line on stderr, after `hrun: ` (and `warning: ` for a warning).
    Say(String),
    Warn(String),
    /// A line (or lines) that differs between hrun's conventions and GNU parallel's (the
    /// `parallel` personality): each side's text, or nothing on that side.
    Tell {
        hrun: Option<String>,
        gnu: Option<String>,
    },
}

/// The effects of a step, in the order they were decided.
#[derive(Debug, Default)]
pub struct Effects(Vec<Effect>);

impl Effects {
    pub fn push(&mut self, e: Effect) {
        self.0.push(e);
    }

    pub fn signal(&mut self, pgid: i32, sig: i32) {
        self.push(Effect::Signal { pgid, sig });
    }

    pub fn say(&mut self, line: impl Into<String>) {
        self.push(Effect::Say(line.into()));
    }

    pub fn warn(&mut self, line: impl Into<String>) {
        self.push(Effect::Warn(line.into()));
    }

    /// Takes what was decided so far, leaving none.
    pub fn take(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.0)
    }

    #[cfg(test)]
    pub fn peek(&self) -> &[Effect] {
        &self.0
    }
}
