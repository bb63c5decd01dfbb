//! One module per subcommand. Each returns the exit code, or an operational error message
//! (printed as `error: ...` with exit code 2).

pub mod check;
pub mod new;
pub mod schema;
