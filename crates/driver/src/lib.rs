//! erato driver
