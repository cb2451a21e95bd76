//! Which action may start from which status: one table per resource kind (volumes,
//! snapshots, backups), each an `Action`'s `starts_from`. Statuses are typed here and
//! stored as Cinder's words (`as_str`, `parse`); a refusal carries what the handlers need to
//! word Cinder's answer (`Refusal::message`: the text of its 400, InvalidVolume and the
//! like). The model's only: no HTTP, no SQL. Volume handlers ask through `model::check`.

/// The statuses an action may start from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allowed<S: 'static> {
    /// These only.
    Only(&'static [S]),
    /// Any but these, a status this build does not know included.
    AnyBut(&'static [S]),
}

impl<S: PartialEq> Allowed<S> {
    /// Whether `status` is allowed (None: a stored status this build does not know).
    pub fn admits(&self, status: Option<&S>) -> bool {
        match (self, status) {
            (Allowed::Only(these), Some(s)) => these.contains(s),
            (Allowed::Only(_), None) => false,
            (Allowed::AnyBut(these), Some(s)) => !these.contains(s),
            (Allowed::AnyBut(_), None) => true,
        }
    }
}

/// A resource kind's statuses.
pub trait Status: Copy + PartialEq + 'static {
    /// Every status, in Cinder's order: the tests' matrix columns.
    #[cfg(test)]
    const ALL: &'static [Self];
    /// The word stored and shown.
    #[cfg(test)]
    fn as_str(self) -> &'static str;
    /// The status a stored word names; None for one this build does not know.
    fn parse(s: &str) -> Option<Self>;
}

/// A resource kind's actions, and its table.
pub trait Action: Copy {
    type Status: Status;
    /// What the table needs to know besides the status.
    type Facts: Copy;
    /// The table: the statuses this action may start from.
    fn starts_from(self, facts: Self::Facts) -> Allowed<Self::Status>;
}

/// An action the table refuses, with what wording Cinder's answer needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal<A, F> {
    pub action: A,
    pub facts: F,
}

/// May `action` start from `status`?
pub fn may_start<A: Action>(
    action: A,
    status: A::Status,
    facts: A::Facts,
) -> Result<(), Refusal<A, A::Facts>> {
    admit(action, Some(status), facts)
}

/// May `action` start from the status stored as `stored`? One this build does not know
/// passes only a row that allows any status but some.
pub fn may_start_stored<A: Action>(
    action: A,
    stored: &str,
    facts: A::Facts,
) -> Result<(), Refusal<A, A::Facts>> {
    match A::Status::parse(stored) {
        Some(status) => may_start(action, status, facts),
        None => admit(action, None, facts),
    }
}

fn admit<A: Action>(
    action: A,
    status: Option<A::Status>,
    facts: A::Facts,
) -> Result<(), Refusal<A, A::Facts>> {
    if action.starts_from(facts).admits(status.as_ref()) {
        Ok(())
    } else {
        Err(Refusal { action, facts })
    }
}

macro_rules! statuses {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $text:literal,)+ }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($variant,)+
        }

        impl $name {
            /// Every status, in Cinder's order: the tests' matrix columns.
            #[cfg(test)]
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The word stored and shown.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// The status a stored word names; None for one this build does not know.
            pub fn parse(s: &str) -> Option<$name> {
                match s {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl Status for $name {
            #[cfg(test)]
            const ALL: &'static [$name] = $name::ALL;

            #[cfg(test)]
            fn as_str(self) -> &'static str {
                $name::as_str(self)
            }

            fn parse(s: &str) -> Option<$name> {
                $name::parse(s)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

// ---------------------------------------------------------------- volumes

statuses! {
    /// A volume's status, as Cinder words it (`volumes.status`).
    VolumeStatus {
        Creating = "creating",
        Available = "available",
        Deleting = "deleting",
        Error = "error",
        ErrorDeleting = "error_deleting",
        ErrorManaging = "error_managing",
        Managing = "managing",
        Attaching = "attaching",
        InUse = "in-use",
        Detaching = "detaching",
        Maintenance = "maintenance",
        Reserved = "reserved",
        RestoringBackup = "restoring-backup",
        ErrorRestoring = "error_restoring",
        Downloading = "downloading",
        Uploading = "uploading",
        Retyping = "retyping",
        Extending = "extending",
        ErrorExtending = "error_extending",
        BackingUp = "backing-up",
        AwaitingTransfer = "awaiting-transfer",
        Reverting = "reverting",
    }
}

impl VolumeStatus {
    /// The statuses an admin may reset a volume to (os-reset_status), in the order
    /// Cinder's refusal lists them.
    pub const RESETTABLE: &'static [VolumeStatus] = &[
        VolumeStatus::Creating,
        VolumeStatus::Available,
        VolumeStatus::Deleting,
        VolumeStatus::Error,
        VolumeStatus::ErrorDeleting,
        VolumeStatus::ErrorManaging,
        VolumeStatus::Managing,
        VolumeStatus::Attaching,
        VolumeStatus::InUse,
        VolumeStatus::Detaching,
        VolumeStatus::Maintenance,
        VolumeStatus::Reserved,
        VolumeStatus::RestoringBackup,
        VolumeStatus::ErrorRestoring,
        VolumeStatus::Downloading,
        VolumeStatus::Uploading,
        VolumeStatus::Retyping,
        VolumeStatus::Extending,
        VolumeStatus::ErrorExtending,
        VolumeStatus::BackingUp,
    ];
}

/// What the volume table needs besides the status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VolumeFacts {
    pub multiattach: bool,
    /// Whether the volume has attachments (reserved ones included).
    pub has_attachments: bool,
}

/// What may be done to a volume, as far as its status decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VolumeAction {
    /// `DELETE /volumes/{id}`, Nova's delete, a server's `delete_on_termination`.
    Delete,
    /// os-force_delete, `DELETE ?force=true` (3.23), a group's `delete-volumes`.
    ForceDelete,
    /// os-extend before 3.42.
    Extend,
    /// os-extend from 3.42: an attached volume too.
    ExtendInUse,
    /// os-reserve: the legacy attach's first step (`attaching`, no attachment yet).
    Reserve,
    /// os-unreserve: back from `attaching`.
    Unreserve,
    /// os-attach: a new attachment, or the one an os-reserve began.
    Attach,
    /// An attachment's reservation (`model::reserve`): Cinder's attachment create, Nova's
    /// attach and boot from volume.
    AttachmentCreate,
    /// os-begin_detaching.
    BeginDetaching,
    /// os-roll_detaching: back from `detaching`.
    RollDetaching,
    /// os-detach, os-force_detach.
    Detach,
    /// os-update_readonly_flag.
    UpdateReadonly,
    /// os-volume_upload_image.
    UploadImage,
    /// os-volume_upload_image with `force`.
    ForceUploadImage,
    /// os-retype.
    Retype,
    /// The metadata written (set, replace, set a key, delete a key).
    UpdateMetadata,
    /// The source of a new volume (`source_volid`).
    Clone,
    /// A snapshot taken.
    Snapshot,
    /// A snapshot taken with `force`, or from 3.66; Nova's of an attached server's volumes.
    ForceSnapshot,
    /// A backup taken.
    Backup,
    /// A backup taken with `force`.
    ForceBackup,
    /// The volume a backup is restored onto.
    RestoreBackup,
    /// A transfer offered.
    TransferCreate,
    /// A transfer withdrawn: back from `awaiting-transfer`.
    TransferDelete,
    /// Added to a group (a group update's `add_volumes`).
    AddToGroup,
    /// Nova's swap: the volume swapped in.
    SwapIn,
    /// `revert` (3.40): back to its latest snapshot.
    Revert,
    /// os-reimage (3.68).
    Reimage,
    /// os-reimage with `reimage_reserved`: a reserved volume too.
    ReimageReserved,
}

impl VolumeAction {
    /// Every action: the tests' matrix rows.
    #[cfg(test)]
    pub const ALL: &'static [VolumeAction] = &[
        VolumeAction::Delete,
        VolumeAction::ForceDelete,
        VolumeAction::Extend,
        VolumeAction::ExtendInUse,
        VolumeAction::Reserve,
        VolumeAction::Unreserve,
        VolumeAction::Attach,
        VolumeAction::AttachmentCreate,
        VolumeAction::BeginDetaching,
        VolumeAction::RollDetaching,
        VolumeAction::Detach,
        VolumeAction::UpdateReadonly,
        VolumeAction::UploadImage,
        VolumeAction::ForceUploadImage,
        VolumeAction::Retype,
        VolumeAction::UpdateMetadata,
        VolumeAction::Clone,
        VolumeAction::Snapshot,
        VolumeAction::ForceSnapshot,
        VolumeAction::Backup,
        VolumeAction::ForceBackup,
        VolumeAction::RestoreBackup,
        VolumeAction::TransferCreate,
        VolumeAction::TransferDelete,
        VolumeAction::AddToGroup,
        VolumeAction::SwapIn,
        VolumeAction::Revert,
        VolumeAction::Reimage,
        VolumeAction::ReimageReserved,
    ];
}

impl Action for VolumeAction {
    type Status = VolumeStatus;
    type Facts = VolumeFacts;

    fn starts_from(self, facts: VolumeFacts) -> Allowed<VolumeStatus> {
        use Allowed::{AnyBut, Only};
        use VolumeAction as A;
        use VolumeStatus::*;
        const AVAILABLE: &[VolumeStatus] = &[Available];
        const AVAILABLE_IN_USE: &[VolumeStatus] = &[Available, InUse];
        // A multiattach volume takes another attachment while one is under way or done.
        const ATTACHABLE_AGAIN: &[VolumeStatus] = &[Available, InUse, Reserved, Attaching];
        match self {
            A::Delete if facts.has_attachments => Only(&[]),
            A::Delete => Only(&[
                Available,
                Error,
                ErrorRestoring,
                ErrorExtending,
                ErrorManaging,
            ]),
            A::ForceDelete => AnyBut(&[]),
            A::Extend => Only(AVAILABLE),
            A::ExtendInUse => Only(AVAILABLE_IN_USE),
            A::Reserve if facts.multiattach => Only(&[Available, InUse, Attaching]),
            A::Reserve => Only(AVAILABLE),
            A::Unreserve => Only(&[Attaching]),
            A::Attach | A::AttachmentCreate if facts.multiattach => Only(ATTACHABLE_AGAIN),
            // os-reserve left the volume attaching without an attachment: os-attach ends it.
            A::Attach if !facts.has_attachments => Only(&[Available, Attaching]),
            A::Attach | A::AttachmentCreate => Only(AVAILABLE),
            A::BeginDetaching => Only(&[InUse]),
            A::RollDetaching => Only(&[Detaching]),
            A::Detach | A::UpdateMetadata => AnyBut(&[Maintenance]),
            A::UpdateReadonly
            | A::UploadImage
            | A::Snapshot
            | A::Backup
            | A::RestoreBackup
            | A::TransferCreate
            | A::SwapIn
            | A::Revert => Only(AVAILABLE),
            A::ForceUploadImage
            | A::Retype
            | A::Clone
            | A::ForceSnapshot
            | A::ForceBackup
            | A::AddToGroup => Only(AVAILABLE_IN_USE),
            A::TransferDelete => Only(&[AwaitingTransfer]),
            A::Reimage => Only(&[Available, Error]),
            A::ReimageReserved => Only(&[Available, Error, Reserved]),
        }
    }
}

/// Cinder's reason for refusing `revert` (3.40) of volume `volume` to its latest snapshot
/// `snapshot` for the status of `what` ("Volume" or "Snapshot").
pub fn revert_refused(volume: &str, snapshot: &str, what: &str) -> String {
    format!(
        "Can't revert volume {volume} to its latest snapshot {snapshot}. {what}'s status must be 'available'."
    )
}

/// Cinder's reason for refusing to delete a volume (for its status, and for what else keeps
/// it: a migration, attachments, a group, snapshots).
pub const CANNOT_DELETE: &str = "Volume status must be available or error or error_restoring or error_extending or error_managing and must not be migrating, attached, belong to a group, have snapshots or be disassociated from snapshots after volume transfer.";

pub type VolumeRefusal = Refusal<VolumeAction, VolumeFacts>;

impl VolumeRefusal {
    /// Whether Cinder does nothing here and answers as if done (its conditional update
    /// finds nothing to change): os-unreserve, os-roll_detaching, a transfer's delete.
    pub fn is_quiet(&self) -> bool {
        matches!(
            self.action,
            VolumeAction::Unreserve | VolumeAction::RollDetaching | VolumeAction::TransferDelete
        )
    }

    /// Cinder's reason (its InvalidVolume's, after "Invalid volume: ") for volume `id`
    /// whose status is stored as `current`.
    pub fn reason(&self, id: &str, current: &str) -> String {
        use VolumeAction as A;
        let multiattach = self.facts.multiattach;
        match self.action {
            A::Delete | A::ForceDelete => CANNOT_DELETE.into(),
            A::Extend => {
                format!("Volume {id} status must be 'available' to extend, currently {current}.")
            }
            A::ExtendInUse => format!(
                "Volume {id} status must be 'available' or 'in-use' to extend, currently {current}."
            ),
            A::Reserve => format!(
                "Volume status must be {} to reserve, but the status is {current}.",
                if multiattach {
                    "(available, in-use)"
                } else {
                    "available"
                }
            ),
            A::Attach | A::AttachmentCreate if !multiattach && self.facts.has_attachments => {
                format!(
                    "Volume {id} status must be available to reserve, but the current status is {current}."
                )
            }
            A::Attach | A::AttachmentCreate => format!(
                "Volume {id} status must be available or downloading to reserve, but the current status is {current}."
            ),
            // Never shown: Cinder answers these as done.
            A::Unreserve => {
                format!("Volume {id} is not attaching: nothing to unreserve ({current}).")
            }
            A::RollDetaching => {
                format!("Volume {id} is not detaching: nothing to roll back ({current}).")
            }
            A::TransferDelete => {
                format!("Volume {id} is not awaiting a transfer ({current}).")
            }
            A::BeginDetaching => "Unable to detach volume. Volume status must be 'in-use' and attach_status must be 'attached' to detach.".into(),
            A::Detach => "The volume cannot be detached in maintenance mode.".into(),
            A::UpdateReadonly => "Volume status must be available to update readonly flag.".into(),
            A::UploadImage | A::Snapshot => format!(
                "Volume {id} status must be available, but current status is: {current}."
            ),
            A::ForceUploadImage | A::Retype | A::ForceSnapshot => format!(
                "Volume {id} status must be available or in-use, but current status is: {current}."
            ),
            A::UpdateMetadata => format!("Volume {id} is in maintenance."),
            A::Clone => "Unable to create a volume from an originating source volume when its status is not one of available, in-use values".into(),
            A::Backup if current == VolumeStatus::InUse.as_str() => {
                "Backing up an in-use volume must use the force flag.".into()
            }
            A::Backup | A::ForceBackup => format!(
                "Volume to be backed up must be available or in-use, but the current status is \"{current}\"."
            ),
            A::RestoreBackup => "Volume to be restored to must be available".into(),
            A::TransferCreate => "status must be available".into(),
            // Cinder's InvalidGroup words it: "Cannot add volume … to group … because …".
            A::AddToGroup => format!(
                "volume is in an invalid state: {current}. Valid states are: ('available', 'in-use')"
            ),
            A::SwapIn => "New volume must be detached in order to swap.".into(),
            // The handler words it with the snapshot's id (`revert_refused`).
            A::Revert => revert_refused(id, "", "Volume"),
            A::Reimage => format!(
                "Volume {id} status must be available or error, but current status is {current}."
            ),
            A::ReimageReserved => format!(
                "Volume {id} status must be available or error or reserved, but current status is {current}."
            ),
        }
    }

    /// The text of Cinder's 400 (InvalidVolume).
    pub fn message(&self, id: &str, current: &str) -> String {
        format!("Invalid volume: {}", self.reason(id, current))
    }
}

// ---------------------------------------------------------------- snapshots

statuses! {
    /// A snapshot's status (`volume_snapshots.status`).
    SnapshotStatus {
        Creating = "creating",
        Available = "available",
        Deleting = "deleting",
        Error = "error",
        ErrorDeleting = "error_deleting",
        Unmanaging = "unmanaging",
        BackingUp = "backing-up",
        Restoring = "restoring",
    }
}

/// What the snapshot table needs besides the status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SnapshotFacts {
    /// Whether the snapshot is a group snapshot's.
    pub in_group: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotAction {
    /// `DELETE /snapshots/{id}`, Nova's proxy.
    Delete,
    /// os-force_delete.
    ForceDelete,
    /// Deleted with its volume (`DELETE /volumes/{id}?cascade=true`).
    DeleteWithVolume,
    /// The source of a new volume (`snapshot_id`).
    CreateVolume,
    /// The source of a backup (`snapshot_id`).
    Backup,
    /// The snapshot its volume is reverted to (`revert`, 3.40).
    Revert,
    /// os-update_snapshot_status: the status the driver reports.
    ReportStatus(SnapshotStatus),
}

impl SnapshotAction {
    /// Every action, each status os-update_snapshot_status may report included: the tests'
    /// matrix rows.
    #[cfg(test)]
    pub fn all() -> Vec<SnapshotAction> {
        let mut all = vec![
            SnapshotAction::Delete,
            SnapshotAction::ForceDelete,
            SnapshotAction::DeleteWithVolume,
            SnapshotAction::CreateVolume,
            SnapshotAction::Backup,
            SnapshotAction::Revert,
        ];
        all.extend(
            SnapshotStatus::ALL
                .iter()
                .map(|s| SnapshotAction::ReportStatus(*s)),
        );
        all
    }
}

impl Action for SnapshotAction {
    type Status = SnapshotStatus;
    type Facts = SnapshotFacts;

    fn starts_from(self, facts: SnapshotFacts) -> Allowed<SnapshotStatus> {
        use Allowed::{AnyBut, Only};
        use SnapshotAction as A;
        use SnapshotStatus::*;
        match self {
            // A group snapshot's members go with it (`group_snapshots.rs`).
            A::Delete if facts.in_group => Only(&[]),
            A::Delete | A::DeleteWithVolume => Only(&[Available, Error]),
            A::ForceDelete => AnyBut(&[]),
            A::CreateVolume | A::Backup | A::Revert => Only(&[Available]),
            // A snapshot being created ends available or in error; one being deleted, in
            // error_deleting (or gone).
            A::ReportStatus(Creating | Available | Error) => Only(&[Creating]),
            A::ReportStatus(Deleting | ErrorDeleting) => Only(&[Deleting]),
            A::ReportStatus(Unmanaging | BackingUp | Restoring) => Only(&[]),
        }
    }
}

pub type SnapshotRefusal = Refusal<SnapshotAction, SnapshotFacts>;

/// Cinder's refusal of a status reported by os-update_snapshot_status (`to` as given).
pub fn report_refused(to: &str, current: &str) -> String {
    format!("Provided snapshot status {to} not allowed for snapshot with status {current}.")
}

impl SnapshotRefusal {
    /// The text of Cinder's 400 for snapshot `id` whose status is stored as `current`.
    pub fn message(&self, id: &str, current: &str) -> String {
        use SnapshotAction as A;
        match self.action {
            A::Delete | A::ForceDelete => "Invalid snapshot: Volume Snapshot status must be available or error and must not be part of a group.".into(),
            A::DeleteWithVolume => format!(
                "Invalid volume: Snapshot {id} status must be available or error and not part of a group."
            ),
            A::CreateVolume => "Invalid snapshot: Originating snapshot status must be one of 'available' values".into(),
            A::Backup => format!(
                "Invalid snapshot: Snapshot to be backed up must be available, but the current status is \"{current}\"."
            ),
            A::Revert => format!("Invalid snapshot: {}", revert_refused("", id, "Snapshot")),
            A::ReportStatus(to) => report_refused(to.as_str(), current),
        }
    }
}

// ---------------------------------------------------------------- backups

statuses! {
    /// A backup's status (`volume_backups.status`).
    BackupStatus {
        Creating = "creating",
        Available = "available",
        Restoring = "restoring",
        Error = "error",
    }
}

impl BackupStatus {
    /// The statuses an admin may reset a backup to (os-reset_status).
    pub const RESETTABLE: &'static [BackupStatus] = &[BackupStatus::Available, BackupStatus::Error];
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackupAction {
    /// `DELETE /backups/{id}`.
    Delete,
    /// os-force_delete.
    ForceDelete,
    /// `POST /backups/{id}/restore`.
    Restore,
    /// The source of a new volume (`backup_id`).
    CreateVolume,
    /// `GET /backups/{id}/export_record`.
    Export,
}

impl BackupAction {
    /// Every action: the tests' matrix rows.
    #[cfg(test)]
    pub const ALL: &'static [BackupAction] = &[
        BackupAction::Delete,
        BackupAction::ForceDelete,
        BackupAction::Restore,
        BackupAction::CreateVolume,
        BackupAction::Export,
    ];
}

impl Action for BackupAction {
    type Status = BackupStatus;
    type Facts = ();

    fn starts_from(self, _: ()) -> Allowed<BackupStatus> {
        use Allowed::{AnyBut, Only};
        use BackupStatus::*;
        match self {
            BackupAction::Delete => Only(&[Available, Error]),
            BackupAction::ForceDelete => AnyBut(&[]),
            BackupAction::Restore | BackupAction::CreateVolume | BackupAction::Export => {
                Only(&[Available])
            }
        }
    }
}

pub type BackupRefusal = Refusal<BackupAction, ()>;

impl BackupRefusal {
    /// The text of Cinder's 400 (InvalidBackup) for a backup whose status is stored as
    /// `current`.
    pub fn message(&self, current: &str) -> String {
        match self.action {
            BackupAction::Delete | BackupAction::ForceDelete => {
                "Invalid backup: Backup status must be available or error".into()
            }
            BackupAction::Restore | BackupAction::CreateVolume => {
                "Invalid backup: Backup status must be available".into()
            }
            BackupAction::Export => {
                format!("Invalid backup: Backup status must be available and not {current}.")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The matrix's columns: each status of `S::ALL`, then a stored word this build does
    /// not know.
    fn row<A: Action>(action: A, facts: A::Facts) -> String {
        let mut cells: Vec<&str> = A::Status::ALL
            .iter()
            .map(|s| match may_start(action, *s, facts) {
                Ok(()) => "Y",
                Err(_) => ".",
            })
            .collect();
        cells.push(match may_start_stored(action, "no-such-status", facts) {
            Ok(()) => "Y",
            Err(_) => ".",
        });
        cells.join(" ")
    }

    /// `expected` with its alignment spaces dropped.
    fn cells(expected: &str) -> String {
        expected.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    fn round_trips<S: Status + std::fmt::Debug>() {
        for s in S::ALL {
            assert_eq!(S::parse(s.as_str()), Some(*s), "{s:?}");
        }
        let mut words: Vec<&str> = S::ALL.iter().map(|s| s.as_str()).collect();
        words.sort_unstable();
        words.dedup();
        assert_eq!(words.len(), S::ALL.len(), "each status has its own word");
        assert_eq!(S::parse("no-such-status"), None);
        assert_eq!(S::parse(""), None);
        assert_eq!(
            S::parse("Available"),
            None,
            "words are Cinder's, lower case"
        );
    }

    #[test]
    fn statuses_round_trip_through_their_words() {
        round_trips::<VolumeStatus>();
        round_trips::<SnapshotStatus>();
        round_trips::<BackupStatus>();
        assert_eq!(VolumeStatus::InUse.as_str(), "in-use");
        assert_eq!(
            VolumeStatus::AwaitingTransfer.to_string(),
            "awaiting-transfer"
        );
        assert_eq!(VolumeStatus::ErrorExtending.as_str(), "error_extending");
        assert_eq!(SnapshotStatus::BackingUp.as_str(), "backing-up");
    }

    #[test]
    fn admins_reset_a_volume_to_any_status_but_awaiting_transfer() {
        let words: Vec<&str> = VolumeStatus::RESETTABLE
            .iter()
            .map(|s| s.as_str())
            .collect();
        assert_eq!(
            format!("{words:?}"),
            "[\"creating\", \"available\", \"deleting\", \"error\", \"error_deleting\", \
             \"error_managing\", \"managing\", \"attaching\", \"in-use\", \"detaching\", \
             \"maintenance\", \"reserved\", \"restoring-backup\", \"error_restoring\", \
             \"downloading\", \"uploading\", \"retyping\", \"extending\", \"error_extending\", \
             \"backing-up\"]"
        );
        let words: Vec<&str> = BackupStatus::RESETTABLE
            .iter()
            .map(|s| s.as_str())
            .collect();
        assert_eq!(words, ["available", "error"]);
    }

    const ANY: Option<bool> = None;
    const NO: Option<bool> = Some(false);
    const YES: Option<bool> = Some(true);

    /// Each volume action from each status: `Y` may start, `.` refused. Rows are for the
    /// facts given (multiattach, has attachments; None: either).
    #[rustfmt::skip]
    const VOLUME_MATRIX: &[(VolumeAction, Option<bool>, Option<bool>, &str)] = {
        use VolumeAction::*;
        &[
        //                                     cre ava del err edl emg mng atc use dtc mnt rsv rsb ers dwn upl rty ext eex bku awt rvt  ?
        (Delete,           ANY, NO,  "  .   Y   .   Y   .   Y   .   .   .   .   .   .   .   Y   .   .   .   .   Y   .   .   .   . "),
        (Delete,           ANY, YES, "  .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   . "),
        (ForceDelete,      ANY, ANY, "  Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y "),
        (Extend,           ANY, ANY, "  .   Y   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   . "),
        (ExtendInUse,      ANY, ANY, "  .   Y   .   .   .   .   .   .   Y   .   .   .   .   .   .   .   .   .   .   .   .   .   . "),
        (Reserve,          NO,  ANY, "  .   Y   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   . "),
        (Reserve,          YES, ANY, "  .   Y   .   .   .   .   .   Y   Y   .   .   .   .   .   .   .   .   .   .   .   .   .   . "),
        (Unreserve,        ANY, ANY, "  .   .   .   .   .   .   .   Y   .   .   .   .   .   .   .   .   .   .   .   .   .   .   . "),
        (Attach,           NO,  NO,  "  .   Y   .   .   .   .   .   Y   .   .   .   .   .   .   .   .   .   .   .   .   .   .   . "),
        (Attach,           NO,  YES, "  .   Y   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   . "),
        (Attach,           YES, ANY, "  .   Y   .   .   .   .   .   Y   Y   .   .   Y   .   .   .   .   .   .   .   .   .   .   . "),
        (AttachmentCreate, NO,  ANY, "  .   Y   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   . "),
        (AttachmentCreate, YES, ANY, "  .   Y   .   .   .   .   .   Y   Y   .   .   Y   .   .   .   .   .   .   .   .   .   .   . "),
        (BeginDetaching,   ANY, ANY, "  .   .   .   .   .   .   .   .   Y   .   .   .   .   .   .   .   .   .   .   .   .   .   . "),
        (RollDetaching,    ANY, ANY, "  .   .   .   .   .   .   .   .   .   Y   .   .   .   .   .   .   .   .   .   .   .   .   . "),
        (Detach,           ANY, ANY, "  Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   .   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y "),
        (UpdateReadonly,   ANY, ANY, "  .   Y   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   . "),
        (UploadImage,      ANY, ANY, "  .   Y   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   . "),
        (ForceUploadImage, ANY, ANY, "  .   Y   .   .   .   .   .   .   Y   .   .   .   .   .   .   .   .   .   .   .   .   .   . "),
        (Retype,           ANY, ANY, "  .   Y   .   .   .   .   .   .   Y   .   .   .   .   .   .   .   .   .   .   .   .   .   . "),
        (UpdateMetadata,   ANY, ANY, "  Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   .   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y "),
        (Clone,            ANY, ANY, "  .   Y   .   .   .   .   .   .   Y   .   .   .   .   .   .   .   .   .   .   .   .   .   . "),
        (Snapshot,         ANY, ANY, "  .   Y   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   . "),
        (ForceSnapshot,    ANY, ANY, "  .   Y   .   .   .   .   .   .   Y   .   .   .   .   .   .   .   .   .   .   .   .   .   . "),
        (Backup,           ANY, ANY, "  .   Y   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   . "),
        (ForceBackup,      ANY, ANY, "  .   Y   .   .   .   .   .   .   Y   .   .   .   .   .   .   .   .   .   .   .   .   .   . "),
        (RestoreBackup,    ANY, ANY, "  .   Y   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   . "),
        (TransferCreate,   ANY, ANY, "  .   Y   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   . "),
        (TransferDelete,   ANY, ANY, "  .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   Y   .   . "),
        (AddToGroup,       ANY, ANY, "  .   Y   .   .   .   .   .   .   Y   .   .   .   .   .   .   .   .   .   .   .   .   .   . "),
        (SwapIn,           ANY, ANY, "  .   Y   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   . "),
        (Revert,           ANY, ANY, "  .   Y   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   . "),
        (Reimage,          ANY, ANY, "  .   Y   .   Y   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   . "),
        (ReimageReserved,  ANY, ANY, "  .   Y   .   Y   .   .   .   .   .   .   .   Y   .   .   .   .   .   .   .   .   .   .   . "),
        ]
    };

    #[test]
    fn each_volume_action_from_each_status() {
        assert_eq!(VolumeStatus::ALL.len(), 22, "a new status needs a column");
        let mut failures = Vec::new();
        for &action in VolumeAction::ALL {
            for multiattach in [false, true] {
                for has_attachments in [false, true] {
                    let rows: Vec<_> = VOLUME_MATRIX
                        .iter()
                        .filter(|(a, m, h, _)| {
                            *a == action
                                && m.is_none_or(|m| m == multiattach)
                                && h.is_none_or(|h| h == has_attachments)
                        })
                        .collect();
                    assert_eq!(
                        rows.len(),
                        1,
                        "{action:?} (multiattach {multiattach}, attachments {has_attachments}) \
                         needs exactly one row"
                    );
                    let facts = VolumeFacts {
                        multiattach,
                        has_attachments,
                    };
                    let (want, got) = (cells(rows[0].3), row(action, facts));
                    if want != got {
                        failures.push(format!("{action:?} {facts:?}\n  want {want}\n  got  {got}"));
                    }
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        assert_eq!(
            VOLUME_MATRIX
                .iter()
                .filter(|r| !VolumeAction::ALL.contains(&r.0))
                .count(),
            0
        );
    }

    #[rustfmt::skip]
    const SNAPSHOT_MATRIX: &[(SnapshotAction, Option<bool>, &str)] = {
        use SnapshotAction::*;
        use SnapshotStatus::*;
        &[
        //                                          cre ava del err edl unm bku rst  ?
        (Delete,                          NO,  "  .   Y   .   Y   .   .   .   .   . "),
        (Delete,                          YES, "  .   .   .   .   .   .   .   .   . "),
        (ForceDelete,                     ANY, "  Y   Y   Y   Y   Y   Y   Y   Y   Y "),
        (DeleteWithVolume,                ANY, "  .   Y   .   Y   .   .   .   .   . "),
        (CreateVolume,                    ANY, "  .   Y   .   .   .   .   .   .   . "),
        (Backup,                          ANY, "  .   Y   .   .   .   .   .   .   . "),
        (Revert,                          ANY, "  .   Y   .   .   .   .   .   .   . "),
        (ReportStatus(Creating),          ANY, "  Y   .   .   .   .   .   .   .   . "),
        (ReportStatus(Available),         ANY, "  Y   .   .   .   .   .   .   .   . "),
        (ReportStatus(Deleting),          ANY, "  .   .   Y   .   .   .   .   .   . "),
        (ReportStatus(Error),             ANY, "  Y   .   .   .   .   .   .   .   . "),
        (ReportStatus(ErrorDeleting),     ANY, "  .   .   Y   .   .   .   .   .   . "),
        (ReportStatus(Unmanaging),        ANY, "  .   .   .   .   .   .   .   .   . "),
        (ReportStatus(BackingUp),         ANY, "  .   .   .   .   .   .   .   .   . "),
        (ReportStatus(Restoring),         ANY, "  .   .   .   .   .   .   .   .   . "),
        ]
    };

    #[test]
    fn each_snapshot_action_from_each_status() {
        assert_eq!(SnapshotStatus::ALL.len(), 8, "a new status needs a column");
        let mut failures = Vec::new();
        for action in SnapshotAction::all() {
            for in_group in [false, true] {
                let rows: Vec<_> = SNAPSHOT_MATRIX
                    .iter()
                    .filter(|(a, g, _)| *a == action && g.is_none_or(|g| g == in_group))
                    .collect();
                assert_eq!(rows.len(), 1, "{action:?} (in group {in_group}): one row");
                let facts = SnapshotFacts { in_group };
                let (want, got) = (cells(rows[0].2), row(action, facts));
                if want != got {
                    failures.push(format!("{action:?} {facts:?}\n  want {want}\n  got  {got}"));
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[rustfmt::skip]
    const BACKUP_MATRIX: &[(BackupAction, &str)] = {
        use BackupAction::*;
        &[
        //                     cre ava rst err  ?
        (Delete,         "  .   Y   .   Y   . "),
        (ForceDelete,    "  Y   Y   Y   Y   Y "),
        (Restore,        "  .   Y   .   .   . "),
        (CreateVolume,   "  .   Y   .   .   . "),
        (Export,         "  .   Y   .   .   . "),
        ]
    };

    #[test]
    fn each_backup_action_from_each_status() {
        assert_eq!(BackupStatus::ALL.len(), 4, "a new status needs a column");
        assert_eq!(BACKUP_MATRIX.len(), BackupAction::ALL.len());
        for &action in BackupAction::ALL {
            let want = BACKUP_MATRIX
                .iter()
                .find(|(a, _)| *a == action)
                .map(|(_, r)| cells(r))
                .unwrap_or_else(|| panic!("{action:?} has no row"));
            assert_eq!(row(action, ()), want, "{action:?}");
        }
    }

    #[test]
    fn refusals_are_worded_as_cinder() {
        use VolumeAction as A;
        let plain = VolumeFacts::default();
        let multi = VolumeFacts {
            multiattach: true,
            has_attachments: true,
        };
        let attached = VolumeFacts {
            multiattach: false,
            has_attachments: true,
        };
        let volume = |action: VolumeAction, facts: VolumeFacts, current: &str| {
            Refusal { action, facts }.message("v1", current)
        };
        let cases: &[(VolumeAction, VolumeFacts, &str, &str)] = &[
            (A::Delete, attached, "available", "Invalid volume: Volume status must be available or error or error_restoring or error_extending or error_managing and must not be migrating, attached, belong to a group, have snapshots or be disassociated from snapshots after volume transfer."),
            (A::Extend, plain, "in-use", "Invalid volume: Volume v1 status must be 'available' to extend, currently in-use."),
            (A::ExtendInUse, plain, "error", "Invalid volume: Volume v1 status must be 'available' or 'in-use' to extend, currently error."),
            (A::Reserve, plain, "in-use", "Invalid volume: Volume status must be available to reserve, but the status is in-use."),
            (A::Reserve, multi, "error", "Invalid volume: Volume status must be (available, in-use) to reserve, but the status is error."),
            (A::AttachmentCreate, attached, "in-use", "Invalid volume: Volume v1 status must be available to reserve, but the current status is in-use."),
            (A::AttachmentCreate, plain, "error", "Invalid volume: Volume v1 status must be available or downloading to reserve, but the current status is error."),
            (A::Attach, multi, "error", "Invalid volume: Volume v1 status must be available or downloading to reserve, but the current status is error."),
            (A::BeginDetaching, plain, "available", "Invalid volume: Unable to detach volume. Volume status must be 'in-use' and attach_status must be 'attached' to detach."),
            (A::Detach, plain, "maintenance", "Invalid volume: The volume cannot be detached in maintenance mode."),
            (A::UpdateReadonly, plain, "in-use", "Invalid volume: Volume status must be available to update readonly flag."),
            (A::UploadImage, plain, "in-use", "Invalid volume: Volume v1 status must be available, but current status is: in-use."),
            (A::ForceUploadImage, plain, "error", "Invalid volume: Volume v1 status must be available or in-use, but current status is: error."),
            (A::Retype, plain, "error", "Invalid volume: Volume v1 status must be available or in-use, but current status is: error."),
            (A::UpdateMetadata, plain, "maintenance", "Invalid volume: Volume v1 is in maintenance."),
            (A::Clone, plain, "error", "Invalid volume: Unable to create a volume from an originating source volume when its status is not one of available, in-use values"),
            (A::Snapshot, plain, "in-use", "Invalid volume: Volume v1 status must be available, but current status is: in-use."),
            (A::ForceSnapshot, plain, "error", "Invalid volume: Volume v1 status must be available or in-use, but current status is: error."),
            (A::Backup, plain, "in-use", "Invalid volume: Backing up an in-use volume must use the force flag."),
            (A::Backup, plain, "error", "Invalid volume: Volume to be backed up must be available or in-use, but the current status is \"error\"."),
            (A::ForceBackup, plain, "error", "Invalid volume: Volume to be backed up must be available or in-use, but the current status is \"error\"."),
            (A::RestoreBackup, plain, "in-use", "Invalid volume: Volume to be restored to must be available"),
            (A::TransferCreate, plain, "in-use", "Invalid volume: status must be available"),
            (A::SwapIn, plain, "in-use", "Invalid volume: New volume must be detached in order to swap."),
            (A::Reimage, plain, "in-use", "Invalid volume: Volume v1 status must be available or error, but current status is in-use."),
            (A::ReimageReserved, plain, "in-use", "Invalid volume: Volume v1 status must be available or error or reserved, but current status is in-use."),
        ];
        for (action, facts, current, want) in cases {
            assert_eq!(&volume(*action, *facts, current), want, "{action:?}");
        }
        assert_eq!(
            Refusal {
                action: A::AddToGroup,
                facts: plain
            }
            .reason("v1", "error"),
            "volume is in an invalid state: error. Valid states are: ('available', 'in-use')"
        );
        for action in VolumeAction::ALL {
            let quiet = Refusal {
                action: *action,
                facts: plain,
            }
            .is_quiet();
            assert_eq!(
                quiet,
                matches!(action, A::Unreserve | A::RollDetaching | A::TransferDelete),
                "{action:?}"
            );
        }

        use SnapshotAction as S;
        let snapshot = |action: SnapshotAction, current: &str| {
            Refusal {
                action,
                facts: SnapshotFacts::default(),
            }
            .message("s1", current)
        };
        assert_eq!(snapshot(S::Delete, "creating"), "Invalid snapshot: Volume Snapshot status must be available or error and must not be part of a group.");
        assert_eq!(snapshot(S::DeleteWithVolume, "creating"), "Invalid volume: Snapshot s1 status must be available or error and not part of a group.");
        assert_eq!(
            snapshot(S::CreateVolume, "error"),
            "Invalid snapshot: Originating snapshot status must be one of 'available' values"
        );
        assert_eq!(snapshot(S::Revert, "error"), "Invalid snapshot: Can't revert volume  to its latest snapshot s1. Snapshot's status must be 'available'.");
        assert_eq!(
            format!("Invalid volume: {}", revert_refused("v1", "s1", "Volume")),
            "Invalid volume: Can't revert volume v1 to its latest snapshot s1. Volume's status must be 'available'."
        );
        assert_eq!(snapshot(S::Backup, "error"), "Invalid snapshot: Snapshot to be backed up must be available, but the current status is \"error\".");
        assert_eq!(
            snapshot(S::ReportStatus(SnapshotStatus::Error), "available"),
            "Provided snapshot status error not allowed for snapshot with status available."
        );

        let backup = |action: BackupAction| Refusal { action, facts: () }.message("creating");
        assert_eq!(
            backup(BackupAction::Delete),
            "Invalid backup: Backup status must be available or error"
        );
        assert_eq!(
            backup(BackupAction::Restore),
            "Invalid backup: Backup status must be available"
        );
        assert_eq!(
            backup(BackupAction::CreateVolume),
            "Invalid backup: Backup status must be available"
        );
        assert_eq!(
            backup(BackupAction::Export),
            "Invalid backup: Backup status must be available and not creating."
        );
    }
}
