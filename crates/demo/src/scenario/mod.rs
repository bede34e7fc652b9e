//! The scenario builder: a machine described as data (CPUs, processes,
//! threads, modules, a per-CPU schedule, system calls, profile samples) and
//! written as a kernel trace, with the ground truth a reader must recover.
//!
//! Times in a scenario are QPC ticks since the trace start. The schedule is
//! checked before anything is written: a system call or a sample can only
//! happen while its thread runs on some CPU, and a thread runs on one CPU at a time.
//!
//! - `spec`: the machine as data;
//! - `check`: the consistency checks and the per-CPU timeline they build;
//! - `write`: the trace written through the ETL writer;
//! - `truth`: what the written trace must give back;
//! - `random`: random but consistent machines.
mod check;
mod random;
mod spec;
mod truth;
mod write;

use super::payloads;
use etl::writer::WriteError;
use std::fmt;

pub use super::payloads::DispatcherHeader;
pub use check::{Stretch, Timeline};
pub use random::{random_scenario, DemoRng, RandomOptions};
pub use spec::*;
pub use truth::{GroundTruth, IntervalTruth, SampleTruth, SyscallTruth, WakeupTruth};

/// Why a scenario cannot be written: it contradicts itself, or the writer refused it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError {
    pub what: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "inconsistent scenario: {}", self.what)
    }
}

impl std::error::Error for ScenarioError {}

impl From<WriteError> for ScenarioError {
    fn from(e: WriteError) -> Self {
        ScenarioError { what: e.to_string() }
    }
}

impl From<payloads::PayloadError> for ScenarioError {
    fn from(e: payloads::PayloadError) -> Self {
        ScenarioError { what: e.to_string() }
    }
}

fn err<T>(what: String) -> Result<T, ScenarioError> {
    Err(ScenarioError { what })
}
