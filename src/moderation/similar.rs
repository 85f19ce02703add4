//! Similar questions: an inverted index over syllable features with TF-IDF
//! cosine scores.
//!
//! Features of a question are its folded content syllables, their adjacent
//! pairs, and (a weaker, second signal) the syllables as written with their
//! diacritics, so "vốn vay" typed with accents matches itself a little
//! better than "von vay" does, but both match. A query only touches the
//! postings of its own features, so finding the best matches among 5,000
//! questions reads a few thousand postings, not 5,000 texts.

use std::collections::HashMap;

use uuid::Uuid;

use super::features::Syllable;

/// Weight of a folded syllable, a folded pair, and a syllable as written.
const W_SYLLABLE: f32 = 1.0;
const W_PAIR: f32 = 1.4;
const W_WRITTEN: f32 = 0.4;
/// Document norms are recomputed once the collection grew or shrank by this share.
const RENORM_SHARE: f32 = 0.05;

struct Doc {
    id: Uuid,
    /// (feature, weight before idf), sorted by feature.
    terms: Vec<(u32, f32)>,
    live: bool,
    /// Norm under the idf of the last renormalisation.
    norm: f32,
}

/// The searchable questions of one event.
#[derive(Default)]
pub struct SimilarIndex {
    feature_ids: HashMap<String, u32>,
    df: Vec<u32>,
    postings: Vec<Vec<u32>>,
    docs: Vec<Doc>,
    slot: HashMap<Uuid, u32>,
    live: usize,
    normed_at: usize,
}

/// A question's features with their raw weights (`1 + ln tf` times the kind's weight).
pub fn features(content: &[Syllable]) -> Vec<(String, f32)> {
    let mut tf: HashMap<String, (f32, f32)> = HashMap::new();
    let mut add = |key: String, w: f32| {
        let e = tf.entry(key).or_insert((0.0, w));
        e.0 += 1.0;
    };
    for s in content {
        add(format!("f:{}", s.folded), W_SYLLABLE);
        if !s.written.is_ascii() {
            add(format!("w:{}", s.written), W_WRITTEN);
        }
    }
    for pair in content.windows(2) {
        add(format!("p:{} {}", pair[0].folded, pair[1].folded), W_PAIR);
    }
    let mut out: Vec<(String, f32)> = tf
        .into_iter()
        .map(|(k, (n, w))| (k, w * (1.0 + n.ln())))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

impl SimilarIndex {
    pub fn len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    fn idf(&self, df: u32) -> f32 {
        (1.0 + self.live.max(1) as f32 / df.max(1) as f32).ln()
    }

    /// Add or replace a question.
    pub fn insert(&mut self, id: Uuid, features: &[(String, f32)]) {
        self.remove(&id);
        let slot = self.docs.len() as u32;
        let mut terms = Vec::with_capacity(features.len());
        for (key, w) in features {
            let fid = match self.feature_ids.get(key) {
                Some(f) => *f,
                None => {
                    let f = self.df.len() as u32;
                    self.feature_ids.insert(key.clone(), f);
                    self.df.push(0);
                    self.postings.push(Vec::new());
                    f
                }
            };
            self.df[fid as usize] += 1;
            self.postings[fid as usize].push(slot);
            terms.push((fid, *w));
        }
        terms.sort_by_key(|t| t.0);
        self.docs.push(Doc {
            id,
            terms,
            live: true,
            norm: 0.0,
        });
        self.slot.insert(id, slot);
        self.live += 1;
        let norm = self.norm(slot as usize);
        self.docs[slot as usize].norm = norm;
        self.maybe_renorm();
    }

    /// Take a question out (rejected, or about to be replaced).
    pub fn remove(&mut self, id: &Uuid) {
        let Some(slot) = self.slot.remove(id) else {
            return;
        };
        let doc = &mut self.docs[slot as usize];
        doc.live = false;
        for (fid, _) in &doc.terms {
            self.df[*fid as usize] -= 1;
        }
        self.live -= 1;
        // Drop dead postings of these features now, so they never pile up.
        let terms = std::mem::take(&mut self.docs[slot as usize].terms);
        for (fid, _) in &terms {
            self.postings[*fid as usize].retain(|s| *s != slot);
        }
        self.maybe_renorm();
    }

    fn norm(&self, slot: usize) -> f32 {
        self.docs[slot]
            .terms
            .iter()
            .map(|(f, w)| {
                let x = w * self.idf(self.df[*f as usize]);
                x * x
            })
            .sum::<f32>()
            .sqrt()
    }

    fn maybe_renorm(&mut self) {
        let drift = (self.live as f32 - self.normed_at as f32).abs();
        if drift <= RENORM_SHARE * self.normed_at as f32 && self.normed_at > 0 {
            return;
        }
        for slot in 0..self.docs.len() {
            if self.docs[slot].live {
                self.docs[slot].norm = self.norm(slot);
            }
        }
        self.normed_at = self.live;
    }

    /// The `k` best matches for `features` (cosine, best first, ties by id),
    /// `exclude` left out.
    pub fn search(
        &self,
        features: &[(String, f32)],
        exclude: Option<&Uuid>,
        k: usize,
    ) -> Vec<(Uuid, f32)> {
        let mut q_norm = 0.0f32;
        let mut acc: HashMap<u32, f32> = HashMap::new();
        for (key, w) in features {
            let fid = self.feature_ids.get(key).copied();
            let df = fid.map(|f| self.df[f as usize]).unwrap_or(0);
            let idf = self.idf(df);
            q_norm += (w * idf) * (w * idf);
            let Some(fid) = fid else { continue };
            for slot in &self.postings[fid as usize] {
                let doc = &self.docs[*slot as usize];
                if let Ok(i) = doc.terms.binary_search_by_key(&fid, |t| t.0) {
                    *acc.entry(*slot).or_insert(0.0) += w * idf * doc.terms[i].1 * idf;
                }
            }
        }
        let q_norm = q_norm.sqrt();
        if q_norm == 0.0 {
            return Vec::new();
        }
        let mut scored: Vec<(Uuid, f32)> = acc
            .into_iter()
            .filter_map(|(slot, dot)| {
                let doc = &self.docs[slot as usize];
                (doc.live && Some(&doc.id) != exclude && doc.norm > 0.0)
                    .then(|| (doc.id, (dot / (q_norm * doc.norm)).min(1.0)))
            })
            .collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        scored.truncate(k);
        scored
    }
}

#[cfg(test)]
mod tests {
    use super::super::features::content;
    use super::*;

    fn f(text: &str) -> Vec<(String, f32)> {
        features(&content(text))
    }

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn index(texts: &[&str]) -> SimilarIndex {
        let mut ix = SimilarIndex::default();
        for (i, t) in texts.iter().enumerate() {
            ix.insert(id(i as u128 + 1), &f(t));
        }
        ix
    }

    #[test]
    fn a_paraphrase_without_accents_finds_its_original_first() {
        let ix = index(&[
            "Thanh niên khởi nghiệp được vay vốn ưu đãi ở đâu?",
            "Trường nghề có dạy lái máy nông nghiệp không?",
            "Học sinh lớp 12 được tư vấn hướng nghiệp thế nào?",
        ]);
        let hits = ix.search(
            &f("cho em hoi tn khoi nghiep vay von uu dai o dau a"),
            None,
            3,
        );
        assert_eq!(hits[0].0, id(1), "{hits:?}");
        assert!(hits[0].1 > 0.5, "{hits:?}");
        assert!(hits.iter().skip(1).all(|h| h.1 < 0.2), "{hits:?}");
    }

    #[test]
    fn the_question_itself_is_excluded_and_removed_ones_are_gone() {
        let mut ix = index(&["vốn vay khởi nghiệp", "vay vốn khởi nghiệp cho thanh niên"]);
        let hits = ix.search(&f("vốn vay khởi nghiệp"), Some(&id(1)), 5);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].0, id(2));
        ix.remove(&id(2));
        assert!(ix
            .search(&f("vốn vay khởi nghiệp"), Some(&id(1)), 5)
            .is_empty());
        assert_eq!(ix.len(), 1);
    }

    #[test]
    fn nothing_in_common_scores_nothing() {
        let ix = index(&["giá lúa năm nay thấp quá"]);
        assert!(ix
            .search(&f("học bổng cho sinh viên nghèo"), None, 5)
            .is_empty());
        assert!(ix.search(&f("kính thưa, cho em hỏi ạ"), None, 5).is_empty());
    }

    #[test]
    fn replacing_a_question_moves_it() {
        let mut ix = index(&["giá lúa thấp", "học bổng sinh viên"]);
        ix.insert(id(1), &f("học bổng cho sinh viên nghèo"));
        let hits = ix.search(&f("học bổng sinh viên"), Some(&id(2)), 5);
        assert_eq!(hits[0].0, id(1));
        assert!(ix.search(&f("giá lúa"), None, 5).is_empty());
    }
}
