//! Identity (Keystone v3 and v2.0) for the local cloud: users, projects, domains, roles and
//! tokens in the store; the token validator the host's auth hook asks.

mod auth;
mod catalog;
pub mod model;
mod password;
pub mod repo;
mod routes;
pub(crate) mod token;
mod views;

use std::sync::Arc;

use jumpgate_plugin_api::prelude::*;

use crate::settings::Settings;
use crate::store::Store;
use model::{Actor, Assignment, Domain, Project, Role, Target, User, DEFAULT_DOMAIN};
use password::Hasher;
use token::{Revocations, Sealer};

/// Identity's state, shared by every handler.
pub struct Identity {
    pub store: Arc<Store>,
    app: App,
    sealer: Sealer,
    revocations: Revocations,
    hasher: Hasher,
    /// Seconds a token lives: `[identity] token_expiration`.
    token_ttl: i64,
    /// `[identity] region`.
    region: String,
    /// Services and endpoints admins registered: read at most once a second, and at once
    /// after this host changed them.
    stored_catalog: std::sync::RwLock<Option<(std::time::Instant, Arc<catalog::Stored>)>>,
}

/// Roles every cloud has, each implying the next: admin ⊃ manager ⊃ member ⊃ reader.
const ROLES: &[&str] = &["admin", "manager", "member", "reader"];

impl Identity {
    pub fn new(app: App, store: Arc<Store>, settings: &Settings) -> Result<Identity, String> {
        Ok(Identity {
            app,
            store,
            sealer: Sealer::new(&settings.secret_key, &settings.previous_secret_keys),
            revocations: Revocations::new(),
            hasher: Hasher::new(
                settings.password_hash_memory_kib,
                settings.password_hash_iterations,
            )?,
            token_ttl: settings.token_expiration,
            region: settings.region.clone(),
            stored_catalog: std::sync::RwLock::new(None),
        })
    }

    /// On an empty store: domain `Default`, project `admin`, the standard roles, and user
    /// `admin` holding admin on the project and the system. Returns the password when it
    /// was generated, for the operator to read once.
    pub fn bootstrap(&self, password: Option<&str>) -> Result<Option<String>, String> {
        let empty = self
            .store
            .read(|c| model::list_domains(c))
            .map(|d| d.is_empty())
            .map_err(|e| format!("bootstrap: {e:?}"))?;
        if !empty {
            return Ok(None);
        }
        let generated = password.is_none().then(generate_password);
        let password = password
            .map(str::to_string)
            .or(generated.clone())
            .unwrap_or_default();
        let hash = self.hasher.hash(&password)?;
        self.store
            .write(|tx| -> model::Result<()> {
                model::create_domain(
                    tx,
                    &Domain {
                        id: DEFAULT_DOMAIN.into(),
                        name: "Default".into(),
                        description: "The default domain".into(),
                        enabled: true,
                        tags: vec![],
                    },
                )?;
                let mut ids = Vec::new();
                for name in ROLES.iter().chain(&["service"]) {
                    let id = model::new_id();
                    model::create_role(
                        tx,
                        &Role {
                            id: id.clone(),
                            name: (*name).into(),
                            domain_id: None,
                            description: None,
                        },
                    )?;
                    ids.push(id);
                }
                for pair in ids[..ROLES.len()].windows(2) {
                    model::add_implied_role(tx, &pair[0], &pair[1])?;
                }
                let project = Project {
                    id: model::new_id(),
                    name: "admin".into(),
                    domain_id: DEFAULT_DOMAIN.into(),
                    parent_id: Some(DEFAULT_DOMAIN.into()),
                    description: "Bootstrap project for initializing the cloud.".into(),
                    enabled: true,
                    tags: vec![],
                    extra: Default::default(),
                };
                model::create_project(tx, &project)?;
                let user = User {
                    id: model::new_id(),
                    name: "admin".into(),
                    domain_id: DEFAULT_DOMAIN.into(),
                    password_hash: Some(hash),
                    enabled: true,
                    default_project_id: None,
                    extra: Default::default(),
                    created_at: crate::time::now_iso(),
                    password_changed_at: None,
                };
                model::create_user(tx, &user)?;
                for target in [Target::Project(project.id.clone()), Target::System] {
                    model::grant(
                        tx,
                        &Assignment {
                            actor: Actor::User(user.id.clone()),
                            target,
                            role_id: ids[0].clone(),
                            inherited: false,
                        },
                    )?;
                }
                Ok(())
            })
            .map_err(|e| format!("bootstrap: {e:?}"))?;
        Ok(generated)
    }
}

fn generate_password() -> String {
    let mut raw = [0u8; 18];
    // An unseeded OS is not something to bootstrap a cloud on; fall back to a uuid.
    if getrandom::getrandom(&mut raw).is_err() {
        return uuid::Uuid::new_v4().simple().to_string();
    }
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

/// Registers identity's handlers and the token validator.
pub fn setup(app: &App, disp: &Dispatcher, identity: Arc<Identity>) -> Result<(), Error> {
    app.set_token_validator(auth::TokenCheck(identity.clone()))?;
    routes::setup(disp, identity)
}

impl Identity {
    /// The whole catalog, for a caller scoped to `project`.
    fn catalog(&self, req: &Request, project: Option<&str>) -> Result<Vec<catalog::Entry>, Fault> {
        let fresh = self
            .stored_catalog
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .filter(|(at, _)| at.elapsed() < std::time::Duration::from_secs(1))
            .map(|(_, s)| s.clone());
        let stored = match fresh {
            Some(s) => s,
            None => {
                let s = Arc::new(self.read(catalog::Stored::read)?);
                *self
                    .stored_catalog
                    .write()
                    .unwrap_or_else(|e| e.into_inner()) =
                    Some((std::time::Instant::now(), s.clone()));
                s
            }
        };
        Ok(catalog::entries(
            &self.app,
            req,
            project,
            &self.region,
            &stored,
        )?)
    }

    /// After this host changed the registered services or endpoints.
    fn catalog_changed(&self) {
        *self
            .stored_catalog
            .write()
            .unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Keystone's fault for a model error; store failures go to the log, not the client.
    fn fault(&self, e: model::Error) -> Fault {
        match e {
            model::Error::NotFound(kind, id) => {
                Fault::not_found(format!("Could not find {kind}: {id}."))
            }
            model::Error::Missing(m) => Fault::not_found(m),
            model::Error::Conflict(m) => Fault::conflict(m),
            model::Error::Invalid(m) => Fault::bad_request(m),
            model::Error::Forbidden(m) => Fault::forbidden(m),
            model::Error::Store(e) if e.unstorable_reason().is_some() => {
                Fault::bad_request(format!(
                    "Invalid input: {}",
                    e.unstorable_reason().unwrap_or_default()
                ))
            }
            model::Error::Store(e) => {
                self.app
                    .log(LogLevel::Error, &format!("identity store: {e}"));
                Fault::internal(
                    "An unexpected error prevented the server from fulfilling your request.",
                )
            }
        }
    }
}
