//! Writes the seed corpora of every fuzz target, `corpus/<target>/<n>`, from the recorded
//! transcripts. Usage: `seed_corpus [FIXTURES_DIR] [CORPUS_DIR]`.

use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut args = std::env::args_os().skip(1);
    let fixtures = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| here.join("../fixtures/transcripts/codex-0.171.0"));
    let corpus = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| here.join("corpus"));
    for target in codexkit_fuzz::TARGETS {
        let dir = corpus.join(target);
        std::fs::create_dir_all(&dir)?;
        let seeds = codexkit_fuzz::seeds(target, &fixtures)?;
        for (n, seed) in seeds.iter().enumerate() {
            std::fs::write(dir.join(format!("seed-{n:04}")), seed)?;
        }
        println!("{target}: {} seeds in {}", seeds.len(), dir.display());
    }
    Ok(())
}
