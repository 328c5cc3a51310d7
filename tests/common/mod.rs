//! What the integration tests share.

use std::path::Path;
use std::sync::OnceLock;

/// The erato binary under test: the one `ERATO_TEST_BINARY` names, when it is set (scripts/test
/// runs the test programs built for the Open MPI build against the MPICH build this way, instead
/// of building them a second time), else the one Cargo built beside these tests.
///
/// # Panics
/// If `ERATO_TEST_BINARY` names no file.
pub fn erato_binary() -> &'static str {
    static BINARY: OnceLock<String> = OnceLock::new();
    BINARY.get_or_init(|| match std::env::var("ERATO_TEST_BINARY") {
        Ok(path) => {
            assert!(
                Path::new(&path).is_file(),
                "ERATO_TEST_BINARY={path}: no such file"
            );
            path
        }
        Err(_) => env!("CARGO_BIN_EXE_erato").to_string(),
    })
}
