//! From findings to what people use: threat instances with their mitigations and residual
//! risk, totals, the backlog and the alignment with user stories (`report`), and their
//! renderings.

pub mod report;
