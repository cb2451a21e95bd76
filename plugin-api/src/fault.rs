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
}

impl FaultStyle {
    /// The style of a service, by its name in jumpgate.conf.
    pub fn of(service: &str) -> FaultStyle {
        match service {
            "identity" => FaultStyle::Keystone,
            "image" => FaultStyle::Glance,
            "network" => FaultStyle::Neutron,
            "baremetal" => FaultStyle::Ironic,
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
        }
    }

    /// Makes `resp` this fault, answering `req` as its service would: in the service's
    /// style and, for Glance, in the media type webob negotiates from `Accept` (HTML for
    /// `*/*` or no `Accept`, as python-glanceclient relies on; JSON when JSON is preferred).
    pub fn write_for(&self, req: &Request, resp: &mut Response) {
        let style = FaultStyle::of(&req.service);
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
