//! `-k` with a `--results` table: rows in the order tasks started (job order, as GNU writes
//! them), whatever order the tasks end in. A row that ends before an earlier task's waits
//! here; a task that ends without a row (cut short, left for `--resume`) lets the rows after
//! it go. Pure bookkeeping: what a held row is, and where it is written, is the caller's.

use std::collections::{HashMap, VecDeque};

/// Rows of type `T`, released in start order.
#[derive(Debug)]
pub struct InOrder<T> {
    /// Tasks started and not yet released, oldest first.
    expected: VecDeque<u64>,
    /// Tasks that ended before their turn: `None` for one that has no row.
    held: HashMap<u64, Option<T>>,
}

impl<T> Default for InOrder<T> {
    fn default() -> Self {
        InOrder { expected: VecDeque::new(), held: HashMap::new() }
    }
}

impl<T> InOrder<T> {
    /// Task `seq` started (its first attempt): its row comes after those started before it.
    pub fn started(&mut self, seq: u64) {
        self.expected.push_back(seq);
    }

    /// Task `seq` ended, with its row or with none; returns the rows whose turn has come, in
    /// order (none while an earlier task runs). A task never announced as started is not
    /// held back.
    pub fn ended(&mut self, seq: u64, row: Option<T>) -> Vec<T> {
        if !self.expected.contains(&seq) {
            return row.into_iter().collect();
        }
        self.held.insert(seq, row);
        let mut out = Vec::new();
        while let Some(front) = self.expected.front()
            && let Some(row) = self.held.remove(front)
        {
            self.expected.pop_front();
            out.extend(row);
        }
        out
    }

    /// The rows still held (the run ends with tasks that never ended), in order.
    pub fn rest(&mut self) -> Vec<T> {
        let held = &mut self.held;
        let out = self.expected.drain(..).filter_map(|seq| held.remove(&seq).flatten()).collect();
        held.clear();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(starts: &[u64]) -> InOrder<u64> {
        let mut o = InOrder::default();
        starts.iter().for_each(|&s| o.started(s));
        o
    }

    #[test]
    fn rows_in_start_order_whatever_order_tasks_end_in() {
        let mut o = order(&[1, 2, 3, 4]);
        assert_eq!(o.ended(3, Some(3)), Vec::<u64>::new());
        assert_eq!(o.ended(2, Some(2)), Vec::<u64>::new());
        assert_eq!(o.ended(1, Some(1)), [1, 2, 3]);
        assert_eq!(o.ended(4, Some(4)), [4]);
        assert!(o.rest().is_empty());
    }

    #[test]
    fn a_task_without_a_row_lets_the_later_rows_go() {
        let mut o = order(&[1, 2, 3]);
        assert!(o.ended(2, Some(2)).is_empty());
        assert!(o.ended(3, Some(3)).is_empty());
        assert_eq!(o.ended(1, None), [2, 3]);
    }

    #[test]
    fn start_order_not_number_order() {
        // A resumed run starts the tasks left, which need not be in number order.
        let mut o = order(&[5, 2, 9]);
        assert!(o.ended(2, Some(2)).is_empty());
        assert_eq!(o.ended(5, Some(5)), [5, 2]);
        assert_eq!(o.ended(9, Some(9)), [9]);
    }

    #[test]
    fn a_task_never_started_here_is_not_held() {
        let mut o = order(&[1]);
        assert_eq!(o.ended(7, Some(7)), [7]);
        assert_eq!(o.ended(8, None), Vec::<u64>::new());
        assert_eq!(o.ended(1, Some(1)), [1]);
    }

    #[test]
    fn at_the_end_held_rows_go_in_order_past_tasks_that_never_ended() {
        let mut o = order(&[1, 2, 3, 4, 5]);
        assert!(o.ended(4, Some(4)).is_empty());
        assert!(o.ended(2, Some(2)).is_empty());
        assert!(o.ended(3, None).is_empty());
        assert_eq!(o.rest(), [2, 4]);
        assert!(o.rest().is_empty(), "released once");
        assert_eq!(o.ended(1, Some(1)), [1], "a task ending after the rest went is not held");
    }
}
