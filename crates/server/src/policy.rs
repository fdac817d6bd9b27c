//! Who may do what: the role sets each route requires (docs/api.md has the same matrix as a table).
//!
//! Personal data (subjects, encounters, samples, watchlist, alerts) is for the people who act on it: officers,
//! supervisors and analysts. Admins run the installation and see no personal data; auditors read the audit trail
//! and nothing personal beyond it.

use garita_model::Role::{self, Admin, Analyst, Auditor, Officer, Supervisor};

/// Every authenticated user.
pub const ANY: &[Role] = Role::ALL;
/// Read subjects, encounters, samples, watchlist and alerts.
pub const PERSONAL_READ: &[Role] = &[Officer, Supervisor, Analyst];
/// Confirm or dismiss alerts.
pub const ALERT_DECIDE: &[Role] = &[Officer, Supervisor];
/// Add watchlist entries.
pub const WATCHLIST_WRITE: &[Role] = &[Supervisor, Analyst];
/// Read consignments and their manifests.
pub const CARGO_READ: &[Role] = &[Officer, Supervisor, Analyst];
/// Record decisions and seizures.
pub const CARGO_DECIDE: &[Role] = &[Officer, Supervisor];
/// Manage users, sites, devices and the agency.
pub const ADMIN: &[Role] = &[Admin];
/// List devices and their status.
pub const DEVICE_READ: &[Role] = &[Admin, Auditor, Supervisor];
/// List sharing agreements, exports, imports, cosignatures and answers (no personal data).
pub const SHARE_READ: &[Role] = &[Admin, Auditor, Supervisor];
/// Export bundles to partners (the bundle is encrypted to the partner: the caller cannot read it).
pub const SHARE_EXPORT: &[Role] = &[Supervisor];
/// Import partners' bundles (the answer shows the imported personal data).
pub const SHARE_IMPORT: &[Role] = &[Supervisor, Analyst];
/// Read the audit trail.
pub const AUDIT_READ: &[Role] = &[Auditor];
