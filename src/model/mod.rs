//! The trace model: tables built once from decoded events.
pub mod ntstatus;
