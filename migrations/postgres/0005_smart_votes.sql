-- "Tôi cũng muốn hỏi": one vote per device per question (issue 14).
-- `voter` is a hash of the event and the phone's device id, never the id itself.
CREATE TABLE votes (
    event_id     TEXT NOT NULL REFERENCES events(id),
    question_id  TEXT NOT NULL,
    voter        TEXT NOT NULL,
    at           BIGINT NOT NULL,
    PRIMARY KEY (event_id, question_id, voter)
);
