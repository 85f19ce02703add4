-- PostgreSQL schema: the same tables as migrations/sqlite/0001_init.sql.
-- Sequence numbers and times (Unix ms) are BIGINT. JSON documents are kept
-- as TEXT, not JSONB: the text is stored byte for byte as serde wrote it, and
-- JSONB would refuse a "\u0000" escape that a participant can type, which
-- would fail a whole group-committed batch.

CREATE TABLE events (
    id          TEXT PRIMARY KEY,
    definition  TEXT NOT NULL,            -- the event's TOML
    last_seq    BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    closed_at   BIGINT
);

-- Every accepted change, gap-free per event. Holds no personal data.
CREATE TABLE changes (
    event_id  TEXT NOT NULL REFERENCES events(id),
    seq       BIGINT NOT NULL,
    at        BIGINT NOT NULL,
    actor     TEXT NOT NULL,              -- JSON Actor
    action    TEXT NOT NULL,
    body      TEXT NOT NULL,              -- JSON {questions: [QuestionUpdate], floor: [FloorRequest]}
    PRIMARY KEY (event_id, seq)
);

-- Keys are (event_id, id): ids are chosen by clients, so an id reused in
-- another event must not touch that event's rows.
CREATE TABLE questions (
    id          TEXT NOT NULL,
    event_id    TEXT NOT NULL REFERENCES events(id),
    state       TEXT NOT NULL,
    hall        TEXT NOT NULL,
    department  TEXT,
    grp         TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    data        TEXT NOT NULL,            -- JSON Question without personal data
    PRIMARY KEY (event_id, id)
);

-- Personal data, apart so it can be erased (DOMAIN.md).
CREATE TABLE questioners (
    question_id  TEXT NOT NULL,
    event_id     TEXT NOT NULL REFERENCES events(id),
    data         TEXT NOT NULL,
    PRIMARY KEY (event_id, question_id)
);

CREATE TABLE floor_requests (
    id        TEXT NOT NULL,
    event_id  TEXT NOT NULL REFERENCES events(id),
    data      TEXT NOT NULL,
    PRIMARY KEY (event_id, id)
);

-- Role tokens, stored hashed. One live generation per slot.
CREATE TABLE tokens (
    token_hash  TEXT PRIMARY KEY,
    event_id    TEXT NOT NULL REFERENCES events(id),
    slot        TEXT NOT NULL,
    role        TEXT NOT NULL,
    hall        TEXT,
    department  TEXT,
    label       TEXT NOT NULL,
    generation  BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT,
    revoked_at  BIGINT
);
CREATE INDEX tokens_slot ON tokens(event_id, slot);
