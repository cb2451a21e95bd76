//! Faults: an error status with a message, written as the body the real service sends.
//! The one fault builder of Jumpgate: the host renders its own 401/404/405/501 with it too.

use crate::abi::{Pair, Request, Response};

/// An error answer. `Err(Fault)` from a handler becomes this response, in the style of the
/// service the endpoint belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub status: u16,
    pub message: String,
    /// The service's own name for the error where it has one: Neutron's `type`
    /// (`NetworkNotFound`), or Nova's key when it is not the status's usual one.
    pub kind: Option<String>,
    /// Extra response headers, e.g. `WWW-Authenticate` on a 401.
    pub headers: Vec<(String, String)>,
    /// Extra members of the error object where a service's document has them (Placement's
    /// `max_version` and `min_version` on a microversion it cannot serve).
    pub fields: Vec<(String, serde_json::Value)>,
}

/// How a service spells a fault body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultStyle {
    /// `{"error": {"code": 404, "title": "Not Found", "message": …}}`
    Keystone,
    /// `{"itemNotFound": {"code": 404, "message": …}}`, also Cinder's.
    Nova,
    /// webob's JSON error body: `{"code": "404 Not Found", "title": "Not Found", "message": …}`
    Glance,
    /// `{"NeutronError": {"type": "HTTPNotFound", "message": …, "detail": ""}}`
    Neutron,
    /// `{"error_message": "{\"faultstring\": …, \"faultcode\": \"Client\", \"debuginfo\": null}"}`
    Ironic,
    /// The API-SIG errors document Placement writes (`placement/util.py`,
    /// `json_error_formatter`): `{"errors": [{"status", "title", "detail", "code",
    /// "request_id"}]}`, `detail` being webob's explanation then the message; `code` only
    /// when the fault names one (`kind`, from 1.23).
    Placement,
}

impl FaultStyle {
    /// The style of a service, by its name in jumpgate.conf.
    pub fn of(service: &str) -> FaultStyle {
        match service {
            "identity" => FaultStyle::Keystone,
            "image" => FaultStyle::Glance,
            "network" => FaultStyle::Neutron,
            "baremetal" => FaultStyle::Ironic,
            "placement" => FaultStyle::Placement,
            _ => FaultStyle::Nova,
        }
    }
}

impl Fault {
    pub fn new(status: u16, message: impl Into<String>) -> Fault {
        Fault {
            status,
            message: message.into(),
            kind: None,
            headers: Vec::new(),
            fields: Vec::new(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Fault {
        Fault::new(400, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Fault {
        Fault::new(401, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Fault {
        Fault::new(403, message)
    }

    pub fn not_found(message: impl Into<String>) -> Fault {
        Fault::new(404, message)
    }

    pub fn method_not_allowed(method: &str) -> Fault {
        Fault::new(
            405,
            format!("The method {method} is not allowed for this resource."),
        )
    }

    pub fn conflict(message: impl Into<String>) -> Fault {
        Fault::new(409, message)
    }

    pub fn too_large(message: impl Into<String>) -> Fault {
        Fault::new(413, message)
    }

    pub fn not_implemented(message: impl Into<String>) -> Fault {
        Fault::new(501, message)
    }

    pub fn internal(message: impl Into<String>) -> Fault {
        Fault::new(500, message)
    }

    /// Sets the service's own name for this error (Neutron `type`, Nova key).
    pub fn kind(mut self, kind: impl Into<String>) -> Fault {
        self.kind = Some(kind.into());
        self
    }

    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Fault {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Adds a member to the error object (styles that have an open one: Placement's).
    pub fn field(mut self, name: impl Into<String>, value: serde_json::Value) -> Fault {
        self.fields.push((name.into(), value));
        self
    }

    /// The JSON body of this fault in `style`.
    pub fn body(&self, style: FaultStyle) -> serde_json::Value {
        use serde_json::json;
        let reason = reason_phrase(self.status);
        match style {
            FaultStyle::Keystone => json!({"error": {
                "code": self.status, "title": reason, "message": self.message,
            }}),
            FaultStyle::Nova => {
                let key = self
                    .kind
                    .clone()
                    .unwrap_or_else(|| nova_fault_name(self.status).to_string());
                json!({ key: {"code": self.status, "message": self.message} })
            }
            FaultStyle::Glance => json!({
                "code": format!("{} {}", self.status, reason),
                "title": reason,
                "message": self.message,
            }),
            FaultStyle::Neutron => {
                let kind = self
                    .kind
                    .clone()
                    .unwrap_or_else(|| format!("HTTP{}", reason.replace([' ', '-'], "")));
                json!({"NeutronError": {"type": kind, "message": self.message, "detail": ""}})
            }
            FaultStyle::Ironic => {
                let fault = json!({
                    "faultstring": self.message,
                    "faultcode": if self.status < 500 { "Client" } else { "Server" },
                    "debuginfo": null,
                });
                json!({"error_message": fault.to_string()})
            }
            // keystonemiddleware answers a missing or bad token before Placement runs, in
            // its own (Keystone's) words.
            FaultStyle::Placement if self.status == 401 => self.body(FaultStyle::Keystone),
            FaultStyle::Placement => {
                // webob's body template `explanation<br /><br />\ndetail\n` after
                // `strip_tags`: newlines to spaces, each `<br />` to a newline.
                let explanation = webob_explanation(self.status);
                // A bare webob error (a path Placement has not) has no detail of its own.
                let message = match self.message.as_str() {
                    m if m == explanation => "",
                    m => m,
                };
                let detail = format!(
                    "{explanation}\n\n {} ",
                    message.replace('\n', " ").replace('\r', "")
                );
                let mut error = json!({"status": self.status, "title": reason, "detail": detail});
                if let Some(code) = &self.kind {
                    error["code"] = json!(code);
                }
                for (name, value) in &self.fields {
                    error[name] = value.clone();
                }
                json!({"errors": [error]})
            }
        }
    }

    /// Makes `resp` this fault, answering `req` as its service would: in the service's
    /// style and, for Glance, in the media type webob negotiates from `Accept` (HTML for
    /// `*/*` or no `Accept`, as python-glanceclient relies on; JSON when JSON is preferred).
    pub fn write_for(&self, req: &Request, resp: &mut Response) {
        let style = FaultStyle::of(&req.service);
        if style == FaultStyle::Placement && self.status != 401 {
            // Placement's formatter adds the request id oslo's middleware gave the request.
            let mut body = self.body(style);
            // The code appears from 1.23 on, whoever raised the fault (a policy refusal
            // too): the named one, or Placement's default.
            match placement_codes(req) {
                true => {
                    let code = self.kind.as_deref().unwrap_or("placement.undefined_code");
                    body["errors"][0]["code"] = serde_json::json!(code);
                }
                false => {
                    if let Some(e) = body["errors"][0].as_object_mut() {
                        e.remove("code");
                    }
                }
            }
            if let Some(id) = req.env(crate::env::REQUEST_ID) {
                body["errors"][0]["request_id"] = serde_json::json!(id);
            }
            self.write_styled(style, resp);
            resp.body = body.to_string().into_bytes().into();
            return;
        }
        if style != FaultStyle::Glance {
            return self.write_styled(style, resp);
        }
        match webob_media_type(req.header("accept")) {
            WebobMedia::Json => self.write_styled(style, resp),
            media => {
                self.write_styled(style, resp);
                let (ctype, body) = self.webob_text(media == WebobMedia::Html);
                resp.body = body.into_bytes().into();
                resp.set_header("Content-Type", ctype);
            }
        }
    }

    /// webob's HTML or plain-text error page for this fault (`webob/exc.py`: the message is
    /// the explanation, followed by `<br /><br />` and an empty detail and comment).
    fn webob_text(&self, html: bool) -> (&'static str, String) {
        let status = format!("{} {}", self.status, reason_phrase(self.status));
        if html {
            let escaped = webob_html_escape(&self.message);
            let page = format!(
                "<html>\n <head>\n  <title>{status}</title>\n </head>\n <body>\n  <h1>{status}</h1>\n  {escaped}<br /><br />\n\n\n\n </body>\n</html>"
            );
            ("text/html; charset=UTF-8", page)
        } else {
            let message = self.message.replace('\n', " ").replace('\r', "");
            (
                "text/plain; charset=UTF-8",
                format!("{status}\n\n{message}\n\n   "),
            )
        }
    }

    /// Makes `resp` this fault, in the style of `service`.
    pub fn write_to(&self, service: &str, resp: &mut Response) {
        self.write_styled(FaultStyle::of(service), resp);
    }

    /// Makes `resp` this fault, in `style`.
    pub fn write_styled(&self, style: FaultStyle, resp: &mut Response) {
        resp.status = self.status;
        resp.body = self.body(style).to_string().into_bytes().into();
        resp.body_stream = abi_stable::std_types::ROption::RNone;
        resp.headers
            .retain(|h| !h.name.eq_ignore_ascii_case("content-length"));
        resp.set_header("Content-Type", "application/json");
        for (name, value) in &self.headers {
            resp.headers.push(Pair::new(name.as_str(), value.as_str()));
        }
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.message)
    }
}

/// `webob.util.html_escape`: Python's `html.escape(s, quote=True)` (`&`, `<`, `>`, `"` and
/// `'`, the last as `&#x27;`), then every non-ASCII character as a decimal reference
/// (`encode("ascii", "xmlcharrefreplace")`). python-glanceclient strips the tags of the
/// page but not the references: its users read `Attribute &#x27;x&#x27; is reserved.`
fn webob_html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c if c.is_ascii() => out.push(c),
            c => out.push_str(&format!("&#{};", c as u32)),
        }
    }
    out
}

/// What webob answers an error in: the first of `text/html`, `application/json` that
/// `Accept` rates highest (its most specific matching range decides), plain text if it
/// takes neither. No header, or one webob cannot parse, takes both: HTML.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WebobMedia {
    Html,
    Json,
    Plain,
}

fn webob_media_type(accept: Option<&str>) -> WebobMedia {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return WebobMedia::Html;
    };
    let mut ranges = Vec::new();
    for part in accept.split(',') {
        let mut params = part.split(';');
        let range = params
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        let Some((kind, sub)) = range.split_once('/') else {
            return WebobMedia::Html; // invalid: webob accepts every offer
        };
        let mut q = 1.0f32;
        for p in params {
            if let Some(v) = p.trim().strip_prefix("q=") {
                match v.trim().parse::<f32>() {
                    Ok(v) if (0.0..=1.0).contains(&v) => q = v,
                    _ => return WebobMedia::Html,
                }
            }
        }
        ranges.push((kind.to_string(), sub.to_string(), q));
    }
    let rate = |offer: &str| -> f32 {
        let (kind, sub) = offer.split_once('/').unwrap_or((offer, ""));
        ranges
            .iter()
            .filter_map(|(k, s, q)| {
                let specificity = match (k.as_str(), s.as_str()) {
                    (k2, s2) if k2 == kind && s2 == sub => 3,
                    (k2, "*") if k2 == kind => 2,
                    ("*", "*") => 1,
                    _ => return None,
                };
                Some((specificity, *q))
            })
            .max_by_key(|(specificity, _)| *specificity)
            .map_or(0.0, |(_, q)| q)
    };
    let (html, json) = (rate("text/html"), rate("application/json"));
    if html <= 0.0 && json <= 0.0 {
        WebobMedia::Plain
    } else if json > html {
        WebobMedia::Json
    } else {
        WebobMedia::Html
    }
}

/// Whether `req` asked Placement for 1.23 or later (`latest` included), where errors carry
/// a code. A version that does not parse is itself the error, written without one.
fn placement_codes(req: &Request) -> bool {
    let Some(h) = req.header("openstack-api-version") else {
        return false;
    };
    h.split(',').any(|entry| {
        let mut words = entry.split_whitespace();
        if !words
            .next()
            .is_some_and(|w| w.eq_ignore_ascii_case("placement"))
        {
            return false;
        }
        match words.next() {
            Some(v) if v.eq_ignore_ascii_case("latest") => true,
            Some(v) => v
                .split_once('.')
                .and_then(|(major, minor)| {
                    Some((major.parse::<u32>().ok()?, minor.parse::<u32>().ok()?))
                })
                .is_some_and(|(major, minor)| major == 1 && (23..=39).contains(&minor)),
            None => false,
        }
    })
}

/// webob's `explanation` of each error class (`webob/exc.py`), which Placement's details
/// begin with. 405, 406 and 415 have none (their wording is in an HTML-only template).
fn webob_explanation(status: u16) -> &'static str {
    match status {
        400 => "The server could not comply with the request since it is either malformed or otherwise incorrect.",
        403 => "Access was denied to this resource.",
        404 => "The resource could not be found.",
        409 => "There was a conflict when trying to complete your request.",
        413 => "The body of your request was too large for this server.",
        500 => "The server has either erred or is incapable of performing the requested operation.",
        501 => "The server has not implemented the requested operation.",
        503 => "The server is currently unavailable. Please try again at a later time.",
        _ => "",
    }
}

/// Nova's and Cinder's fault keys (`nova/api/openstack/wsgi.py`, `Fault._fault_names`).
fn nova_fault_name(status: u16) -> &'static str {
    match status {
        400 => "badRequest",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "itemNotFound",
        405 => "badMethod",
        409 => "conflictingRequest",
        413 | 429 => "overLimit",
        415 => "badMediaType",
        501 => "notImplemented",
        503 => "serviceUnavailable",
        _ => "computeFault",
    }
}

/// The HTTP reason phrase, as the services' titles spell it.
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Request Entity Too Large",
        415 => "Unsupported Media Type",
        416 => "Requested Range Not Satisfiable",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nova_style_uses_the_status_key() {
        let body = Fault::not_found("Server abc could not be found.").body(FaultStyle::Nova);
        assert_eq!(
            body,
            serde_json::json!({"itemNotFound": {"code": 404, "message": "Server abc could not be found."}})
        );
    }

    #[test]
    fn nova_style_names_501_not_implemented() {
        let body = Fault::not_implemented("x").body(FaultStyle::Nova);
        assert_eq!(body["notImplemented"]["code"], 501);
    }

    #[test]
    fn keystone_style_has_title() {
        let body = Fault::unauthorized("The request you have made requires authentication.")
            .body(FaultStyle::Keystone);
        assert_eq!(body["error"]["title"], "Unauthorized");
        assert_eq!(body["error"]["code"], 401);
    }

    #[test]
    fn neutron_style_types_by_webob_class() {
        let body = Fault::not_found("gone").body(FaultStyle::Neutron);
        assert_eq!(body["NeutronError"]["type"], "HTTPNotFound");
        let body = Fault::not_found("gone")
            .kind("NetworkNotFound")
            .body(FaultStyle::Neutron);
        assert_eq!(body["NeutronError"]["type"], "NetworkNotFound");
    }

    #[test]
    fn ironic_style_nests_a_json_string() {
        let body = Fault::bad_request("bad").body(FaultStyle::Ironic);
        let inner: serde_json::Value =
            serde_json::from_str(body["error_message"].as_str().unwrap()).unwrap();
        assert_eq!(inner["faultcode"], "Client");
        assert_eq!(inner["faultstring"], "bad");
    }

    #[test]
    fn placement_style_is_the_api_sig_errors_list() {
        let body = Fault::not_found("No resource provider with uuid x found")
            .kind("placement.undefined_code")
            .body(FaultStyle::Placement);
        let e = &body["errors"][0];
        assert_eq!(e["status"], 404);
        assert_eq!(e["title"], "Not Found");
        assert_eq!(
            e["detail"],
            "The resource could not be found.\n\n No resource provider with uuid x found "
        );
        assert_eq!(e["code"], "placement.undefined_code");
        // Before 1.23 there is no code; a 401 is keystonemiddleware's.
        let body = Fault::bad_request("x").body(FaultStyle::Placement);
        assert!(body["errors"][0].get("code").is_none());
        let body = Fault::unauthorized("x").body(FaultStyle::Placement);
        assert_eq!(body["error"]["code"], 401);
    }

    #[test]
    fn placement_faults_carry_the_request_id() {
        let mut req = Request::new("GET", "/resource_providers/x");
        req.service = "placement".into();
        req.set_env(crate::env::REQUEST_ID, "req-abc");
        let mut resp = Response::default();
        Fault::conflict("stale").write_for(&req, &mut resp);
        let body: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
        assert_eq!(body["errors"][0]["request_id"], "req-abc");
        assert!(body["errors"][0].get("code").is_none(), "1.0 has no code");
        assert_eq!(resp.status, 409);
        req.headers
            .push(Pair::new("OpenStack-API-Version", "placement 1.23"));
        Fault::forbidden("no").write_for(&req, &mut resp);
        let body: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
        assert_eq!(body["errors"][0]["code"], "placement.undefined_code");
    }

    #[test]
    fn glance_style_is_webob_json() {
        let body = Fault::conflict("busy").body(FaultStyle::Glance);
        assert_eq!(body["code"], "409 Conflict");
        assert_eq!(body["title"], "Conflict");
    }

    #[test]
    fn write_to_replaces_a_stream_and_sets_content_type() {
        let mut resp = Response::default();
        resp.set_header("Content-Length", "12");
        Fault::forbidden("no").write_to("identity", &mut resp);
        assert_eq!(resp.status, 403);
        assert_eq!(resp.header("content-type"), Some("application/json"));
        assert_eq!(resp.header("content-length"), None);
    }

    #[test]
    fn glance_negotiates_as_webob() {
        use WebobMedia::*;
        for (accept, media) in [
            (None, Html),
            (Some("*/*"), Html),
            (Some("application/json"), Json),
            (Some("application/json, */*;q=0.5"), Json),
            (Some("text/html;q=0.4, application/json"), Json),
            (Some("text/*, application/json"), Html),
            (Some("application/octet-stream"), Plain),
            (Some("*/*;q=0"), Plain),
            (Some("garbage"), Html),
        ] {
            assert_eq!(webob_media_type(accept), media, "{accept:?}");
        }
    }

    #[test]
    fn glance_html_is_webobs_page() {
        let (ctype, page) = Fault::not_found("No image found with ID <x>").webob_text(true);
        assert_eq!(ctype, "text/html; charset=UTF-8");
        assert!(page.starts_with("<html>\n <head>\n  <title>404 Not Found</title>"));
        assert!(
            page.contains("<h1>404 Not Found</h1>\n  No image found with ID &lt;x&gt;<br /><br />")
        );
        let (_, page) =
            Fault::forbidden("Attribute 'os_glance_x' is reserved: \"é\" & ☃").webob_text(true);
        assert!(page.contains(
            "  Attribute &#x27;os_glance_x&#x27; is reserved: &quot;&#233;&quot; &amp; &#9731;<br /><br />"
        ));
        let (ctype, text) = Fault::not_found("gone").webob_text(false);
        assert_eq!(ctype, "text/plain; charset=UTF-8");
        assert_eq!(text, "404 Not Found\n\ngone\n\n   ");
    }
}
