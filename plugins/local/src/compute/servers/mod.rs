//! Servers: records moving through Nova's state machine on a timer.

pub mod actions;
pub mod console;
pub mod model;
pub mod networking;
pub mod repo;
pub mod routes;
pub mod states;
mod tags;
pub mod views;
