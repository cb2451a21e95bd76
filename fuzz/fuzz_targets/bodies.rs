//! Request bodies of every service, through the local driver's real handlers: the input
//! is a written request (see cloud.rs), a method, a path under identity, compute, image,
//! volume, network or placement, headers and a JSON body; the seeds are real requests of each.
//! No panic, no 500, whatever the body holds.
#![no_main]

use jumpgate_fuzz::Cloud;
use libfuzzer_sys::fuzz_target;

/// Actions that copy a whole volume (a GiB, hashed): seconds each, for no parser of their
/// own. Their arguments are checked by the same helpers other actions use.
const COPIES_A_DISK: &[&[u8]] = &[b"upload_image"];

fuzz_target!(|data: &[u8]| {
    // Bodies are sent with these; a DELETE would only take the fixtures away.
    let with_body = [&b"POST "[..], b"PUT ", b"PATCH "]
        .iter()
        .any(|m| data.starts_with(m));
    let copies = COPIES_A_DISK
        .iter()
        .any(|k| data.windows(k.len()).any(|w| w == *k));
    if with_body && !copies {
        Cloud::global().run(data);
    }
});
