//! Role tokens and participants' receipt links.
//!
//! A token is `HMAC(secret, event | slot | generation)`: random to anyone
//! without the secret, reprintable by `doithoai tokens` (and at start-up)
//! without ever being stored. The database holds only SHA-256 hashes, so a
//! leaked database reveals no token. Revoking a slot bumps its generation.
//! The secret lives in the data directory (`secret.key`) or comes from
//! `DOITHOAI_SECRET`; every node of one deployment must share it.

use std::path::Path;

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::domain::Role;
use crate::event::EventConfig;

#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

impl Secret {
    pub fn from_hex(hex_text: &str) -> Option<Secret> {
        let bytes = hex::decode(hex_text.trim()).ok()?;
        (bytes.len() >= 16).then_some(Secret(bytes))
    }

    /// The secret as written in its file (for backups).
    pub fn to_hex(&self) -> String {
        hex::encode(&self.0)
    }

    /// Read `path`, or create it with 32 random bytes (mode 0600) if missing.
    /// Creation is atomic and never overwrites: two nodes starting at once
    /// end up with the same secret.
    pub fn load_or_create(path: &Path) -> std::io::Result<Secret> {
        if let Ok(text) = std::fs::read_to_string(path) {
            return Self::parse_file(path, &text);
        }
        let mut bytes = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut bytes);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension(format!(
            "tmp-{}-{}",
            std::process::id(),
            hex::encode(&bytes[..4])
        ));
        std::fs::write(&tmp, hex::encode(bytes))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
        }
        // A hard link fails if the name exists: whoever links first wins, the others read theirs.
        let linked = std::fs::hard_link(&tmp, path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => Ok(Secret(bytes.to_vec())),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                Self::parse_file(path, &std::fs::read_to_string(path)?)
            }
            Err(e) => Err(e),
        }
    }

    fn parse_file(path: &Path, text: &str) -> std::io::Result<Secret> {
        Secret::from_hex(text).ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{} is not a hex secret", path.display()),
            )
        })
    }

    fn mac(&self, parts: &[&str]) -> String {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.0).unwrap_or_else(|_| unreachable!());
        for p in parts {
            mac.update(p.as_bytes());
            mac.update(b"\x1f");
        }
        hex::encode(&mac.finalize().into_bytes()[..16])
    }

    pub fn token(&self, event_id: &str, slot: &str, generation: i64) -> String {
        self.mac(&["token", event_id, slot, &generation.to_string()])
    }

    /// The receipt a participant gets for a question: proves they asked it.
    pub fn receipt(&self, question: &Uuid) -> String {
        self.mac(&["receipt", &question.to_string()])
    }

    pub fn verify_receipt(&self, question: &Uuid, receipt: &str) -> bool {
        constant_time_eq(self.receipt(question).as_bytes(), receipt.trim().as_bytes())
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.trim().as_bytes()))
}

/// One seat that gets a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    pub slot: String,
    pub role: Role,
    pub hall: Option<String>,
    pub department: Option<String>,
}

/// Every seat of an event: 3 moderators, the chair, 2 follow-up officers, an
/// admin, a speaker per department, an operator and a display per hall, and
/// one display showing all halls.
pub fn slots(event: &EventConfig) -> Vec<Slot> {
    let plain = |slot: String, role| Slot {
        slot,
        role,
        hall: None,
        department: None,
    };
    let mut out = vec![
        plain("admin".into(), Role::Admin),
        plain("chair".into(), Role::Chair),
    ];
    out.extend((1..=3).map(|i| plain(format!("moderator-{i}"), Role::Moderator)));
    out.extend((1..=2).map(|i| plain(format!("follow_up-{i}"), Role::FollowUp)));
    for d in &event.departments {
        out.push(Slot {
            slot: format!("speaker:{}", d.id),
            role: Role::Speaker,
            hall: None,
            department: Some(d.id.clone()),
        });
    }
    for h in &event.halls {
        out.push(Slot {
            slot: format!("hall_operator:{}", h.id),
            role: Role::HallOperator,
            hall: Some(h.id.clone()),
            department: None,
        });
        out.push(Slot {
            slot: format!("display:{}", h.id),
            role: Role::Display,
            hall: Some(h.id.clone()),
            department: None,
        });
    }
    out.push(plain("display:all".into(), Role::Display));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_differ_per_slot_generation_and_secret() {
        let a = Secret::from_hex(&"ab".repeat(32)).unwrap();
        let b = Secret::from_hex(&"cd".repeat(32)).unwrap();
        let t = a.token("ev", "moderator-1", 1);
        assert_eq!(t.len(), 32);
        assert_eq!(t, a.token("ev", "moderator-1", 1));
        assert_ne!(t, a.token("ev", "moderator-1", 2));
        assert_ne!(t, a.token("ev", "moderator-2", 1));
        assert_ne!(t, b.token("ev", "moderator-1", 1));
        assert_ne!(hash_token(&t), t);
    }

    #[test]
    fn concurrent_creation_of_the_secret_file_agrees_on_one_secret() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.key");
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let path = path.clone();
                std::thread::spawn(move || Secret::load_or_create(&path).unwrap().0)
            })
            .collect();
        let secrets: Vec<Vec<u8>> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert!(secrets.windows(2).all(|w| w[0] == w[1]));
        assert_eq!(Secret::load_or_create(&path).unwrap().0, secrets[0]);
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary files left behind");
    }

    #[test]
    fn receipts_verify_only_for_their_question() {
        let s = Secret::from_hex(&"ab".repeat(32)).unwrap();
        let q1 = Uuid::new_v4();
        let q2 = Uuid::new_v4();
        let r = s.receipt(&q1);
        assert!(s.verify_receipt(&q1, &r));
        assert!(!s.verify_receipt(&q2, &r));
        assert!(!s.verify_receipt(&q1, "x"));
    }

    #[test]
    fn builtin_event_has_a_seat_per_hall_and_department() {
        let e = EventConfig::builtin();
        let s = slots(&e);
        assert_eq!(s.iter().filter(|s| s.role == Role::Speaker).count(), 9);
        assert_eq!(
            s.iter().filter(|s| s.role == Role::HallOperator).count(),
            12
        );
        assert_eq!(s.iter().filter(|s| s.role == Role::Display).count(), 13);
        let mut names: Vec<_> = s.iter().map(|s| s.slot.clone()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), s.len(), "slots are unique");
    }
}

/// A printed token with its seat and join link.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IssuedToken {
    pub slot: String,
    pub role: Role,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hall: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    pub token: String,
    pub url: String,
}

/// The page each role joins on.
pub fn page_for(role: Role) -> &'static str {
    match role {
        Role::Admin => "join.html",
        Role::Moderator => "moderator.html",
        Role::Chair => "chair.html",
        Role::Speaker => "speaker.html",
        Role::HallOperator => "hall.html",
        Role::Display => "display.html",
        Role::FollowUp => "followup.html",
        Role::Participant => "phone.html",
    }
}

/// Make sure every seat of `event` has a live token and return them all.
/// Existing tokens are recomputed from the secret, never regenerated, so
/// links already handed out keep working across restarts.
pub async fn issue_tokens(
    store: &dyn crate::store::Store,
    secret: &Secret,
    event: &EventConfig,
    base_url: &str,
    expires_at: Option<i64>,
) -> Result<Vec<IssuedToken>, crate::store::StoreError> {
    let existing = store.tokens(&event.id).await?;
    let mut out = Vec::new();
    for seat in slots(event) {
        let mine: Vec<_> = existing.iter().filter(|t| t.slot == seat.slot).collect();
        let live = mine
            .iter()
            .filter(|t| t.revoked_at.is_none())
            .max_by_key(|t| t.generation);
        let generation = match live {
            Some(t) => t.generation,
            None => {
                let generation = mine.iter().map(|t| t.generation).max().unwrap_or(0) + 1;
                let token = secret.token(&event.id, &seat.slot, generation);
                store
                    .put_token(&crate::store::TokenRecord {
                        token_hash: hash_token(&token),
                        event_id: event.id.clone(),
                        slot: seat.slot.clone(),
                        role: seat.role.as_str().to_string(),
                        hall: seat.hall.clone(),
                        department: seat.department.clone(),
                        label: seat.slot.clone(),
                        generation,
                        created_at: crate::now_ms(),
                        expires_at,
                        revoked_at: None,
                    })
                    .await?;
                generation
            }
        };
        let token = secret.token(&event.id, &seat.slot, generation);
        if let Some(t) = live {
            if t.token_hash != hash_token(&token) {
                tracing::warn!(slot = %seat.slot, "stored token was made with another secret; revoke it to reissue");
            }
        }
        out.push(IssuedToken {
            url: format!(
                "{}/{}#token={}",
                base_url.trim_end_matches('/'),
                page_for(seat.role),
                token
            ),
            slot: seat.slot,
            role: seat.role,
            hall: seat.hall,
            department: seat.department,
            token,
        });
    }
    Ok(out)
}

/// Revoke a seat's live token; the next `issue_tokens` makes a new one.
pub async fn revoke_slot(
    store: &dyn crate::store::Store,
    event_id: &str,
    slot: &str,
) -> Result<bool, crate::store::StoreError> {
    let mut revoked = false;
    for t in store.tokens(event_id).await? {
        if t.slot == slot && t.revoked_at.is_none() {
            store.revoke_token(&t.token_hash, crate::now_ms()).await?;
            revoked = true;
        }
    }
    Ok(revoked)
}
