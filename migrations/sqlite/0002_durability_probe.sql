-- One row the health probe rewrites while the store is failing (disk full,
-- connection lost): a probe commit that succeeds proves commits reach the
-- disk again. `filler` makes the probe need a few pages, like a real batch.
CREATE TABLE store_probe (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    at      INTEGER NOT NULL,
    filler  BLOB NOT NULL
);
