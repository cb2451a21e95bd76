//! What the volume model asks of the store: volumes' statuses and timers, and the
//! attachments Cinder and Nova share. No rules live here (those are `model`'s and
//! `states`'); each backend under `store/` fills this trait.

use std::collections::HashMap;

use super::model::{Attachment, Volume};
use super::states::VolumeStatus;
use crate::store::StoreError;

pub type Result<T> = std::result::Result<T, StoreError>;

pub trait VolumeRepo {
    fn volume(&self, id: &str) -> Result<Option<Volume>>;
    /// Sets the status at `now_ms` and forgets any pending one.
    fn set_volume_status(&self, id: &str, status: VolumeStatus, now_ms: i64) -> Result<()>;
    /// Sets the status at `now_ms`, and `next` at `ready_ms`.
    fn set_volume_status_then(
        &self,
        id: &str,
        status: VolumeStatus,
        next: VolumeStatus,
        ready_ms: i64,
        now_ms: i64,
    ) -> Result<()>;
    /// Sets the status at `now_ms`, and the one it had at `ready_ms`.
    fn set_volume_busy(
        &self,
        id: &str,
        status: VolumeStatus,
        ready_ms: i64,
        now_ms: i64,
    ) -> Result<()>;
    /// Gives the volume its pending status now, if it has one.
    fn end_volume_busy(&self, id: &str, now_ms: i64) -> Result<()>;

    /// Oldest first.
    fn attachments_of(&self, volume_id: &str) -> Result<Vec<Attachment>>;
    /// Each volume's attachments, oldest first.
    fn attachments_by_volume(
        &self,
        volume_ids: &[&str],
    ) -> Result<HashMap<String, Vec<Attachment>>>;
    /// Oldest first.
    fn attachments_of_server(&self, server_id: &str) -> Result<Vec<Attachment>>;
    fn attachment(&self, id: &str) -> Result<Option<Attachment>>;
    fn has_attachments(&self, volume_id: &str) -> Result<bool>;
    fn insert_attachment(&self, a: &Attachment) -> Result<()>;
    /// Marks the attachment attached at `now_ms` (at `mountpoint`, kept when None);
    /// answers its volume, None when there is no such attachment.
    fn complete_attachment(
        &self,
        id: &str,
        mountpoint: Option<&str>,
        now_ms: i64,
    ) -> Result<Option<String>>;
    /// Answers the attachment's volume, None when there is no such attachment.
    fn delete_attachment(&self, id: &str) -> Result<Option<String>>;
}
