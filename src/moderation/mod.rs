//! The moderators' assistant: hints on every question (similar questions,
//! suggested department and issue group, screening flags) and a fair running
//! order. Pure, deterministic, offline: no I/O, no clock, no network; the
//! engine's assistant task feeds it every committed question after the
//! change is published and sends the hints it computes to the full audience
//! (moderator, follow-up, admin) in a `hints` frame of their own, so the
//! writer never waits for it.
//!
//! - [`features`]: Vietnamese text → content syllables (teencode, courtesy).
//! - [`similar`]: inverted index, TF-IDF cosine over syllable features.
//! - [`routing`]: naive Bayes department / group model (lexicons + decisions).
//! - [`flags`]: phone, ID, e-mail, profanity screening.
//! - [`order`]: the suggested next question per department and overall.
//!
//! Hints never change a question: they travel beside it to the people who
//! decide, and every decision stays an ordinary command.

pub mod features;
pub mod flags;
pub mod order;
pub mod routing;
pub mod similar;

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::{QState, Question};
use crate::event::EventConfig;

pub use flags::Flag;

/// Most similar questions listed.
pub const MAX_SIMILAR: usize = 5;
/// Lowest cosine score shown as similar (tuned on tests/data; BENCHMARKS.md).
pub const MIN_SIMILAR: f32 = 0.18;
/// Lowest posterior shown as a department or group suggestion.
pub const MIN_ROUTE: f32 = 0.5;

/// A scored reference to another question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimilarHint {
    pub id: Uuid,
    pub score: f32,
}

/// A suggested department or issue group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suggested {
    pub id: String,
    pub score: f32,
}

/// What the assistant says about one question (WIRE.md A). Empty parts are
/// left out of the JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Hints {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub similar: Vec<SimilarHint>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<Suggested>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<Suggested>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<Flag>,
}

// Scores are rounded finite numbers, never NaN, so equality is total; a
// `Question` (which carries hints on the wire) needs `Eq`.
impl Eq for SimilarHint {}
impl Eq for Suggested {}
impl Eq for Hints {}

impl Hints {
    pub fn is_empty(&self) -> bool {
        self.similar.is_empty()
            && self.department.is_none()
            && self.group.is_none()
            && self.flags.is_empty()
    }
}

fn round2(x: f32) -> f32 {
    (x * 100.0).round() / 100.0
}

/// What the assistant keeps of each question.
struct Known {
    text: String,
    state: QState,
    merged_into: Option<Uuid>,
    grams: Vec<String>,
}

/// One event's assistant.
pub struct Assistant {
    similar: similar::SimilarIndex,
    departments: routing::Router,
    groups: routing::Router,
    screen: flags::Screen,
    /// Folded features of the theme, group names and every keyword: a
    /// question sharing none of them is flagged `off_topic`.
    topic: HashSet<String>,
    known: HashMap<Uuid, Known>,
    /// Hints by question, for the version they were computed at.
    cache: HashMap<Uuid, (u32, Hints)>,
    /// The features of the question whose text was observed last: its
    /// hints are asked for right after (the assistant task), and
    /// reading Vietnamese text into syllables is most of a hint's cost.
    last_read: Option<Read>,
}

/// A question's text read once: its similarity features and folded grams.
struct Read {
    id: Uuid,
    text: String,
    features: Vec<(String, f32)>,
    grams: Vec<String>,
}

impl Read {
    fn of(id: Uuid, text: &str) -> Read {
        let content = features::content(text);
        Read {
            id,
            text: text.to_string(),
            features: similar::features(&content),
            grams: features::folded_grams(&content),
        }
    }
}

fn grams_of(text: &str) -> Vec<String> {
    features::folded_grams(&features::content(text))
}

impl Assistant {
    pub fn new(event: &EventConfig) -> Assistant {
        let lexicon = |keywords: &[String]| -> Vec<Vec<String>> {
            keywords.iter().map(|k| grams_of(k)).collect()
        };
        let departments = routing::Router::new(
            event
                .departments
                .iter()
                .map(|d| (d.id.clone(), lexicon(&d.keywords)))
                .collect(),
        );
        let groups = routing::Router::new(
            event
                .groups
                .iter()
                .map(|g| (g.id.clone(), lexicon(&g.keywords)))
                .collect(),
        );
        let mut topic: HashSet<String> = grams_of(&event.theme).into_iter().collect();
        for g in &event.groups {
            topic.extend(grams_of(&g.name));
        }
        for k in event
            .departments
            .iter()
            .flat_map(|d| &d.keywords)
            .chain(event.groups.iter().flat_map(|g| &g.keywords))
        {
            topic.extend(grams_of(k));
        }
        Assistant {
            similar: similar::SimilarIndex::default(),
            departments,
            groups,
            screen: flags::Screen::new(&event.profanity),
            topic,
            known: HashMap::new(),
            cache: HashMap::new(),
            last_read: None,
        }
    }

    /// Questions the department model learnt from (routed by moderators).
    pub fn routed_examples(&self) -> usize {
        self.departments.learnt()
    }

    /// Take in a question as committed (new or changed).
    pub fn observe(&mut self, q: &Question) {
        let text_changed = self.known.get(&q.id).is_none_or(|k| k.text != q.text);
        let read = text_changed.then(|| Read::of(q.id, &q.text));
        let grams = match &read {
            Some(r) => r.grams.clone(),
            None => self
                .known
                .get(&q.id)
                .map(|k| k.grams.clone())
                .unwrap_or_default(),
        };
        if q.state == QState::Rejected {
            self.similar.remove(&q.id);
        } else if let Some(r) = &read {
            self.similar.insert(q.id, &r.features);
        } else if self
            .known
            .get(&q.id)
            .is_some_and(|k| k.state == QState::Rejected)
        {
            self.similar
                .insert(q.id, &similar::features(&features::content(&q.text)));
        }
        if read.is_some() {
            self.last_read = read;
        }
        let live = q.state != QState::Rejected;
        self.departments
            .learn(q.id, q.department.as_deref().filter(|_| live), &grams);
        let group_decided = live && q.state != QState::Pending;
        self.groups
            .learn(q.id, q.group.as_deref().filter(|_| group_decided), &grams);
        self.known.insert(
            q.id,
            Known {
                text: q.text.clone(),
                state: q.state,
                merged_into: q.merged_into,
                grams,
            },
        );
    }

    /// The hints for `q` (as last observed), from the cache when its version
    /// has not changed.
    pub fn hints(&mut self, q: &Question) -> Hints {
        let fresh = match self.cache.get(&q.id) {
            Some((v, h)) if *v == q.version => h.clone(),
            _ => {
                let h = self.compute(q);
                self.cache.insert(q.id, (q.version, h.clone()));
                self.spread(q.id, &h);
                h
            }
        };
        self.current(q.id, fresh)
    }

    /// The hints last computed for `id`, brought up to date with states
    /// changed since; `None` when none were computed yet.
    pub fn latest(&self, id: Uuid) -> Option<Hints> {
        let (_, h) = self.cache.get(&id)?;
        Some(self.current(id, h.clone()))
    }

    /// Every question with hints computed so far.
    pub fn cached_ids(&self) -> impl Iterator<Item = Uuid> + '_ {
        self.cache.keys().copied()
    }

    /// Add `id` to the cached similar lists of the questions it is similar
    /// to, so their hints show it without waiting for their next change.
    fn spread(&mut self, id: Uuid, h: &Hints) {
        for s in &h.similar {
            if let Some((_, other)) = self.cache.get_mut(&s.id) {
                if other.similar.iter().any(|x| x.id == id) {
                    continue;
                }
                other.similar.push(SimilarHint { id, score: s.score });
                other
                    .similar
                    .sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
                other.similar.truncate(MAX_SIMILAR);
            }
        }
    }

    /// Cached hints brought up to date with states changed since: rejected
    /// questions leave the similar list; a merged one is replaced by the
    /// question it was merged into.
    fn current(&self, id: Uuid, mut h: Hints) -> Hints {
        let mut out: Vec<SimilarHint> = Vec::new();
        for s in h.similar {
            let Some(target) = self.resolve(s.id) else {
                continue;
            };
            if target == id {
                continue;
            }
            match out.iter_mut().find(|x| x.id == target) {
                Some(x) => x.score = x.score.max(s.score),
                None => out.push(SimilarHint {
                    id: target,
                    score: s.score,
                }),
            }
        }
        out.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
        out.truncate(MAX_SIMILAR);
        h.similar = out;
        h
    }

    /// The live question `id` stands for: itself, or the one it was merged into.
    fn resolve(&self, id: Uuid) -> Option<Uuid> {
        let k = self.known.get(&id)?;
        match (k.state, k.merged_into) {
            (QState::Rejected, _) => None,
            (QState::Merged, Some(target)) => self
                .known
                .get(&target)
                .filter(|t| t.state != QState::Rejected)
                .map(|_| target),
            _ => Some(id),
        }
    }

    fn compute(&self, q: &Question) -> Hints {
        let fresh;
        let read = match &self.last_read {
            Some(r) if r.id == q.id && r.text == q.text => r,
            _ => {
                fresh = Read::of(q.id, &q.text);
                &fresh
            }
        };
        let grams = &read.grams;
        let found = self
            .similar
            .search(&read.features, Some(&q.id), MAX_SIMILAR * 3);
        let similar = found
            .into_iter()
            .filter(|(_, score)| *score >= MIN_SIMILAR)
            .map(|(id, score)| SimilarHint {
                id,
                score: round2(score),
            })
            .collect();
        let suggest = |r: &routing::Router| {
            r.suggest(grams)
                .filter(|(_, p)| *p >= MIN_ROUTE)
                .map(|(id, p)| Suggested {
                    id: id.to_string(),
                    score: round2(p),
                })
        };
        let mut flags = self.screen.flags(&q.text);
        let on_topic = grams.iter().any(|g| self.topic.contains(g))
            || self.departments.knows_any(grams)
            || self.groups.knows_any(grams);
        if !on_topic && !grams.is_empty() {
            flags.push(Flag::OffTopic);
        }
        Hints {
            similar,
            department: suggest(&self.departments),
            group: suggest(&self.groups),
            flags,
        }
    }

    /// Raw similarity scores of `q`'s text against the index, with no
    /// threshold and no merge mapping (evaluation).
    pub fn similar_scores(&self, q: &Question, k: usize) -> Vec<(Uuid, f32)> {
        let content = features::content(&q.text);
        self.similar
            .search(&similar::features(&content), Some(&q.id), k)
    }

    /// The best department for a text by the model as it stands (evaluation).
    pub fn route(&self, text: &str) -> Option<(String, f32)> {
        self.departments
            .suggest(&grams_of(text))
            .map(|(d, p)| (d.to_string(), p))
    }

    /// The best issue group for a text by the model as it stands (evaluation).
    pub fn route_group(&self, text: &str) -> Option<(String, f32)> {
        self.groups
            .suggest(&grams_of(text))
            .map(|(d, p)| (d.to_string(), p))
    }
}
