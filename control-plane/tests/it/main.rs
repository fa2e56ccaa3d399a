//! Integration tests: the real router served by the real `run` on a port-0 listener,
//! against a fresh PostgreSQL database per test (`#[sqlx::test]`), spoken to over HTTP.

mod audit;
mod auth;
mod binary;
mod changes;
mod dashboard;
mod edge;
mod flags;
mod insights;
mod metrics;
mod openapi;
mod playground;
mod projects;
mod support;
mod team;
