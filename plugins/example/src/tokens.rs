//! `v2_tokens`: authenticates against the `[example]` section of jumpgate.conf and answers
//! with a v2.0 access whose catalog is built from the compute and identity dispatchers.

use jumpgate_plugin_api::prelude::*;
use serde_json::{json, Value};

pub struct TokensV2 {
    app: App,
}

impl TokensV2 {
    pub fn new(app: App) -> TokensV2 {
        TokensV2 { app }
    }
}

#[handler]
impl Handler for TokensV2 {
    fn on_post(&self, req: &mut Request, resp: &mut Response) -> HandlerResult {
        let body: Value = req.json()?;
        let creds = &body["auth"]["passwordCredentials"];
        let (Some(username), Some(password)) =
            (creds["username"].as_str(), creds["password"].as_str())
        else {
            return Err(Fault::bad_request(
                "Expecting auth.passwordCredentials with username and password.",
            ));
        };
        // Your cloud checks the password here; the example asks jumpgate.conf.
        let user = self.app.config("example", "username");
        let secret = self.app.config("example", "password");
        if user.as_deref() != Some(username) || secret.as_deref() != Some(password) {
            return Err(Fault::unauthorized("Invalid user / password"));
        }
        let tenant = body["auth"]["tenantName"]
            .as_str()
            .or(body["auth"]["tenantId"].as_str())
            .unwrap_or(username)
            .to_string();
        let token = uuid::Uuid::new_v4().simple().to_string();

        let index_url = self
            .app
            .get_dispatcher("identity")
            .ok_or_else(|| Fault::internal("identity is not enabled"))?
            .get_endpoint_url(req, "v2_auth_index", &[])?;
        let compute = self.app.get_dispatcher("compute");
        let mut service_catalog = vec![catalog_entry("identity", "keystone", &index_url)];
        if let Some(compute) = compute {
            let v2_url = compute.get_endpoint_url(req, "v2_index", &[])?;
            let tenant_url = format!("{v2_url}/{tenant}");
            service_catalog.insert(0, catalog_entry("compute", "nova", &tenant_url));
        }

        let access = json!({
            "token": {
                "expires": expiry(),
                "id": token,
                "tenant": {"id": tenant, "enabled": true, "description": null, "name": tenant},
            },
            "serviceCatalog": service_catalog,
            "user": {
                "username": username,
                "id": username,
                "roles": [{"name": "member"}],
                "roles_links": [],
                "name": username,
            },
        });
        resp.json(&json!({ "access": access }));
        Ok(())
    }

    fn is_nonblocking(&self) -> bool {
        true
    }
}

fn catalog_entry(kind: &str, name: &str, url: &str) -> Value {
    json!({
        "endpoints_links": [],
        "endpoints": [{
            "region": "RegionOne",
            "publicURL": url,
            "internalURL": url,
            "adminURL": url,
            "id": "1",
        }],
        "type": kind,
        "name": name,
    })
}

/// A day from now, as the guide's example does, in ISO 8601 UTC.
fn expiry() -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    (time::OffsetDateTime::now_utc() + time::Duration::days(1))
        .format(&format)
        .unwrap_or_default()
}
