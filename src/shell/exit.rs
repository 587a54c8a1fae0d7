//! Exit codes: the one policy for the whole program (DESIGN.md, CLI contract).

/// What the process tells its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Done: valid, converged, no changes.
    Success = 0,
    /// Bad input or an error; nothing was left half-done that a re-run cannot finish.
    Error = 1,
    /// `plan --detailed-exitcode`: there are changes.
    Changes = 2,
    /// `apply`: aborted, production traffic back on the old colour.
    Aborted = 3,
}

impl ExitStatus {
    pub fn code(self) -> i32 {
        self as i32
    }
}
