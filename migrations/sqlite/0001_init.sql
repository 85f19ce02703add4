-- Events, their change log, and the current state derived from it.
CREATE TABLE events (
    id          TEXT PRIMARY KEY,
    definition  TEXT NOT NULL,            -- the event's TOML
    last_seq    INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    closed_at   INTEGER
);

-- Every accepted change, gap-free per event. Holds no personal data.
CREATE TABLE changes (
    event_id  TEXT NOT NULL REFERENCES events(id),
    seq       INTEGER NOT NULL,
    at        INTEGER NOT NULL,
    actor     TEXT NOT NULL,              -- JSON Actor
    action    TEXT NOT NULL,
    body      TEXT NOT NULL,              -- JSON {questions: [QuestionUpdate], floor: [FloorRequest]}
    PRIMARY KEY (event_id, seq)
);

-- Ids are chosen by clients, so every key includes the event.
CREATE TABLE questions (
    id          TEXT NOT NULL,
    event_id    TEXT NOT NULL REFERENCES events(id),
    state       TEXT NOT NULL,
    hall        TEXT NOT NULL,
    department  TEXT,
    grp         TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
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
    generation  INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER,
    revoked_at  INTEGER
);
CREATE INDEX tokens_slot ON tokens(event_id, slot);
