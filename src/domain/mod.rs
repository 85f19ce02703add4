//! The domain: question states and transitions, roles and visibility, and
//! Vietnamese text rules. Pure: no I/O, no clocks, no async. Everything here
//! is unit-tested in `tests.rs`.

pub mod error;
pub mod question;
pub mod role;
pub mod text;

#[cfg(test)]
mod tests;

pub use error::DomainError;
pub use question::{
    apply, BackstageNote, BeforeMerge, Command, Ctx, FloorRequest, FloorState, FollowUp, Outcome,
    QState, Question, QuestionUpdate, Questioner, Source, View,
};
pub use role::{Actor, Audience, Role};
