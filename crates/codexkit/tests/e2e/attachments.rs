//! The attachment store (concurrency, leases, TTL, crash debris, quota, gauge) and
//! attachments reaching codex through both transports.

use crate::common::{Harness, hermetic_options, pinned_codex};
use crate::real_codex::TINY_PNG;
use codexkit::attachments::{
    ATTACHED_FILES_HEADER, AttachmentStore, StageOptions, StoreAlert, StoreConfig, StoreUsage,
};
use codexkit::{Codex, Error, Input, SandboxMode, Transport};
use codexkit_testkit::{MockResponse, OutputItem, Scenario};
use pretty_assertions::assert_eq;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// A store without background cleanup.
fn config(root: &Path) -> StoreConfig {
    StoreConfig::new(root).with_cleanup_interval(None)
}

fn open(root: &Path) -> AttachmentStore {
    AttachmentStore::open(config(root)).unwrap()
}

/// Deterministic bytes that no magic number matches.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    // Start with text so that content detection can't see a file format by chance.
    out[..8].copy_from_slice(b"noise://");
    out
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// (blobs, keep markers, temp files) in the store's directory.
fn listing(store: &AttachmentStore) -> (Vec<String>, Vec<String>, Vec<String>) {
    let mut blobs = Vec::new();
    let mut keeps = Vec::new();
    let mut temps = Vec::new();
    for entry in std::fs::read_dir(store.blobs_dir()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.starts_with(".tmp-") {
            temps.push(name);
        } else if name.ends_with(".keep") {
            keeps.push(name);
        } else {
            blobs.push(name);
        }
    }
    blobs.sort();
    (blobs, keeps, temps)
}

/// Sets every file's modification time in the store `age` into the past.
fn age_everything(store: &AttachmentStore, age: Duration) {
    let then = SystemTime::now() - age;
    for entry in std::fs::read_dir(store.blobs_dir()).unwrap() {
        let path = entry.unwrap().path();
        std::fs::File::open(&path)
            .unwrap()
            .set_modified(then)
            .unwrap();
    }
}

const FIFTY_MB: usize = 50 * 1024 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_tasks_staging_the_same_file_store_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let content = noise(FIFTY_MB, 7);
    let expected = sha256_hex(&content);
    let source = dir.path().join("big.bin");
    std::fs::write(&source, &content).unwrap();
    let store = open(&dir.path().join("store"));

    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let store = store.clone();
            let source = source.clone();
            tokio::spawn(async move { store.stage_path(&source, StageOptions::default()).await })
        })
        .collect();
    let mut attachments = Vec::new();
    for task in tasks {
        attachments.push(task.await.unwrap().expect("staged"));
    }
    let path = attachments[0].path().to_path_buf();
    assert!(attachments.iter().all(|a| a.path() == path));
    assert_eq!(attachments[0].sha256(), expected);
    assert_eq!(path.file_name().unwrap().to_string_lossy(), expected);
    assert_eq!(attachments[0].name(), Some("big.bin"));

    let (blobs, _, temps) = listing(&store);
    assert_eq!(blobs, std::slice::from_ref(&expected));
    assert!(temps.is_empty(), "temp files left: {temps:?}");
    assert_eq!(sha256_hex(&std::fs::read(&path).unwrap()), expected);
    assert_eq!(
        store.usage(),
        usage(FIFTY_MB as u64, 1),
        "the gauge counts the file once"
    );
}

fn usage(bytes: u64, files: u64) -> StoreUsage {
    let mut usage = StoreUsage::default();
    usage.bytes = bytes;
    usage.files = files;
    usage
}

const HELPER_ROOT: &str = "CODEXKIT_TEST_STAGE_ROOT";
const HELPER_FILE: &str = "CODEXKIT_TEST_STAGE_FILE";
const HELPER_GO: &str = "CODEXKIT_TEST_STAGE_GO";

/// Not a test on its own: the child process of
/// `two_processes_staging_the_same_file_store_it_once` (a no-op without its variables).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stage_helper_process() {
    let (Some(root), Some(file), Some(go)) = (
        std::env::var_os(HELPER_ROOT),
        std::env::var_os(HELPER_FILE),
        std::env::var_os(HELPER_GO),
    ) else {
        return;
    };
    let store = open(Path::new(&root));
    // Start together with the other process.
    let go = PathBuf::from(go);
    for _ in 0..400 {
        if go.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            let file = PathBuf::from(&file);
            tokio::spawn(async move { store.stage_path(&file, StageOptions::default()).await })
        })
        .collect();
    for task in tasks {
        let attachment = task.await.unwrap().expect("staged in the helper");
        println!("STAGED {}", attachment.path().display());
    }
}

#[tokio::test]
async fn two_processes_staging_the_same_file_store_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let content = noise(FIFTY_MB, 11);
    let expected = sha256_hex(&content);
    let source = dir.path().join("shared.bin");
    std::fs::write(&source, &content).unwrap();
    let root = dir.path().join("store");
    let go = dir.path().join("go");
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..2)
        .map(|_| {
            std::process::Command::new(&exe)
                .args([
                    "--exact",
                    "attachments::stage_helper_process",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(HELPER_ROOT, &root)
                .env(HELPER_FILE, &source)
                .env(HELPER_GO, &go)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    std::fs::write(&go, "").unwrap();
    let mut staged = Vec::new();
    for child in children {
        let out = tokio::task::spawn_blocking(move || child.wait_with_output())
            .await
            .unwrap()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "helper failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        staged.extend(
            stdout
                .lines()
                // libtest may print "test … ... " on the same line first.
                .filter_map(|l| l.split_once("STAGED ").map(|(_, path)| path))
                .map(str::to_owned),
        );
    }
    assert_eq!(staged.len(), 16, "every staging reported");
    let store = open(&root);
    let expected_path = store.blobs_dir().join(&expected);
    assert!(
        staged.iter().all(|p| Path::new(p) == expected_path),
        "{staged:?}"
    );
    let (blobs, _, temps) = listing(&store);
    assert_eq!(blobs, std::slice::from_ref(&expected));
    assert!(temps.is_empty(), "temp files left: {temps:?}");
    assert_eq!(
        sha256_hex(&std::fs::read(&expected_path).unwrap()),
        expected
    );
    assert_eq!(store.usage(), usage(FIFTY_MB as u64, 1));
}

#[tokio::test]
async fn ttl_cleanup_removes_expired_unleased_blobs_and_never_a_leased_one() {
    let dir = tempfile::tempdir().unwrap();
    let settings = config(dir.path()).with_ttl(Duration::from_secs(3600));
    let store = AttachmentStore::open(settings.clone()).unwrap();
    // Another store on the same root stands for another process.
    let other = AttachmentStore::open(settings).unwrap();
    let leased = store
        .stage_bytes("in use by a turn", StageOptions::default())
        .await
        .unwrap();
    let unused = store
        .stage_bytes("nobody needs this", StageOptions::default())
        .await
        .unwrap();
    let unused_path = unused.path().to_path_buf();
    drop(unused);
    age_everything(&store, Duration::from_secs(7200));

    let report = other.cleanup().await.unwrap();
    assert_eq!(report.removed_files, 1);
    assert_eq!(report.kept_leased, 1, "the other process's lease holds");
    assert!(!unused_path.exists());
    assert!(leased.path().exists());
    let report = store.cleanup().await.unwrap();
    assert_eq!(report.removed_files, 0);
    assert!(leased.path().exists());
    assert_eq!(store.usage().files, 1, "{:?}", listing(&store));

    // Released now: the TTL counts from this last use.
    let leased_path = leased.path().to_path_buf();
    drop(leased);
    assert_eq!(store.cleanup().await.unwrap().removed_files, 0);
    assert!(leased_path.exists());
    age_everything(&store, Duration::from_secs(7200));
    assert_eq!(other.cleanup().await.unwrap().removed_files, 1);
    assert!(!leased_path.exists());
    let (blobs, keeps, _) = listing(&store);
    assert!(blobs.is_empty() && keeps.is_empty(), "{blobs:?} {keeps:?}");
    store.cleanup().await.unwrap();
    assert_eq!(store.usage(), StoreUsage::default());
}

#[tokio::test]
async fn the_background_task_cleans_up_on_its_interval() {
    let dir = tempfile::tempdir().unwrap();
    let store = AttachmentStore::open(
        StoreConfig::new(dir.path())
            .with_ttl(Duration::ZERO)
            .with_cleanup_interval(Some(Duration::from_millis(100))),
    )
    .unwrap();
    let leased = store
        .stage_bytes("kept while held", StageOptions::default())
        .await
        .unwrap();
    let expired = store
        .stage_bytes("expires at once", StageOptions::default())
        .await
        .unwrap();
    let expired_path = expired.path().to_path_buf();
    drop(expired);
    let gone = crate::common::eventually(10, || !expired_path.exists()).await;
    assert!(gone, "the background cleanup removed the expired blob");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(leased.path().exists());
}

#[tokio::test]
async fn crash_leftovers_are_swept_when_the_store_opens() {
    let dir = tempfile::tempdir().unwrap();
    let blobs = dir.path().join("blobs");
    std::fs::create_dir_all(&blobs).unwrap();
    let crashed = blobs.join(".tmp-crashed");
    std::fs::write(&crashed, vec![0u8; 4096]).unwrap();
    std::fs::File::open(&crashed)
        .unwrap()
        .set_modified(SystemTime::now() - Duration::from_secs(3600))
        .unwrap();
    // Fresh and unlocked: maybe a writer that has not locked it yet; left for a later sweep.
    let recent = blobs.join(".tmp-recent");
    std::fs::write(&recent, b"x").unwrap();
    let store = open(dir.path());
    assert!(!crashed.exists(), "crash debris removed");
    assert!(
        recent.exists(),
        "a temp file younger than the grace period stays"
    );
    assert_eq!(
        store.usage(),
        StoreUsage::default(),
        "temp files are not staged bytes"
    );
}

#[tokio::test]
async fn quota_refuses_with_a_typed_error_and_keeps_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = AttachmentStore::open(config(dir.path()).with_max_bytes(1000)).unwrap();
    let first = store
        .stage_bytes(noise(600, 1), StageOptions::default())
        .await
        .unwrap();
    let err = store
        .stage_bytes(noise(600, 2), StageOptions::default())
        .await
        .unwrap_err();
    match err {
        Error::QuotaExceeded {
            limit,
            used,
            requested,
        } => assert_eq!((limit, used, requested), (1000, 600, 600)),
        other => panic!("expected QuotaExceeded, got {other:?}"),
    }
    let big_stream = noise(5000, 3);
    let err = store
        .stage_reader(big_stream.as_slice(), StageOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::QuotaExceeded { .. }), "{err:?}");
    let (blobs, _, temps) = listing(&store);
    assert_eq!(blobs, [first.sha256().to_owned()]);
    assert!(temps.is_empty(), "nothing half-written: {temps:?}");
    assert_eq!(store.usage(), usage(600, 1));
    // The same content again needs no room.
    let again = store
        .stage_bytes(noise(600, 1), StageOptions::default())
        .await
        .unwrap();
    assert_eq!(again.path(), first.path());
}

#[tokio::test]
async fn the_gauge_tracks_usage_and_the_alert_fires_once_per_crossing() {
    let dir = tempfile::tempdir().unwrap();
    let alerts: Arc<Mutex<Vec<StoreAlert>>> = Arc::default();
    let seen = Arc::clone(&alerts);
    let store = AttachmentStore::open(
        config(dir.path()).with_alert(1000, move |alert| seen.lock().unwrap().push(alert.clone())),
    )
    .unwrap();
    let a = store
        .stage_bytes(noise(600, 1), StageOptions::ephemeral())
        .await
        .unwrap();
    assert_eq!(store.usage(), usage(600, 1));
    assert!(alerts.lock().unwrap().is_empty());
    let b = store
        .stage_bytes(noise(600, 2), StageOptions::ephemeral())
        .await
        .unwrap();
    assert_eq!(store.usage(), usage(1200, 2));
    {
        let alerts = alerts.lock().unwrap();
        assert_eq!(alerts.len(), 1);
        assert_eq!(
            (alerts[0].bytes, alerts[0].files, alerts[0].threshold),
            (1200, 2, 1000)
        );
    }
    let c = store
        .stage_bytes(noise(100, 3), StageOptions::ephemeral())
        .await
        .unwrap();
    assert_eq!(alerts.lock().unwrap().len(), 1, "still above: no new alert");
    // Dropping ephemeral attachments deletes them; below the threshold the alert re-arms.
    drop((a, b, c));
    assert_eq!(store.usage(), StoreUsage::default());
    let _d = store
        .stage_bytes(noise(1500, 4), StageOptions::ephemeral())
        .await
        .unwrap();
    assert_eq!(alerts.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn a_stream_is_staged_like_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let content = noise(3 * 1024 * 1024 + 17, 5);
    let from_reader = store
        .stage_reader(
            content.as_slice(),
            StageOptions::default().with_name("x.csv"),
        )
        .await
        .unwrap();
    let from_bytes = store
        .stage_bytes(content.clone(), StageOptions::default())
        .await
        .unwrap();
    assert_eq!(from_reader.path(), from_bytes.path());
    assert_eq!(from_reader.sha256(), sha256_hex(&content));
    assert_eq!(from_reader.mime(), "text/csv");
    assert_eq!(store.usage(), usage(content.len() as u64, 1));
    let png = store
        .stage_bytes(TINY_PNG, StageOptions::default().with_name("notes.txt"))
        .await
        .unwrap();
    assert_eq!(png.mime(), "image/png", "content wins over the name");
    assert!(png.is_image());
    assert!(png.path().to_string_lossy().ends_with(".png"));
}

/// A client of the harness's mock with its own attachment store.
fn client(harness: &Harness, store: &AttachmentStore, transport: Transport) -> Codex {
    Codex::with_binary(
        pinned_codex(),
        hermetic_options(&harness.hermetic)
            .with_transport(transport)
            .with_attachment_store(store.clone()),
    )
}

async fn image_bytes_reach_the_request(transport: Transport) {
    let harness = Harness::start_with(
        Scenario::new().response(MockResponse::message("a red dot")),
        transport.clone(),
    )
    .await;
    let store_dir = tempfile::tempdir().unwrap();
    let store = open(store_dir.path());
    let codex = client(&harness, &store, transport);
    let thread = codex.start_thread(harness.thread_options());
    let result = thread
        .run(Input::text("describe").with_image_bytes(TINY_PNG))
        .await
        .expect("turn completes");
    assert_eq!(result.final_response, "a red dot");
    let requests = harness.mock.requests();
    assert!(
        requests[0].has_input_image(),
        "no input_image in {}",
        requests[0].body_text()
    );
    assert!(requests[0].body_text().contains("data:image/png;base64,"));
    assert!(
        requests[0].user_texts().iter().any(|t| t == "describe"),
        "{:?}",
        requests[0].user_texts()
    );
    assert_eq!(store.usage().files, 1, "the image was staged");
}

#[tokio::test]
async fn image_bytes_reach_the_request_as_input_image_on_exec() {
    image_bytes_reach_the_request(Transport::Exec).await;
}

#[tokio::test]
async fn image_bytes_reach_the_request_as_input_image_on_the_app_server() {
    image_bytes_reach_the_request(Transport::AppServer).await;
}

async fn staged_file_is_listed_and_readable(transport: Transport, sandbox: SandboxMode) {
    let store_dir = tempfile::tempdir().unwrap();
    let store = open(store_dir.path());
    let number = match transport {
        Transport::Exec => 4242,
        _ => 2424,
    };
    let content = format!("the secret number is {number}\n");
    // Content addressing: the path is known before the turn.
    let expected_path = store
        .stage_bytes(content.clone(), StageOptions::ephemeral())
        .await
        .unwrap()
        .path()
        .to_path_buf();
    let harness = Harness::start_with(
        Scenario::new()
            .response(MockResponse::output([OutputItem::exec_command(format!(
                "cat {}",
                expected_path.display()
            ))]))
            .response(MockResponse::message("the file says: {{last_output}}")),
        transport.clone(),
    )
    .await;
    let source = harness.path("notes.txt");
    std::fs::write(&source, &content).unwrap();
    let codex = client(&harness, &store, transport);
    let thread = codex.start_thread(harness.thread_options().with_sandbox(sandbox));
    let result = thread
        .run(Input::text("Read my notes.").with_file(&source))
        .await
        .expect("turn completes");
    assert!(
        result.final_response.contains(content.trim()),
        "the sandboxed command read the staged file: {}",
        result.final_response
    );
    let prompt = harness.mock.requests()[0]
        .last_user_text()
        .expect("a prompt");
    let expected_prompt = format!(
        "Read my notes.\n\n{ATTACHED_FILES_HEADER}\n- notes.txt: {} (text/plain, {} bytes)",
        expected_path.display(),
        content.len()
    );
    assert_eq!(prompt, expected_prompt);
    assert!(
        expected_path.exists(),
        "staged as persistent: kept after the turn"
    );
}

#[tokio::test]
async fn a_staged_file_is_listed_in_the_prompt_and_readable_in_the_sandbox_on_exec() {
    staged_file_is_listed_and_readable(Transport::Exec, SandboxMode::ReadOnly).await;
}

#[tokio::test]
async fn a_staged_file_is_listed_in_the_prompt_and_readable_in_the_sandbox_on_the_app_server() {
    staged_file_is_listed_and_readable(Transport::AppServer, SandboxMode::WorkspaceWrite).await;
}

#[tokio::test]
async fn image_urls_are_refused_by_exec_before_it_starts_and_sent_by_the_app_server() {
    use base64::Engine as _;
    let data_url = format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(TINY_PNG)
    );
    let harness = Harness::start(Scenario::new().response(MockResponse::message("a dot"))).await;
    let thread = harness.codex.start_thread(harness.thread_options());
    let err = thread
        .run(Input::text("what is it").with_image_url(&data_url))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Unsupported {
                transport: "exec",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(harness.mock.request_count(), 0, "codex never started");
    assert!(thread.id().is_none());

    let harness =
        Harness::app_server(Scenario::new().response(MockResponse::message("a dot"))).await;
    let thread = harness.codex.start_thread(harness.thread_options());
    // Codex refuses remote URLs; codexkit says so before starting a thread.
    let err = thread
        .run(Input::text("what is it").with_image_url("https://example.com/cat.png"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unsupported { .. }), "{err:?}");
    assert!(thread.id().is_none());
    thread
        .run(Input::text("what is it").with_image_url(&data_url))
        .await
        .expect("turn completes");
    let request = &harness.mock.requests()[0];
    assert!(request.has_input_image(), "{}", request.body_text());
    assert!(request.body_text().contains(&data_url));
}

#[tokio::test]
async fn a_running_turn_holds_its_attachments_even_ephemeral_ones() {
    let store_dir = tempfile::tempdir().unwrap();
    let store = AttachmentStore::open(config(store_dir.path()).with_ttl(Duration::ZERO)).unwrap();
    let content = "only while the turn runs\n";
    let attachment = store
        .stage_bytes(content, StageOptions::ephemeral().with_name("brief.txt"))
        .await
        .unwrap();
    let path = attachment.path().to_path_buf();
    let harness = Harness::start(
        Scenario::new()
            .response(MockResponse::output([OutputItem::exec_command(format!(
                "cat {}",
                path.display()
            ))]))
            .response(MockResponse::message("read: {{last_output}}").delay_ms(300)),
    )
    .await;
    let codex = client(&harness, &store, Transport::Exec);
    let thread = codex.start_thread(harness.thread_options());
    let input = Input::text("read it")
        .with_attachment(codexkit::InputAttachment::StagedFile(attachment.clone()));
    drop(attachment);
    let mut stream = thread.run_streamed(input).await.expect("codex starts");
    let mut answer = String::new();
    while let Some(event) = stream.next().await {
        // Everything is expired (TTL zero), yet the turn's lease keeps the file.
        store.cleanup().await.unwrap();
        assert!(path.exists(), "deleted while the turn uses it");
        if let codexkit::ThreadEvent::ItemCompleted(done) = event.expect("event")
            && let codexkit::ItemDetails::AgentMessage(message) = &done.item.details
        {
            answer = message.text.clone();
        }
    }
    assert!(answer.contains(content.trim()), "{answer}");
    drop(stream);
    assert!(
        !path.exists(),
        "the last lease of an ephemeral attachment deletes it"
    );
}
