#![allow(missing_docs, clippy::unwrap_used)]
use codexkit::install::{InstallOptions, install_pinned};
use std::time::Instant;
fn main() {
    let root = std::env::args().nth(1).unwrap();
    let started = Instant::now();
    let last = std::sync::Mutex::new(Instant::now());
    let options = InstallOptions::default()
        .with_cache_root(&root)
        .with_progress(move |event| {
            let mut last = last.lock().unwrap();
            match &event {
                codexkit::install::InstallProgress::Extracting {
                    done_bytes,
                    total_bytes,
                } if done_bytes != total_bytes && last.elapsed().as_millis() < 1000 => return,
                _ => {}
            }
            *last = Instant::now();
            eprintln!("{:>7.2}s {event:?}", started.elapsed().as_secs_f64());
        });
    match install_pinned(&options) {
        Ok(path) => println!(
            "installed {} in {:.2}s",
            path.display(),
            started.elapsed().as_secs_f64()
        ),
        Err(error) => println!("error: {error}"),
    }
    let t = Instant::now();
    let path = install_pinned(&options).unwrap();
    println!(
        "second call {:.2}s -> {}",
        t.elapsed().as_secs_f64(),
        path.display()
    );
    let found = codexkit::binary::discover(
        &codexkit::binary::DiscoveryOptions::default()
            .with_cache_root(&root)
            .with_env_path(None),
    )
    .unwrap();
    println!(
        "discovered {:?}; version {}",
        found,
        found.check_version().unwrap()
    );
}
