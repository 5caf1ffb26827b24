//! The console's HTTP listener: header-read timeout and connection limit.
