//! `make watch`: a live terminal view of a running stack, read only from the services' own HTTP
//! APIs and /metrics (and Alertmanager's API). Polling and the terminal live in `main.rs`;
//! everything from the raw answers to the screen lines is pure and tested on captures.

pub mod prom;
pub mod raw;
pub mod render;
pub mod snapshot;
