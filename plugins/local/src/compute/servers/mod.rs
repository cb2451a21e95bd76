//! Servers: records moving through Nova's state machine on a timer.

pub mod actions;
mod console;
pub mod model;
pub mod networking;
pub mod routes;
pub mod states;
mod tags;
pub mod views;
