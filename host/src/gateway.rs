//! A gateway is one configuration made live: drivers loaded, `setup_routes` run for each
//! service, routers and hooks built. Requests run through it; a reload builds a new one.

use std::sync::Arc;
use std::time::Instant;

use abi_stable::std_types::RResult;
use jumpgate_plugin_api::abi::{ResponderBox, TokenValidatorBox};
use jumpgate_plugin_api::{env, Fault, Request, Response};

use crate::app::{dispatcher_box, HostApp};
use crate::catalog;
use crate::config::Config;
use crate::dispatcher::{HostDispatcher, ServiceTable};
use crate::hooks::{Exchange, Hook};
use crate::loader::{Driver, Loader};
use crate::router::{Matched, Routes};

/// What a client reads when a driver failed: the details go to the log, with the request id.
pub const INTERNAL_ERROR: &str =
    "The server has either erred or is incapable of performing the requested operation.";

/// A registered handler and what the host needs to know to call it.
pub struct Handler {
    pub responder: ResponderBox,
    pub methods: Vec<String>,
    pub nonblocking: bool,
    /// The driver that registered it: the service's own, or its fallback.
    pub driver: Arc<Driver>,
}

/// One enabled service, live.
pub struct Service {
    pub table: Arc<ServiceTable>,
    pub routes: Routes,
    pub handlers: Vec<Option<Handler>>,
    /// Answers what no endpoint handler answers (see [`crate::dispatcher::CATCH_ALL`]).
    pub catch_all: Option<Handler>,
    pub driver: Arc<Driver>,
    /// `fallback =` of the service's section.
    pub fallback: Option<Arc<Driver>>,
}

impl Service {
    pub fn name(&self) -> &str {
        &self.table.service
    }
}

pub struct Gateway {
    pub config: Arc<Config>,
    /// In the order of `enabled_services`.
    pub services: Vec<Service>,
    /// Indices into `services`, longest mount first, for matching paths.
    by_mount: Vec<usize>,
    pub request_hooks: Vec<Hook>,
    pub response_hooks: Vec<Hook>,
    pub validator: Option<TokenValidatorBox>,
    /// Set when the configuration serves HTTPS: new connections are accepted with it.
    pub tls: Option<tokio_rustls::TlsAcceptor>,
}

/// Where a path goes: a service, and the endpoint within it if one matched.
pub struct Routed {
    pub service: usize,
    /// None for a path the service does not have, which is its 404. `GET /servers/` is
    /// one: Nova, Glance and Cinder read the trailing slash as an empty id, never found,
    /// rather than as the collection.
    pub matched: Option<Matched>,
    /// The path has a `.` or `..` segment: the service's 404, answered by no handler, not
    /// even a catch-all (a passthrough would resolve it upstream, past its base path).
    pub dot_segment: bool,
}

impl Gateway {
    /// Loads every driver the configuration names and lets each set up its routes. Each
    /// driver whose `setup_routes` ran is added to `set_up`, whether the build succeeds or
    /// not, so that it can be torn down when nothing uses it.
    pub fn build(
        config: Config,
        loader: &Loader,
        set_up: &mut Vec<Arc<Driver>>,
    ) -> Result<Gateway, String> {
        let config = Arc::new(config);
        let tls = config.tls.as_ref().map(crate::tls::acceptor).transpose()?;
        let load = |service: &str, name: &str| -> Result<Arc<Driver>, String> {
            let path = Loader::resolve(&config.plugin_dir, name);
            let driver = loader
                .load(&path)
                .map_err(|e| format!("[{service}] driver = {name}: {e}"))?;
            if !driver.serves(service) {
                return Err(format!(
                    "[{service}] driver = {name}: driver '{}' does not serve {service} (it serves {})",
                    driver.name,
                    driver.services.join(", ")
                ));
            }
            Ok(driver)
        };
        // Per service: the driver and its dispatcher, then the fallback's, if any. A
        // fallback registers on a dispatcher of its own, so what each driver set stays
        // apart until the primary's handlers are chosen first.
        let mut primaries = Vec::new();
        let mut fallbacks = Vec::new();
        for sc in &config.services {
            let table = Arc::new(ServiceTable {
                service: sc.name.clone(),
                mount: sc.mount.clone(),
                endpoints: catalog::endpoints(&sc.name).unwrap_or_default(),
            });
            primaries.push((
                load(&sc.name, &sc.driver)?,
                HostDispatcher::new(table.clone()),
            ));
            fallbacks.push(match &sc.fallback {
                Some(name) => Some((load(&sc.name, name)?, HostDispatcher::new(table))),
                None => None,
            });
        }

        let dispatchers = primaries.iter().map(|(_, d)| d.clone()).collect();
        let app = HostApp::new(config.clone(), dispatchers);
        for ((sc, primary), fallback) in config.services.iter().zip(&primaries).zip(&fallbacks) {
            for (driver, disp) in std::iter::once(primary).chain(fallback) {
                let app = app.for_driver(&driver.name);
                if !set_up.iter().any(|d| d.digest == driver.digest) {
                    set_up.push(driver.clone());
                }
                let setup = driver.module.setup_routes();
                if let RResult::RErr(e) = setup(
                    jumpgate_plugin_api::abi::App_TO::from_ptr(
                        abi_stable::std_types::RArc::new(app),
                        abi_stable::sabi_trait::TD_Opaque,
                    ),
                    dispatcher_box(disp),
                ) {
                    return Err(format!(
                        "[{}] driver = {}: setup_routes failed: {e}",
                        sc.name, driver.name
                    ));
                }
            }
        }

        let mut registrations = app.take_registrations();
        let mut services = Vec::new();
        for ((driver, disp), fallback) in primaries.into_iter().zip(fallbacks) {
            let handler = |driver: &Arc<Driver>| {
                let driver = driver.clone();
                move |responder: ResponderBox| Handler {
                    methods: responder
                        .allowed_methods()
                        .into_iter()
                        .map(Into::into)
                        .collect(),
                    nonblocking: responder.is_nonblocking(),
                    responder,
                    driver: driver.clone(),
                }
            };
            let own = disp.seal();
            let mut handlers: Vec<Option<Handler>> = own
                .handlers
                .into_iter()
                .map(|h| h.map(handler(&driver)))
                .collect();
            let mut catch_all = own.catch_all.map(handler(&driver));
            let fallback = fallback.map(|(fb, fb_disp)| {
                let theirs = fb_disp.seal();
                for (slot, h) in handlers.iter_mut().zip(theirs.handlers) {
                    if slot.is_none() {
                        *slot = h.map(handler(&fb));
                    }
                }
                if catch_all.is_none() {
                    catch_all = theirs.catch_all.map(handler(&fb));
                }
                fb
            });
            let routes = Routes::new(&disp.table.endpoints)
                .map_err(|e| format!("catalog of {}: {e}", disp.table.service))?;
            services.push(Service {
                table: disp.table.clone(),
                routes,
                handlers,
                catch_all,
                driver,
                fallback,
            });
        }
        let hooks = |names: &[String], offered: &mut Vec<_>| {
            names
                .iter()
                .map(|n| Hook::resolve(n, offered))
                .collect::<Result<Vec<_>, _>>()
        };
        let request_hooks = hooks(&config.request_hooks, &mut registrations.hooks)
            .map_err(|e| format!("{}: [DEFAULT] request_hooks: {e}", config.path.display()))?;
        let response_hooks = hooks(&config.response_hooks, &mut registrations.hooks)
            .map_err(|e| format!("{}: [DEFAULT] response_hooks: {e}", config.path.display()))?;

        let mut by_mount: Vec<usize> = (0..services.len()).collect();
        by_mount.sort_by_key(|&i| std::cmp::Reverse(services[i].table.mount.len()));
        Ok(Gateway {
            config,
            services,
            by_mount,
            request_hooks,
            response_hooks,
            validator: registrations.validator.map(|(_, v)| v),
            tls,
        })
    }

    /// The drivers this gateway uses, each once.
    pub fn drivers(&self) -> Vec<Arc<Driver>> {
        let mut out: Vec<Arc<Driver>> = Vec::new();
        for d in self
            .services
            .iter()
            .flat_map(|s| std::iter::once(&s.driver).chain(&s.fallback))
        {
            if !out.iter().any(|o| o.digest == d.digest) {
                out.push(d.clone());
            }
        }
        out
    }

    /// The service whose mount `path` is under, and the endpoint it matches there.
    pub fn route(&self, path: &str) -> Option<Routed> {
        let service = self.by_mount.iter().copied().find(|&i| {
            let mount = self.services[i].table.mount.as_str();
            path.strip_prefix(mount)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })?;
        let svc = &self.services[service];
        let rel = &path[svc.table.mount.len()..];
        let matched = svc.routes.find(rel, |e| svc.handlers[e].is_some());
        let empty_id = svc.catch_all.is_none()
            && rel.trim_end_matches(".json").len() > 1
            && rel.ends_with('/')
            && matches!(svc.table.service.as_str(), "compute" | "image" | "volume")
            && matched
                .as_ref()
                .is_some_and(|m| svc.table.endpoints[m.endpoint].public.is_empty());
        Some(Routed {
            service,
            matched: if empty_id { None } else { matched },
            dot_segment: crate::router::has_dot_segment(rel),
        })
    }

    /// The handler answering `method` on a routed request: the endpoint's, else the
    /// service's catch-all (a fallback driver's passthrough, say).
    pub fn handler(&self, routed: &Routed, method: &str) -> Option<&Handler> {
        if routed.dot_segment {
            return None;
        }
        let svc = &self.services[routed.service];
        let answers = |h: &&Handler| h.methods.iter().any(|m| m == method);
        self.endpoint_handler(routed)
            .filter(answers)
            .or_else(|| svc.catch_all.as_ref().filter(answers))
    }

    fn endpoint_handler(&self, routed: &Routed) -> Option<&Handler> {
        let m = routed.matched.as_ref()?;
        self.services[routed.service].handlers[m.endpoint].as_ref()
    }

    /// Runs a request through hooks and handler. `early` is an answer decided before
    /// (a body over the size limit); the hooks still run, so auth and logging see it.
    pub fn respond(
        &self,
        routed: &Routed,
        req: Request,
        early: Option<Fault>,
        start: Instant,
    ) -> Response {
        let service = &self.services[routed.service];
        let endpoint = routed
            .matched
            .as_ref()
            .map(|m| &service.table.endpoints[m.endpoint]);
        let mut x = Exchange {
            req,
            resp: Response::default(),
            endpoint,
            start,
        };
        let answered = self
            .request_hooks
            .iter()
            .any(|h| h.on_request(self, &mut x));
        if !answered {
            let method = x.req.method.to_string();
            match (early, self.handler(routed, &method)) {
                (Some(fault), _) => x.answer(fault),
                (None, Some(h)) => call(h, &mut x),
                (None, None) => match self.endpoint_handler(routed) {
                    Some(h) => {
                        x.answer(Fault::method_not_allowed(&method));
                        x.resp.set_header("Allow", &h.methods.join(", "));
                    }
                    // An endpoint of the service's API that no driver answers is honest
                    // about it; a path the service does not have is its 404, as the real
                    // service answers (clients probe for one: osauth's version discovery).
                    None if routed.matched.is_some() => x.answer(Fault::not_implemented(format!(
                        "{method} {} is not implemented by this cloud.",
                        x.req.path
                    ))),
                    None => x.answer(Fault::not_found("The resource could not be found.")),
                },
            }
        }
        finish(&mut x);
        for hook in self.request_hooks.iter().chain(&self.response_hooks) {
            hook.on_response(&mut x);
        }
        x.resp
    }
}

/// Calls the driver. An `Err` is a panic or a failure the driver could not phrase as a
/// fault: the client gets a 500 in the service's style, the log gets the reason.
fn call(h: &Handler, x: &mut Exchange) {
    if let RResult::RErr(e) = h.responder.handle(&mut x.req, &mut x.resp) {
        tracing::error!(
            driver = %h.driver.name,
            endpoint = %x.req.endpoint,
            request_id = x.req.env(env::REQUEST_ID).unwrap_or("-"),
            "handler failed: {e}"
        );
        x.answer(Fault::internal(INTERNAL_ERROR));
    }
}

/// Core formatting: an error answered without a body gets the service's fault body, and a
/// body without a content type is JSON, as the original's format hook did. A 204 or 304
/// has no content (a passthrough driver still streams it, empty): it gets no content type,
/// as python-glanceclient parses an empty `application/json` answer and fails.
fn finish(x: &mut Exchange) {
    let resp = &mut x.resp;
    let has_body = !resp.body.is_empty() || resp.body_stream.is_some();
    if resp.status >= 400 && !has_body {
        let fault = Fault::new(
            resp.status,
            jumpgate_plugin_api::fault::reason_phrase(resp.status),
        );
        let headers = std::mem::take(&mut resp.headers);
        fault.write_for(&x.req, resp);
        for h in headers {
            if resp.header(&h.name).is_none() {
                resp.headers.push(h);
            }
        }
    } else if has_body && resp.header("content-type").is_none() && !matches!(resp.status, 204 | 304)
    {
        resp.set_header("Content-Type", "application/json");
    }
}
