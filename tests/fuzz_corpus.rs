//! The fuzz corpus (fuzz/corpus/TARGET/) and every input that ever crashed
//! a fuzz target (fuzz/regressions/TARGET/), replayed on the stable
//! toolchain through the targets' own code (fuzz/src/lib.rs): none may
//! panic. docs/FUZZING.md.

#[path = "../fuzz/src/lib.rs"]
mod targets;

use std::path::Path;

#[test]
fn fuzz_corpus_and_past_crashes_never_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut failures = Vec::new();
    for (name, target) in targets::TARGETS {
        let corpus = root.join("corpus").join(name);
        let mut inputs: Vec<_> = std::fs::read_dir(&corpus)
            .unwrap_or_else(|e| panic!("{}: {e}", corpus.display()))
            .map(|entry| entry.map(|e| e.path()))
            .collect::<Result<_, _>>()
            .unwrap_or_else(|e| panic!("{}: {e}", corpus.display()));
        assert!(inputs.len() >= 2, "{}: corpus missing", corpus.display());
        // Only targets that ever crashed have regressions.
        if let Ok(crashes) = std::fs::read_dir(root.join("regressions").join(name)) {
            for entry in crashes {
                inputs.push(entry.expect("a regression input").path());
            }
        }
        for path in inputs {
            let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            if std::panic::catch_unwind(|| target(&data)).is_err() {
                failures.push(path.display().to_string());
            }
        }
    }
    assert!(failures.is_empty(), "these inputs panic: {failures:#?}");
}
