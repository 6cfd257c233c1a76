#![allow(missing_docs, dead_code)]
use codexkit_protocol::ThreadEvent;
#[derive(Debug, serde::Deserialize)]
pub struct ServerNotification(serde_json::Value);
impl ServerNotification {
    pub fn thread_id(&self) -> Option<&str> {
        None
    }
    pub fn turn_id(&self) -> Option<&str> {
        None
    }
}
pub struct TurnNormalizer;
impl TurnNormalizer {
    pub fn new() -> Self {
        Self
    }
    pub fn on_notification(&mut self, _n: &ServerNotification) -> Vec<ThreadEvent> {
        Vec::new()
    }
}
