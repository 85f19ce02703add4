//! Suggested department and issue group: a naive Bayes model over syllable
//! features, seeded by each class's keyword lexicon (the event TOML) and
//! taught by the moderators' own decisions.
//!
//! A keyword ("vốn vay", "hợp tác xã") counts as a small document of its
//! class, weighed more than a question because someone chose it on purpose.
//! Each question a moderator has routed counts as one document of the class
//! they chose; it is replaced when they change their mind or the wording and
//! removed when the question is rejected, so the model is a function of the
//! event's current state and is the same after a restart. Only features the
//! model has seen vote; a question with none of them gets no suggestion.

use std::collections::HashMap;

use uuid::Uuid;

/// Weight of a keyword's features against a routed question's.
const KEYWORD_WEIGHT: f32 = 3.0;
/// Additive smoothing.
const ALPHA: f32 = 0.2;

/// One class (a department or an issue group) and what it has learnt.
struct Class {
    id: String,
    counts: HashMap<String, f32>,
    total: f32,
}

/// A model over one kind of class.
pub struct Router {
    classes: Vec<Class>,
    /// How many classes' counts hold each feature.
    known: HashMap<String, u32>,
    /// What each routed question contributed: (class index, features).
    learnt: HashMap<Uuid, (usize, Vec<String>)>,
}

impl Router {
    /// A model seeded with `(class id, keyword features)`.
    pub fn new(classes: Vec<(String, Vec<Vec<String>>)>) -> Router {
        let mut router = Router {
            classes: Vec::new(),
            known: HashMap::new(),
            learnt: HashMap::new(),
        };
        for (i, (id, keywords)) in classes.into_iter().enumerate() {
            router.classes.push(Class {
                id,
                counts: HashMap::new(),
                total: 0.0,
            });
            for grams in keywords {
                router.add(i, &grams, KEYWORD_WEIGHT);
            }
        }
        router
    }

    fn add(&mut self, class: usize, grams: &[String], weight: f32) {
        let c = &mut self.classes[class];
        for g in grams {
            let n = c.counts.entry(g.clone()).or_insert(0.0);
            if *n == 0.0 {
                *self.known.entry(g.clone()).or_insert(0) += 1;
            }
            *n += weight;
            c.total += weight;
        }
    }

    fn subtract(&mut self, class: usize, grams: &[String], weight: f32) {
        let c = &mut self.classes[class];
        for g in grams {
            if let Some(n) = c.counts.get_mut(g) {
                *n -= weight;
                c.total -= weight;
                if *n <= 1e-6 {
                    c.counts.remove(g);
                    if let Some(k) = self.known.get_mut(g) {
                        *k -= 1;
                        if *k == 0 {
                            self.known.remove(g);
                        }
                    }
                }
            }
        }
    }

    /// Record that question `id` (with these features) belongs to `class`,
    /// replacing what it taught before; `None` forgets it.
    pub fn learn(&mut self, id: Uuid, class: Option<&str>, grams: &[String]) {
        if let Some((old, old_grams)) = self.learnt.remove(&id) {
            self.subtract(old, &old_grams, 1.0);
        }
        let Some(i) = class.and_then(|c| self.classes.iter().position(|k| k.id == c)) else {
            return;
        };
        self.add(i, grams, 1.0);
        self.learnt.insert(id, (i, grams.to_vec()));
    }

    /// Questions the model learnt from.
    pub fn learnt(&self) -> usize {
        self.learnt.len()
    }

    /// Whether any class knows any of these features.
    pub fn knows_any(&self, grams: &[String]) -> bool {
        grams.iter().any(|g| self.known.contains_key(g))
    }

    /// The most likely class and its posterior probability, or `None` when
    /// no known feature speaks for any class.
    pub fn suggest(&self, grams: &[String]) -> Option<(&str, f32)> {
        let known: Vec<&String> = grams
            .iter()
            .filter(|g| self.known.contains_key(*g))
            .collect();
        if known.is_empty() || self.classes.is_empty() {
            return None;
        }
        let vocab = self.known.len() as f32;
        let logs: Vec<f32> = self
            .classes
            .iter()
            .map(|c| {
                let denom = (c.total + ALPHA * vocab).ln();
                known
                    .iter()
                    .map(|g| (c.counts.get(*g).copied().unwrap_or(0.0) + ALPHA).ln() - denom)
                    .sum()
            })
            .collect();
        let best = logs
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(&a.0)))
            .map(|(i, _)| i)?;
        let max = logs[best];
        let sum: f32 = logs.iter().map(|l| (l - max).exp()).sum();
        Some((self.classes[best].id.as_str(), 1.0 / sum))
    }
}

#[cfg(test)]
mod tests {
    use super::super::features::{content, folded_grams};
    use super::*;

    fn grams(text: &str) -> Vec<String> {
        folded_grams(&content(text))
    }

    fn router() -> Router {
        Router::new(vec![
            (
                "gddt".into(),
                vec![grams("trường học"), grams("học sinh"), grams("giáo viên")],
            ),
            (
                "nnptnt".into(),
                vec![grams("nông nghiệp"), grams("lúa"), grams("hợp tác xã")],
            ),
        ])
    }

    #[test]
    fn keywords_alone_route_a_question() {
        let r = router();
        let (class, score) = r
            .suggest(&grams("Giá lúa thấp, hợp tác xã có giúp được không?"))
            .unwrap();
        assert_eq!(class, "nnptnt");
        assert!(score > 0.9, "{score}");
        assert_eq!(r.suggest(&grams("hoc sinh truong nghe")).unwrap().0, "gddt");
    }

    #[test]
    fn no_known_feature_no_suggestion() {
        assert_eq!(router().suggest(&grams("Xin chào mọi người ạ")), None);
    }

    #[test]
    fn moderators_decisions_teach_and_can_be_taken_back() {
        let mut r = router();
        let q = grams("nuôi cá tra xuất khẩu");
        assert_eq!(r.suggest(&q), None);
        let id = Uuid::from_u128(1);
        r.learn(id, Some("nnptnt"), &grams("nuôi cá tra"));
        assert_eq!(r.suggest(&q).unwrap().0, "nnptnt");
        assert_eq!(r.learnt(), 1);
        r.learn(id, Some("gddt"), &grams("nuôi cá tra"));
        assert_eq!(r.suggest(&q).unwrap().0, "gddt", "the last decision counts");
        r.learn(id, None, &[]);
        assert_eq!(r.suggest(&q), None, "forgotten");
        assert_eq!(r.learnt(), 0);
    }
}
