//! Unit tests of the domain (filled in on the domain branch).
