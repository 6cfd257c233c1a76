//! Attachments of a turn's [`Input`]: images from bytes or URLs, and files referenced in the
//! prompt, staged through an [`AttachmentStore`] before codex starts.

use super::{Attachment, AttachmentStore, StageOptions};
use crate::options::{CodexOptions, Input, ThreadOptions, Transport};
use crate::stream::EventObserver;
use crate::{Error, Result};
use codexkit_protocol::ThreadEvent;
use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The line that introduces staged files at the end of the prompt.
///
/// The prompt sent to codex is the input's text, a blank line, this header, then one line per
/// file: `- <name>: <absolute path> (<MIME type>, <size> bytes)`. For example:
///
/// ```text
/// Summarize the report.
///
/// Attached files (read them from these absolute paths):
/// - report.csv: /home/me/.cache/codexkit/attachments/blobs/9f86d0…15b0 (text/csv, 5 bytes)
/// ```
pub const ATTACHED_FILES_HEADER: &str = "Attached files (read them from these absolute paths):";

/// Bytes shared without copying (cloning an [`Input`] does not copy them).
#[non_exhaustive]
#[derive(Clone, PartialEq, Eq, Default)]
pub struct SharedBytes(Arc<[u8]>);

impl SharedBytes {
    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.0
    }

    /// Their number.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SharedBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SharedBytes({} bytes)", self.0.len())
    }
}

impl From<Vec<u8>> for SharedBytes {
    fn from(bytes: Vec<u8>) -> Self {
        Self(bytes.into())
    }
}

impl From<&[u8]> for SharedBytes {
    fn from(bytes: &[u8]) -> Self {
        Self(bytes.into())
    }
}

impl<const N: usize> From<&[u8; N]> for SharedBytes {
    fn from(bytes: &[u8; N]) -> Self {
        Self(bytes.as_slice().into())
    }
}

impl From<Arc<[u8]>> for SharedBytes {
    fn from(bytes: Arc<[u8]>) -> Self {
        Self(bytes)
    }
}

impl From<String> for SharedBytes {
    fn from(text: String) -> Self {
        Self(text.into_bytes().into())
    }
}

impl From<&str> for SharedBytes {
    fn from(text: &str) -> Self {
        Self(text.as_bytes().into())
    }
}

/// Something attached to a turn besides its text and image files
/// ([`Input::images`](crate::Input::images)).
///
/// Bytes and files are staged in the client's [`AttachmentStore`]
/// ([`CodexOptions::attachment_store`](crate::CodexOptions::attachment_store), else
/// [`AttachmentStore::shared`]) as [persistent](super::Retention::Persistent) attachments
/// when the turn starts, and leased until the turn's event stream is dropped.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputAttachment {
    /// An image as bytes (PNG, JPEG, GIF, WebP, … recognised by content); staged, then sent
    /// like an image file. Other content fails the turn with [`Error::InvalidOption`] before
    /// codex starts.
    ImageBytes(SharedBytes),
    /// An image as a URL. App-server transports only: exec fails with
    /// [`Error::Unsupported`] before codex starts. Codex 0.171 takes only inline `data:`
    /// URLs (`data:image/png;base64,…`); a remote (`https:`) URL is [`Error::Unsupported`]
    /// too, before any request.
    ImageUrl(String),
    /// A file, staged and referenced in the prompt by its absolute path (see
    /// [`ATTACHED_FILES_HEADER`]); the store's directory is added to the sandbox.
    File(PathBuf),
    /// A file as bytes with a display name, handled like [`InputAttachment::File`].
    FileBytes {
        /// Shown in the prompt, and used to guess the MIME type of text.
        name: String,
        /// The content.
        bytes: SharedBytes,
    },
    /// An attachment staged already, sent as an image.
    StagedImage(Attachment),
    /// An attachment staged already, referenced as a file.
    StagedFile(Attachment),
}

impl Input {
    /// Attaches an image given as bytes.
    pub fn with_image_bytes(mut self, bytes: impl Into<SharedBytes>) -> Self {
        self.attachments
            .push(InputAttachment::ImageBytes(bytes.into()));
        self
    }

    /// Attaches an image by URL: an inline `data:` URL, app-server transports only (see
    /// [`InputAttachment::ImageUrl`]).
    pub fn with_image_url(mut self, url: impl Into<String>) -> Self {
        self.attachments.push(InputAttachment::ImageUrl(url.into()));
        self
    }

    /// Attaches a file: it is staged and its path is listed in the prompt.
    pub fn with_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.attachments.push(InputAttachment::File(path.into()));
        self
    }

    /// Attaches a file given as bytes, under a display name.
    pub fn with_file_bytes(
        mut self,
        name: impl Into<String>,
        bytes: impl Into<SharedBytes>,
    ) -> Self {
        self.attachments.push(InputAttachment::FileBytes {
            name: name.into(),
            bytes: bytes.into(),
        });
        self
    }

    /// Adds any attachment.
    pub fn with_attachment(mut self, attachment: InputAttachment) -> Self {
        self.attachments.push(attachment);
        self
    }
}

impl CodexOptions {
    /// Stages this client's attachments in `store` instead of [`AttachmentStore::shared`].
    pub fn with_attachment_store(mut self, store: AttachmentStore) -> Self {
        self.attachment_store = Some(store);
        self
    }
}

/// What staging left for the transport: directories the sandbox must read, and leases to
/// hold for the turn.
#[derive(Debug, Default)]
pub(crate) struct Staging {
    readable_dirs: Vec<PathBuf>,
    leases: Vec<Attachment>,
}

impl Staging {
    /// The thread's options with the staging directories added as additional directories
    /// (exec: `--add-dir`; app-server: `sandbox_workspace_write.writable_roots` in the
    /// thread's config when the turn starts or resumes the thread).
    pub(crate) fn thread_options<'a>(&self, base: &'a ThreadOptions) -> Cow<'a, ThreadOptions> {
        let missing: Vec<&PathBuf> = self
            .readable_dirs
            .iter()
            .filter(|dir| !base.additional_directories.contains(dir))
            .collect();
        if missing.is_empty() {
            return Cow::Borrowed(base);
        }
        let mut options = base.clone();
        options
            .additional_directories
            .extend(missing.into_iter().cloned());
        Cow::Owned(options)
    }

    /// Holds the leases as long as the turn's stream holds its observer.
    pub(crate) fn hold(self, observer: EventObserver) -> EventObserver {
        if self.leases.is_empty() {
            return observer;
        }
        let leases = self.leases;
        Arc::new(move |event: &ThreadEvent| {
            let _held = &leases;
            observer(event)
        })
    }
}

/// Stages the input's attachments: byte images become image files, files are listed in the
/// prompt text, and only image URLs stay in `attachments`. Fails before anything is started
/// when the transport cannot carry an attachment.
pub(crate) async fn prepare(options: &CodexOptions, input: Input) -> Result<(Input, Staging)> {
    let mut input = input;
    let mut staging = Staging::default();
    if input.attachments.is_empty() {
        return Ok((input, staging));
    }
    for attachment in &input.attachments {
        if let InputAttachment::ImageUrl(url) = attachment {
            if options.transport == Transport::Exec {
                return Err(Error::Unsupported {
                    operation: "image URLs",
                    transport: "exec",
                });
            }
            // Codex 0.171 refuses remote URLs at `turn/start` ("remote image URLs are not
            // supported; use an inline data URL instead"); say so before a thread is started.
            if !url.trim_start().starts_with("data:") {
                return Err(Error::Unsupported {
                    operation: "remote image URLs (codex takes only inline data: URLs)",
                    transport: options.transport.name(),
                });
            }
        }
    }
    let mut store: Option<AttachmentStore> = options.attachment_store.clone();
    let mut files = Vec::new();
    let mut kept = Vec::new();
    for attachment in std::mem::take(&mut input.attachments) {
        let staged_image = match attachment {
            InputAttachment::ImageUrl(url) => {
                kept.push(InputAttachment::ImageUrl(url));
                continue;
            }
            InputAttachment::StagedFile(attachment) => {
                files.push(attachment);
                continue;
            }
            InputAttachment::File(path) => {
                let store = store_for(&mut store).await?;
                files.push(store.stage_path(&path, StageOptions::persistent()).await?);
                continue;
            }
            InputAttachment::FileBytes { name, bytes } => {
                let store = store_for(&mut store).await?;
                let options = StageOptions::persistent().with_name(name);
                files.push(store.stage_bytes(bytes, options).await?);
                continue;
            }
            InputAttachment::StagedImage(attachment) => attachment,
            InputAttachment::ImageBytes(bytes) => {
                let store = store_for(&mut store).await?;
                store.stage_bytes(bytes, StageOptions::persistent()).await?
            }
        };
        if !staged_image.is_image() {
            return Err(Error::invalid(
                "image attachment",
                format!(
                    "{} is {}, not an image codex can attach (PNG, JPEG, GIF, WebP)",
                    staged_image.name().unwrap_or("the content"),
                    staged_image.mime()
                ),
            ));
        }
        input.images.push(staged_image.path().to_path_buf());
        staging.leases.push(staged_image);
    }
    if !files.is_empty() {
        input.text = prompt_with_files(&input.text, &files);
        for file in &files {
            if let Some(dir) = file.path().parent()
                && !staging.readable_dirs.iter().any(|d| d == dir)
            {
                staging.readable_dirs.push(dir.to_path_buf());
            }
        }
        staging.leases.extend(files);
    }
    input.attachments = kept;
    Ok((input, staging))
}

async fn store_for(slot: &mut Option<AttachmentStore>) -> Result<&AttachmentStore> {
    if slot.is_none() {
        let store = tokio::task::spawn_blocking(AttachmentStore::shared)
            .await
            .map_err(|e| {
                Error::io(
                    "opening the attachment store",
                    super::StoreConfig::default_root(),
                    std::io::Error::other(e),
                )
            })??;
        *slot = Some(store);
    }
    slot.as_ref()
        .ok_or_else(|| Error::invalid("attachment store", "could not be opened"))
}

/// The prompt with the staged files listed after it (see [`ATTACHED_FILES_HEADER`]).
pub(crate) fn prompt_with_files(text: &str, files: &[Attachment]) -> String {
    let mut prompt = String::from(text.trim_end());
    prompt.push_str("\n\n");
    prompt.push_str(ATTACHED_FILES_HEADER);
    for file in files {
        let name = file
            .name()
            .map(str::to_owned)
            .or_else(|| file_name(file.path()))
            .unwrap_or_default();
        let name: String = name
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        prompt.push_str(&format!(
            "\n- {name}: {} ({}, {} bytes)",
            file.path().display(),
            file.mime(),
            file.size()
        ));
    }
    prompt
}

fn file_name(path: &Path) -> Option<String> {
    path.file_name().map(|n| n.to_string_lossy().into_owned())
}

/// The image URLs of an input that was not staged (steer): anything else is refused.
pub(crate) fn unstaged_image_urls(input: &Input) -> Result<Vec<&str>> {
    input
        .attachments
        .iter()
        .map(|attachment| match attachment {
            InputAttachment::ImageUrl(url) => Ok(url.as_str()),
            _ => Err(Error::invalid(
                "attachment",
                "steering takes text, image files and image URLs; attach bytes and files to a turn",
            )),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attachments::StoreConfig;

    #[tokio::test]
    async fn files_are_listed_in_the_prompt_and_their_directory_is_readable() {
        let dir = tempfile::tempdir().unwrap();
        let store = AttachmentStore::open(StoreConfig::new(dir.path()).with_cleanup_interval(None))
            .unwrap();
        let options = CodexOptions::default().with_attachment_store(store.clone());
        let input = Input::text("Summarize the report.\n")
            .with_file_bytes("report\n.csv", "a,b\n")
            .with_image_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec());
        let (prepared, staging) = prepare(&options, input).await.unwrap();
        let blobs = store.blobs_dir();
        let lines: Vec<&str> = prepared.text.lines().collect();
        assert_eq!(lines[0], "Summarize the report.");
        assert_eq!(lines[1], "");
        assert_eq!(lines[2], ATTACHED_FILES_HEADER);
        assert!(lines[3].starts_with(&format!("- report .csv: {}/", blobs.display())));
        assert!(lines[3].ends_with(" (text/csv, 4 bytes)"), "{}", lines[3]);
        assert_eq!(prepared.images.len(), 1);
        assert!(prepared.images[0].starts_with(blobs));
        assert!(prepared.images[0].to_string_lossy().ends_with(".png"));
        assert!(prepared.attachments.is_empty());

        let thread = ThreadOptions::default();
        let with_dir = staging.thread_options(&thread);
        assert_eq!(with_dir.additional_directories, vec![blobs.to_path_buf()]);
        assert_eq!(store.usage().files, 2);
    }

    #[tokio::test]
    async fn urls_fail_on_exec_and_non_images_fail_as_images() {
        let options = CodexOptions::default();
        let url = Input::text("look").with_image_url("https://example.com/a.png");
        let err = prepare(&options, url).await.unwrap_err();
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

        let dir = tempfile::tempdir().unwrap();
        let store = AttachmentStore::open(StoreConfig::new(dir.path()).with_cleanup_interval(None))
            .unwrap();
        let options = CodexOptions::default().with_attachment_store(store);
        let not_an_image = Input::text("look").with_image_bytes("plain text");
        let err = prepare(&options, not_an_image).await.unwrap_err();
        assert!(matches!(err, Error::InvalidOption { .. }), "{err:?}");
    }
}
