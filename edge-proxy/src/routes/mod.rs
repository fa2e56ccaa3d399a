//! The edge's HTTP surface.

pub mod chain;
pub mod evaluate;
pub mod health;
pub mod ofrep;
pub mod stream;

use crate::error::EdgeError;

pub async fn unknown_route() -> EdgeError {
    EdgeError::BadRequest {
        code: "route_not_found",
        message: "no such route".into(),
        field: None,
    }
}
