//! Small helpers the SDK tests share.

use hydra_sdk::reqwest::StatusCode;
use hydra_sdk::{ApiError, HydraError};

/// The status and Hydra's error fields of a call that must fail with a typed Hydra error; any
/// other outcome is the test's error.
pub fn hydra_error<T: std::fmt::Debug>(
    result: Result<T, ApiError>,
) -> Result<(StatusCode, HydraError), Box<dyn std::error::Error>> {
    match result {
        Err(ApiError::Hydra { status, error, .. }) => Ok((status, error)),
        other => Err(format!("expected a typed Hydra error, got {other:?}").into()),
    }
}
