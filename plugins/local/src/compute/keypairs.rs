//! Keypairs (`os-keypairs`): a user's SSH public keys (or X.509 certificates from 2.2),
//! imported or generated, fingerprinted exactly as Nova does.

use std::sync::Arc;

use jumpgate_plugin_api::prelude::*;
use md5::{Digest, Md5};
use serde_json::{json, Map, Value};
use sha1::Sha1;

use super::repo::KeypairRepo;
use super::servers::routes::invalid as field_error;
use super::{body, param, quotas, reply, reply_empty, Call, Compute, Result, Urls};

type Svc = Arc<Compute>;

endpoint!(Svc; Keypairs { on_get => list, on_post => create });
endpoint!(Svc; KeypairItem { on_get => show, on_delete => delete });

pub fn setup(disp: &Dispatcher, svc: Svc) -> std::result::Result<(), Error> {
    routes! {
        disp, svc;
        "v2_os_keypairs" => Keypairs,
        "v2_os_keypair" => KeypairItem,
    }
    Ok(())
}

/// Nova's `osapi_max_limit`.
const MAX_LIMIT: usize = 1000;

/// A keypair as stored; `id` is the row's number, as Nova's integer id.
#[derive(Debug, Clone)]
pub struct Keypair {
    pub id: i64,
    pub user_id: String,
    pub name: String,
    pub kind: String,
    pub public_key: String,
    pub fingerprint: String,
    pub created_ms: i64,
}

/// A user's keypair by name, for server create's `key_name`.
pub fn find(c: &dyn KeypairRepo, user_id: &str, name: &str) -> Result<Option<Keypair>> {
    Ok(c.keypair(user_id, name)?)
}

fn not_found(name: &str, user_id: &str) -> Fault {
    Fault::not_found(format!("Keypair {name} not found for user {user_id}"))
}

fn invalid(reason: impl std::fmt::Display) -> Fault {
    Fault::bad_request(format!("Keypair data is invalid: {reason}"))
}

// ---------------------------------------------------------------- fingerprints

fn colon_hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Nova's SSH fingerprint: MD5 of the key blob (the Base64 field), colon-separated hex;
/// a key that does not parse as an OpenSSH public key is refused.
pub fn ssh_fingerprint(public_key: &str) -> std::result::Result<String, Fault> {
    let refuse = || invalid("failed to generate fingerprint");
    let key = ssh_key::PublicKey::from_openssh(public_key.trim()).map_err(|_| refuse())?;
    if matches!(key.algorithm(), ssh_key::Algorithm::Other(_)) {
        return Err(refuse());
    }
    let field = public_key.trim().split(' ').nth(1).ok_or_else(refuse)?;
    let blob = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, field.trim())
        .map_err(|_| refuse())?;
    Ok(colon_hex(&Md5::digest(&blob)))
}

/// Nova's X.509 fingerprint: SHA-1 of the DER certificate, colon-separated hex.
pub fn x509_fingerprint(pem: &str) -> std::result::Result<String, Fault> {
    let der = certificate_der(pem).map_err(|e| {
        invalid(format!(
            "failed to generate X509 fingerprint. Error message: {e}"
        ))
    })?;
    Ok(colon_hex(&Sha1::digest(&der)))
}

/// The DER of a PEM certificate, checked to have a certificate's outer shape
/// (tbsCertificate, signatureAlgorithm, signatureValue).
fn certificate_der(pem: &str) -> std::result::Result<Vec<u8>, String> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let start = pem
        .find(BEGIN)
        .ok_or("Unable to load PEM file. No certificate block found.")?
        + BEGIN.len();
    let len = pem[start..]
        .find(END)
        .ok_or("Unable to load PEM file. The certificate block is not terminated.")?;
    let text: String = pem[start..start + len]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let der = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, text)
        .map_err(|e| format!("Unable to load PEM file: {e}"))?;
    let bad = || "error parsing asn1 value: the certificate is malformed".to_string();
    let (tag, content, rest) = der::read(&der).ok_or_else(bad)?;
    if tag != 0x30 || !rest.is_empty() {
        return Err(bad());
    }
    let (tbs, _, rest) = der::read(content).ok_or_else(bad)?;
    let (alg, _, rest) = der::read(rest).ok_or_else(bad)?;
    let (sig, _, rest) = der::read(rest).ok_or_else(bad)?;
    if tbs != 0x30 || alg != 0x30 || sig != 0x03 || !rest.is_empty() {
        return Err(bad());
    }
    Ok(der)
}

/// The little DER this module reads and writes.
mod der {
    /// The first element of `b`: its tag, its content, and what follows it.
    pub fn read(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
        let (&tag, b) = b.split_first()?;
        let (&first, mut b) = b.split_first()?;
        let len = if first < 0x80 {
            first as usize
        } else {
            let n = (first & 0x7f) as usize;
            if n == 0 || n > 4 || b.len() < n {
                return None;
            }
            let len = b[..n]
                .iter()
                .fold(0usize, |acc, &x| (acc << 8) | x as usize);
            b = &b[n..];
            len
        };
        (b.len() >= len).then(|| (tag, &b[..len], &b[len..]))
    }

    pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let len = content.len();
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let bytes: Vec<u8> = len
                .to_be_bytes()
                .into_iter()
                .skip_while(|&b| b == 0)
                .collect();
            out.push(0x80 | bytes.len() as u8);
            out.extend(bytes);
        }
        out.extend_from_slice(content);
        out
    }

    pub fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
        tlv(0x30, &parts.concat())
    }
}

// ---------------------------------------------------------------- generation

/// What a generated keypair gives: the public half to store, the private half to return
/// once.
struct Generated {
    public_key: String,
    private_key: String,
    fingerprint: String,
}

fn random_seed() -> std::result::Result<[u8; 32], Fault> {
    let mut seed = [0u8; 32];
    getrandom::getrandom(&mut seed)
        .map_err(|e| Fault::internal(format!("no randomness for a key: {e}")))?;
    Ok(seed)
}

/// An Ed25519 key: the public half in OpenSSH form with Nova's comment, the private half
/// as an OpenSSH private key file.
fn generate_ssh() -> std::result::Result<Generated, Fault> {
    let signing = ed25519_dalek::SigningKey::from_bytes(&random_seed()?);
    let keypair = ssh_key::private::Ed25519Keypair::from(signing);
    let private = ssh_key::PrivateKey::new(keypair.into(), "Generated-by-Nova")
        .map_err(|e| Fault::internal(format!("key generation: {e}")))?;
    let private_key = private
        .to_openssh(ssh_key::LineEnding::LF)
        .map_err(|e| Fault::internal(format!("key generation: {e}")))?
        .to_string();
    let public_key = private
        .public_key()
        .to_openssh()
        .map_err(|e| Fault::internal(format!("key generation: {e}")))?;
    let fingerprint = ssh_fingerprint(&public_key)?;
    Ok(Generated {
        public_key,
        private_key,
        fingerprint,
    })
}

const ED25519_OID: [u8; 5] = [0x06, 0x03, 0x2b, 0x65, 0x70];

fn der_time(unix_s: i64) -> Vec<u8> {
    let t = time::OffsetDateTime::from_unix_timestamp(unix_s)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    // RFC 5280: UTCTime through 2049, GeneralizedTime after.
    let (tag, year) = if t.year() < 2050 {
        (0x17, format!("{:02}", t.year() % 100))
    } else {
        (0x18, format!("{:04}", t.year()))
    };
    let text = format!(
        "{year}{:02}{:02}{:02}{:02}{:02}Z",
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    der::tlv(tag, text.as_bytes())
}

/// A self-signed client certificate for `user_id` (CN=user_id, UPN user_id@localhost,
/// clientAuth, ten years) as Nova's WinRM certificates, but with an Ed25519 key: the
/// private key is returned as PKCS#8 PEM rather than Nova's base64 PKCS#12 of an RSA key.
fn generate_x509(user_id: &str) -> std::result::Result<Generated, Fault> {
    use base64::Engine;
    use ed25519_dalek::Signer;

    let seed = random_seed()?;
    let signing = ed25519_dalek::SigningKey::from_bytes(&seed);
    let mut serial = random_seed()?[..16].to_vec();
    serial[0] = (serial[0] & 0x7f) | 0x01;
    let algorithm = der::seq(&[ED25519_OID.to_vec()]);
    let name = der::seq(&[der::tlv(
        0x31,
        &der::seq(&[
            vec![0x06, 0x03, 0x55, 0x04, 0x03],
            der::tlv(0x0c, user_id.as_bytes()),
        ]),
    )]);
    let now = crate::time::now_ms() / 1000;
    let validity = der::seq(&[der_time(now), der_time(now + 3650 * 86400)]);
    let spki = der::seq(&[
        algorithm.clone(),
        der::tlv(
            0x03,
            &[&[0u8][..], signing.verifying_key().as_bytes()].concat(),
        ),
    ]);
    let client_auth = der::seq(&[
        vec![0x06, 0x03, 0x55, 0x1d, 0x25],
        der::tlv(
            0x04,
            &der::seq(&[vec![
                0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02,
            ]]),
        ),
    ]);
    let upn = format!("{user_id}@localhost");
    let other_name = der::tlv(
        0xa0,
        &[
            vec![
                0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x14, 0x02, 0x03,
            ],
            der::tlv(0xa0, &der::tlv(0x0c, upn.as_bytes())),
        ]
        .concat(),
    );
    let alt_name = der::seq(&[
        vec![0x06, 0x03, 0x55, 0x1d, 0x11],
        der::tlv(0x04, &der::seq(&[other_name])),
    ]);
    let tbs = der::seq(&[
        vec![0xa0, 0x03, 0x02, 0x01, 0x02],
        der::tlv(0x02, &serial),
        algorithm.clone(),
        name.clone(),
        validity,
        name,
        spki,
        der::tlv(0xa3, &der::seq(&[client_auth, alt_name])),
    ]);
    let signature = signing.sign(&tbs).to_bytes();
    let cert = der::seq(&[
        tbs,
        algorithm,
        der::tlv(0x03, &[&[0u8][..], &signature[..]].concat()),
    ]);
    let pkcs8 = [
        &[
            0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20,
        ][..],
        &seed[..],
    ]
    .concat();
    let pem = |label: &str, der: &[u8]| {
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap_or_default())
            .collect();
        format!(
            "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
            lines.join("\n")
        )
    };
    Ok(Generated {
        fingerprint: colon_hex(&Sha1::digest(&cert)),
        public_key: pem("CERTIFICATE", &cert),
        private_key: pem("PRIVATE KEY", &pkcs8),
    })
}

// ---------------------------------------------------------------- views

fn list_view(call: &Call, k: &Keypair) -> Value {
    let mut v = json!({
        "name": k.name,
        "public_key": k.public_key,
        "fingerprint": k.fingerprint,
    });
    if call.version.at_least(2) {
        v["type"] = json!(k.kind);
    }
    json!({ "keypair": v })
}

fn show_view(call: &Call, k: &Keypair) -> Value {
    let mut v = json!({
        "name": k.name,
        "public_key": k.public_key,
        "fingerprint": k.fingerprint,
        "user_id": k.user_id,
        "id": k.id,
        "created_at": crate::time::iso_micros(k.created_ms).trim_end_matches('Z'),
        "updated_at": null,
        "deleted": false,
        "deleted_at": null,
    });
    if call.version.at_least(2) {
        v["type"] = json!(k.kind);
    }
    json!({ "keypair": v })
}

// ---------------------------------------------------------------- handlers

/// Whose keypairs a request is about: the caller's, or from 2.10 an admin's `user_id`.
fn target_user(call: &Call, named: Option<&str>, rule: &str) -> std::result::Result<String, Fault> {
    let own = &call.caller.user_id;
    match named {
        Some(u) if call.version.at_least(10) && u != own => {
            call.admin(rule)?;
            Ok(u.to_string())
        }
        _ => Ok(own.clone()),
    }
}

fn list(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let rule = "os_compute_api:os-keypairs:index";
    let user_id = target_user(&call, req.query_param("user_id"), rule)?;
    let paged = call.version.at_least(35);
    let (limit, marker) = if paged {
        (
            limit_param(req.query_param("limit"))?,
            req.query_param("marker").map(str::to_string),
        )
    } else {
        (MAX_LIMIT, None)
    };
    let keypairs = svc.read(|c| {
        let after = match &marker {
            Some(m) => {
                find(c, &user_id, m)?
                    .ok_or_else(|| Fault::bad_request(format!("Marker {m} could not be found.")))?
                    .id
            }
            None => 0,
        };
        Ok(c.keypairs(&user_id, after, limit)?)
    })?;
    let mut out = json!({
        "keypairs": keypairs.iter().map(|k| list_view(&call, k)).collect::<Vec<_>>(),
    });
    if paged && limit > 0 && keypairs.len() == limit {
        if let Some(last) = keypairs.last() {
            out["keypairs_links"] = Urls::of(svc, req)?.next(req, "os-keypairs", &last.name);
        }
    }
    reply(resp, &call, 200, &out)
}

/// Nova's `limit`: a non-negative integer, 0 or above the maximum meaning the maximum.
fn limit_param(raw: Option<&str>) -> std::result::Result<usize, Fault> {
    match raw {
        None => Ok(MAX_LIMIT),
        Some(raw) => {
            let n: usize = raw.parse().map_err(|_| {
                Fault::bad_request(format!(
                    "Invalid input for query parameters limit. Value: {raw}. '{raw}' does not match '^[0-9]*$'"
                ))
            })?;
            Ok(if n == 0 { MAX_LIMIT } else { n.min(MAX_LIMIT) })
        }
    }
}

fn show(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    let user_id = target_user(
        &call,
        req.query_param("user_id"),
        "os_compute_api:os-keypairs:show",
    )?;
    let name = param(req, "keypair_name")?.to_string();
    let k =
        svc.read(|c| Ok(find(c, &user_id, &name)?.ok_or_else(|| not_found(&name, &user_id))?))?;
    reply(resp, &call, 200, &show_view(&call, &k))
}

fn delete(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    // Nova's rule is `admin or user_id:%(user_id)s`: any role manages its own key pairs.
    let rule = "os_compute_api:os-keypairs:delete";
    let user_id = target_user(&call, req.query_param("user_id"), rule)?;
    let name = param(req, "keypair_name")?.to_string();
    svc.write(|c| {
        if !c.delete_keypair(&user_id, &name)? {
            return Err(not_found(&name, &user_id).into());
        }
        Ok(())
    })?;
    reply_empty(
        resp,
        &call,
        if call.version.at_least(2) { 204 } else { 202 },
    )
}

/// Nova's keypair name: 1–255 characters, no leading or trailing whitespace, only
/// letters, digits, space, `_` and `-` (and from 2.92 `@` and `.`).
fn check_name(call: &Call, v: &Value) -> std::result::Result<String, Fault> {
    let Some(name) = v.as_str() else {
        return Err(field_error(
            "name",
            v,
            &format!("{v} is not of type 'string'"),
        ));
    };
    let chars = name.chars().count();
    if chars == 0 {
        return Err(field_error("name", v, "'' is too short"));
    }
    if chars > 255 {
        return Err(field_error("name", v, &format!("'{name}' is too long")));
    }
    if name.trim() != name {
        return Err(field_error(
            "name",
            v,
            "An invalid 'name' value was provided. The name must be: printable characters with no leading or trailing whitespace.",
        ));
    }
    let special: &[char] = if call.version.at_least(92) {
        &['_', '-', ' ', '@', '.']
    } else {
        &['_', '-', ' ']
    };
    if !name
        .chars()
        .all(|ch| ch.is_ascii_alphanumeric() || special.contains(&ch))
    {
        return Err(field_error(
            "name",
            v,
            &format!(
                "An invalid 'name' value was provided. The name must be: letters, digits, spaces and {}.",
                special[..special.len() - 1]
                    .iter()
                    .map(|c| format!("'{c}'"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    Ok(name.to_string())
}

fn create(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let call = Call::of(req)?;
    // `admin or user_id:%(user_id)s`, as delete: a reader makes its own key pairs too.
    let rule = "os_compute_api:os-keypairs:create";
    let body = body(req)?;
    let Some(Value::Object(kp)) = body.get("keypair") else {
        return Err(Fault::bad_request(
            "Invalid input for field/attribute keypair. Value: None. 'keypair' is a required property",
        )
        );
    };
    if let Some(extra) = body
        .as_object()
        .and_then(|o| o.keys().find(|k| *k != "keypair"))
    {
        return Err(Fault::bad_request(format!(
            "Additional properties are not allowed ('{extra}' was unexpected)"
        )));
    }
    let mut allowed = vec!["name", "public_key"];
    if call.version.at_least(2) {
        allowed.push("type");
    }
    if call.version.at_least(10) {
        allowed.push("user_id");
    }
    if let Some(extra) = kp.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(Fault::bad_request(format!(
            "Additional properties are not allowed ('{extra}' was unexpected)"
        )));
    }
    let name = match kp.get("name") {
        Some(v) => check_name(&call, v)?,
        None => return Err(Fault::bad_request(
            "Invalid input for field/attribute keypair. Value: {}. 'name' is a required property",
        )),
    };
    let kind = match kp.get("type") {
        None => "ssh".to_string(),
        Some(Value::String(t)) if t == "ssh" || t == "x509" => t.clone(),
        Some(v) => {
            return Err(field_error(
                "type",
                v,
                &format!("{v} is not one of ['ssh', 'x509']"),
            ))
        }
    };
    let public_key = match kp.get("public_key") {
        None if call.version.at_least(92) => {
            return Err(Fault::bad_request(format!(
                "Invalid input for field/attribute keypair. Value: {}. 'public_key' is a required property",
                Value::Object(kp.clone())
            ))
            )
        }
        None => None,
        Some(Value::String(p)) => Some(p.clone()),
        Some(v) => return Err(field_error("public_key", v, &format!("{v} is not of type 'string'"))),
    };
    let user_id = match kp.get("user_id") {
        None => call.caller.user_id.clone(),
        Some(Value::String(u)) => target_user(&call, Some(u), rule)?,
        Some(v) => {
            return Err(field_error(
                "user_id",
                v,
                &format!("{v} is not of type 'string'"),
            ))
        }
    };

    let (public_key, fingerprint, private_key) = match public_key {
        Some(p) => {
            let fp = if kind == "x509" {
                x509_fingerprint(&p)?
            } else {
                ssh_fingerprint(&p)?
            };
            (p, fp, None)
        }
        None => {
            let g = if kind == "x509" {
                generate_x509(&user_id)?
            } else {
                generate_ssh()?
            };
            (g.public_key, g.fingerprint, Some(g.private_key))
        }
    };
    let project_id = call.project_id.clone();
    svc.write(|c| {
        quotas::enforce(c, &project_id, &user_id, &[("key_pairs", 1)])?;
        if find(c, &user_id, &name)?.is_some() {
            return Err(Fault::conflict(format!("Key pair '{name}' already exists.")).into());
        }
        c.insert_keypair(&Keypair {
            id: 0,
            user_id: user_id.clone(),
            name: name.clone(),
            kind: kind.clone(),
            public_key: public_key.clone(),
            fingerprint: fingerprint.clone(),
            created_ms: crate::time::now_ms(),
        })?;
        Ok(())
    })?;

    let mut out = Map::new();
    out.insert("name".into(), json!(name));
    out.insert("public_key".into(), json!(public_key));
    out.insert("fingerprint".into(), json!(fingerprint));
    out.insert("user_id".into(), json!(user_id));
    if let Some(p) = private_key {
        out.insert("private_key".into(), json!(p));
    }
    if call.version.at_least(2) {
        out.insert("type".into(), json!(kind));
    }
    let status = if call.version.at_least(2) { 201 } else { 200 };
    reply(resp, &call, status, &json!({ "keypair": out }))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Made with `ssh-keygen`; `ssh-keygen -l -E md5 -f` gives the expected fingerprints.
    const RSA: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDA9i4WrVqiJ8n77q8vo4QLRME8p3eLrMjMCRKsaC9cgu9Dhx/pPOuXJMoXtd0wQWXCMjtcnYWfHb0vE9/vBFwUROPisPreqwVuLbrC0lBB+7OyWZTnygjW5mYCSccAoq0LW7sjz73ir1sY3mVGKSlgDlStITVIBaO1M+8vZXEylw== nova@test";
    const RSA_MD5: &str = "ec:9d:0f:b2:21:56:80:51:86:af:92:06:57:9e:0c:16";
    const ED25519: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEk102KnjAXXyKbJL9r1UJanolWtPatCgxv4Lz2Tx9jc foo@bar.com";
    const ED25519_MD5: &str = "2d:ec:f1:df:9f:fe:e7:0b:0c:0b:60:1f:12:9b:3a:e6";
    // Made with `openssl req -x509`; `openssl x509 -noout -fingerprint -sha1` gives the
    // expected fingerprint.
    const CERT: &str = "-----BEGIN CERTIFICATE-----
MIIBNjCB6aADAgECAhQ/EU9tGvz3QjJE5vYvQpqeMnWB1zAFBgMrZXAwETEPMA0G
A1UEAwwGdGVzdGVyMB4XDTI2MTEyMzA1NDAwNloXDTM2MTEyMDA1NDAwNlowETEP
MA0GA1UEAwwGdGVzdGVyMCowBQYDK2VwAyEAQCul3EjssnpLvyRnldbB/7iFAkYs
lkntmll/50eMQGqjUzBRMB0GA1UdDgQWBBRJ2uhmExnSmp9eTEJu0tQY+KPf5jAf
BgNVHSMEGDAWgBRJ2uhmExnSmp9eTEJu0tQY+KPf5jAPBgNVHRMBAf8EBTADAQH/
MAUGAytlcANBALwKG3h23/hiT7rPQlnneOvTlfIgS1WGDdVS3wqs6H/Di+Yw4F7g
4JV4GRNKIzV6Uc7/UVu2b+0Y+Q8jdsKcRAo=
-----END CERTIFICATE-----
";
    const CERT_SHA1: &str = "b6:be:7a:b1:ec:0b:17:c1:8c:7d:f3:0f:ca:15:a0:7d:b3:a9:cb:1a";

    #[test]
    fn ssh_fingerprints_are_nova_s() {
        assert_eq!(ssh_fingerprint(RSA).unwrap(), RSA_MD5);
        assert_eq!(ssh_fingerprint(ED25519).unwrap(), ED25519_MD5);
        assert_eq!(x509_fingerprint(CERT).unwrap(), CERT_SHA1);
    }

    #[test]
    fn refuses_what_is_not_a_key() {
        for junk in [
            "ssh-rsa JUNK nova@ubuntu",
            " ",
            "",
            &format!("ssh-rsa {} openstack@ubuntu", "A".repeat(2048)),
            // The blob names another algorithm than the text.
            "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAILM+rvN+ot98qgEN796jTiQfZfG1KaT0PtFDJ/XFSqti x",
        ] {
            let f = ssh_fingerprint(junk).unwrap_err();
            assert_eq!(f.status, 400, "{junk}");
            assert_eq!(
                f.message,
                "Keypair data is invalid: failed to generate fingerprint"
            );
        }
        assert_eq!(x509_fingerprint(RSA).unwrap_err().status, 400);
    }

    #[test]
    fn generated_keys_are_valid_and_fingerprinted() {
        let g = generate_ssh().unwrap();
        assert!(g.public_key.starts_with("ssh-ed25519 "));
        assert!(g.public_key.ends_with(" Generated-by-Nova"));
        assert!(g
            .private_key
            .starts_with("-----BEGIN OPENSSH PRIVATE KEY-----"));
        assert_eq!(ssh_fingerprint(&g.public_key).unwrap(), g.fingerprint);
        assert_eq!(g.fingerprint.len(), 47);

        let x = generate_x509("u1").unwrap();
        assert!(x.public_key.starts_with("-----BEGIN CERTIFICATE-----\n"));
        assert!(x.private_key.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        assert_eq!(x509_fingerprint(&x.public_key).unwrap(), x.fingerprint);
        assert_eq!(x.fingerprint.len(), 59);
    }
}
