//! The integration tests: one crate (linked once), a file per area. Each
//! test starts the real server on port 0 (`common::spawn_app`) and talks to
//! it over real HTTP and WebSocket.

#[path = "../common/mod.rs"]
mod common;

mod backpressure;
mod bad_input;
mod cli;
mod cli_serving;
mod closed_event;
mod cluster;
mod durability;
mod events;
mod faults;
mod hostile;
mod http_api;
mod keepalive;
mod migrate_store;
mod moderation;
mod pages;
mod proxy;
mod reports;
mod resume;
mod revoked;
mod session;
mod store_suite;
mod undo_and_notes;
