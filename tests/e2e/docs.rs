//! The documentation tells the truth: code the developer guide shows is the example
//! driver's code, byte for byte, and the compatibility tables are what the host reports.

use jumpgate_e2e::{root, run_command, workspace_driver};

/// Fenced blocks opened as ```` ```rust file=plugins/example/src/lib.rs ````.
fn file_blocks(markdown: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut lines = markdown.lines();
    while let Some(line) = lines.next() {
        let Some(path) = line.strip_prefix("```").and_then(|info| {
            info.split_whitespace()
                .find_map(|w| w.strip_prefix("file="))
        }) else {
            continue;
        };
        let mut body = String::new();
        for l in lines.by_ref() {
            if l == "```" {
                break;
            }
            body.push_str(l);
            body.push('\n');
        }
        out.push((path.to_string(), body));
    }
    out
}

#[test]
fn the_developer_guide_shows_the_example_drivers_code() {
    let guide = std::fs::read_to_string(root().join("docs/developer-guide.md")).unwrap();
    let blocks = file_blocks(&guide);
    let shown: Vec<&str> = blocks.iter().map(|(p, _)| p.as_str()).collect();
    for file in [
        "plugins/example/Cargo.toml",
        "plugins/example/src/lib.rs",
        "plugins/example/src/index.rs",
        "plugins/example/src/tokens.rs",
    ] {
        assert!(shown.contains(&file), "the guide does not show {file}");
    }
    for (path, body) in blocks {
        let actual =
            std::fs::read_to_string(root().join(&path)).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert!(
            body == actual,
            "docs/developer-guide.md shows {path} differently from the file: update the guide (scripts/docs)"
        );
    }
}

#[test]
fn the_compatibility_tables_are_what_the_default_config_serves() {
    let conf = std::fs::read_to_string(root().join("jumpgate.conf")).unwrap();
    // The shipped config, minus the lines the harness sets itself.
    let body: String = conf
        .lines()
        .filter(|l| !l.starts_with("listen") && !l.starts_with("plugin_dir") && *l != "[DEFAULT]")
        .map(|l| format!("{l}\n"))
        .collect();
    let mut drivers: Vec<String> = conf
        .lines()
        .filter_map(|l| {
            l.split_once('=')
                .filter(|(k, _)| k.trim() == "driver")
                .map(|(_, v)| v.trim().to_string())
        })
        .collect();
    drivers.dedup();
    let paths: Vec<_> = drivers.iter().map(|d| workspace_driver(d)).collect();
    let installed: Vec<(&str, &std::path::Path)> = drivers
        .iter()
        .map(String::as_str)
        .zip(paths.iter().map(|p| p.as_path()))
        .collect();
    let (code, out, err) = run_command(&["endpoints", "--markdown"], &body, &installed);
    assert_eq!(code, 0, "{err}");
    let doc = std::fs::read_to_string(root().join("docs/compatibility.md")).unwrap();
    let generated = doc
        .split_once("<!-- generated -->")
        .map(|(_, t)| t)
        .unwrap_or("");
    assert!(
        generated.trim() == out.trim(),
        "docs/compatibility.md is stale: run scripts/docs"
    );
}
