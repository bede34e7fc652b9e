//! The scenario builder on top of the ETL writer, the built-in demo incident
//! made with it, and the demo modules' symbols in Breakpad text format.
pub mod payloads;
pub mod scenario;

pub use scenario::{random_scenario, GroundTruth, RandomOptions, Scenario, ScenarioError};
