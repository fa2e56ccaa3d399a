//! The edge against a real control plane and PostgreSQL: both served by their real
//! `run` functions on port-0 listeners, spoken to over HTTP.

mod binary;
mod evaluate;
mod fleet;
mod interop;
mod metrics;
mod ofrep;
mod resilience;
mod stream;
mod support;
mod usage;
mod visibility;
