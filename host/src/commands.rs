//! The `endpoints` and `check-config` commands: what an operator asks of a configuration
//! without serving it.

use std::fmt::Write;

use crate::gateway::Gateway;

/// The compatibility table of a live configuration: every endpoint of every service, the
/// methods its handler answers and the driver serving it (`-`: 501 Not Implemented).
pub fn endpoints(gw: &Gateway, service: Option<&str>, unused_only: bool, markdown: bool) -> String {
    let mut rows: Vec<[String; 5]> = Vec::new();
    for svc in gw
        .services
        .iter()
        .filter(|s| service.is_none_or(|n| s.name() == n))
    {
        for (endpoint, handler) in svc.table.endpoints.iter().zip(&svc.handlers) {
            if unused_only && (handler.is_some() || svc.catch_all.is_some()) {
                continue;
            }
            // An endpoint without a handler of its own is still answered by a catch-all.
            let (methods, driver) = match handler.as_ref().or(svc.catch_all.as_ref()) {
                Some(h) => (h.methods.join(","), h.driver.name.clone()),
                None => ("-".to_string(), "-".to_string()),
            };
            let mut path = format!("{}{}", svc.table.mount, endpoint.paths[0]);
            if path.len() > 1 && path.ends_with('/') {
                path.pop();
            }
            rows.push([
                svc.name().to_string(),
                endpoint.name.to_string(),
                methods,
                driver,
                path,
            ]);
        }
    }
    if markdown {
        return markdown_tables(&rows);
    }
    let header = ["SERVICE", "NICKNAME", "METHODS", "DRIVER", "PATH"].map(String::from);
    let mut widths = [0usize; 5];
    for row in std::iter::once(&header).chain(&rows) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        let _ = writeln!(out, "{}", line.join("  ").trim_end());
    }
    out
}

/// One table per service, in the seed guide's columns.
fn markdown_tables(rows: &[[String; 5]]) -> String {
    let mut out = String::new();
    let mut current = "";
    for [service, nickname, methods, driver, path] in rows {
        if service != current {
            current = service;
            let _ = write!(
                out,
                "\n## {service}\n\n| Nickname | Path | Methods | Driver |\n|---|---|---|---|\n"
            );
        }
        let available = if driver == "-" {
            "501 Not Implemented".to_string()
        } else {
            methods.clone()
        };
        let _ = writeln!(out, "| `{nickname}` | `{path}` | {available} | {driver} |");
    }
    out
}
