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
/// Most postings read per feature, the newest first. A syllable in every
/// question (two hundred phones sending the same words) would otherwise
/// make each search read the whole collection, and the writer computes
/// hints for every new question.
const MAX_SCAN: usize = 1024;
/// When a feature's postings were cut short, this many of the best
/// partial matches are scored again over all their features.
const RESCORE: usize = 64;

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
    /// Per feature: (document slot, weight before idf), so a query reads
    /// each posting once and never looks into the document.
    postings: Vec<Vec<(u32, f32)>>,
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
            self.postings[fid as usize].push((slot, *w));
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
            self.postings[*fid as usize].retain(|(s, _)| *s != slot);
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
        // One logarithm per feature, not one per posting: at 5,000
        // questions this pass is a table lookup per term.
        let idf: Vec<f32> = self.df.iter().map(|df| self.idf(*df)).collect();
        for doc in self.docs.iter_mut().filter(|d| d.live) {
            doc.norm = doc
                .terms
                .iter()
                .map(|(f, w)| {
                    let x = w * idf[*f as usize];
                    x * x
                })
                .sum::<f32>()
                .sqrt();
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
        if k == 0 {
            return Vec::new();
        }
        let mut q_norm = 0.0f32;
        // The query's known features: (feature, weight × idf, idf).
        let mut query: Vec<(u32, f32, f32)> = Vec::with_capacity(features.len());
        for (key, w) in features {
            let fid = self.feature_ids.get(key).copied();
            let df = fid.map(|f| self.df[f as usize]).unwrap_or(0);
            let idf = self.idf(df);
            q_norm += (w * idf) * (w * idf);
            if let Some(fid) = fid {
                query.push((fid, w * idf, idf));
            }
        }
        let q_norm = q_norm.sqrt();
        if q_norm == 0.0 {
            return Vec::new();
        }
        // A dense accumulator (one float per slot) and the slots touched:
        // cheaper than hashing every posting of a common syllable.
        let mut acc = vec![0.0f32; self.docs.len()];
        let mut touched: Vec<u32> = Vec::new();
        let mut cut_short = false;
        for (fid, qw, idf) in &query {
            let list = &self.postings[*fid as usize];
            let newest = list.len().saturating_sub(MAX_SCAN);
            cut_short |= newest > 0;
            for (slot, doc_w) in &list[newest..] {
                let sum = &mut acc[*slot as usize];
                // Every contribution is positive (weights > 0, idf > 0).
                if *sum == 0.0 {
                    touched.push(*slot);
                }
                *sum += qw * doc_w * idf;
            }
        }
        let candidate = |slot: u32| {
            let doc = &self.docs[slot as usize];
            doc.live && Some(&doc.id) != exclude && doc.norm > 0.0
        };
        let cosine = |slot: u32, dot: f32| {
            let doc = &self.docs[slot as usize];
            (doc.id, (dot / (q_norm * doc.norm)).min(1.0))
        };
        let mut scored: Vec<(Uuid, f32)> = if cut_short {
            // Partial sums undercount old questions: take the best partial
            // matches and score them over every feature they share.
            query.sort_unstable_by_key(|q| q.0);
            let mut best: Vec<u32> = touched.into_iter().filter(|s| candidate(*s)).collect();
            let by_partial = |a: &u32, b: &u32| acc[*b as usize].total_cmp(&acc[*a as usize]);
            if best.len() > RESCORE {
                best.select_nth_unstable_by(RESCORE, by_partial);
                best.truncate(RESCORE);
            }
            best.into_iter()
                .map(|slot| cosine(slot, self.dot(slot, &query)))
                .collect()
        } else {
            touched
                .into_iter()
                .filter(|s| candidate(*s))
                .map(|slot| cosine(slot, acc[slot as usize]))
                .collect()
        };
        let best_first = |a: &(Uuid, f32), b: &(Uuid, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        if scored.len() > k {
            scored.select_nth_unstable_by(k, best_first);
            scored.truncate(k);
        }
        scored.sort_by(best_first);
        scored
    }

    /// A document's dot product with a query sorted by feature.
    fn dot(&self, slot: u32, query: &[(u32, f32, f32)]) -> f32 {
        let terms = &self.docs[slot as usize].terms;
        let (mut i, mut j, mut sum) = (0, 0, 0.0f32);
        while i < terms.len() && j < query.len() {
            match terms[i].0.cmp(&query[j].0) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    let (_, qw, idf) = query[j];
                    sum += qw * terms[i].1 * idf;
                    i += 1;
                    j += 1;
                }
            }
        }
        sum
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
    fn a_collection_of_the_same_words_is_searched_in_bounded_time_and_still_ranks_exactly() {
        // More questions sharing every word than a search reads postings
        // of: the old distinctive one is still found through its rare
        // word, and the scores are the full cosine, not the partial sum.
        let mut ix = SimilarIndex::default();
        ix.insert(
            id(1),
            &f("vay vốn khởi nghiệp cho thanh niên nông thôn Chợ Mới"),
        );
        for n in 0..(MAX_SCAN as u128 + 200) {
            ix.insert(id(100 + n), &f("vay vốn khởi nghiệp cho thanh niên"));
        }
        let query = f("thanh niên Chợ Mới vay vốn khởi nghiệp nông thôn");
        let hits = ix.search(&query, None, 3);
        assert_eq!(hits[0].0, id(1), "{hits:?}");
        // The full cosine, every feature counted.
        let full: f32 = {
            let mut q: Vec<(u32, f32, f32)> = query
                .iter()
                .filter_map(|(k, w)| {
                    let fid = *ix.feature_ids.get(k)?;
                    let idf = ix.idf(ix.df[fid as usize]);
                    Some((fid, w * idf, idf))
                })
                .collect();
            q.sort_unstable_by_key(|x| x.0);
            let q_norm = query
                .iter()
                .map(|(k, w)| {
                    let df = ix
                        .feature_ids
                        .get(k)
                        .map(|f| ix.df[*f as usize])
                        .unwrap_or(0);
                    let x = w * ix.idf(df);
                    x * x
                })
                .sum::<f32>()
                .sqrt();
            ix.dot(ix.slot[&id(1)], &q) / (q_norm * ix.docs[ix.slot[&id(1)] as usize].norm)
        };
        assert!(
            (hits[0].1 - full.min(1.0)).abs() < 1e-5,
            "{hits:?} vs {full}"
        );
        // The many identical ones tie, the lowest id first.
        assert_eq!(hits[1].1, hits[2].1, "{hits:?}");
        assert!(hits[1].0 < hits[2].0, "{hits:?}");
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
