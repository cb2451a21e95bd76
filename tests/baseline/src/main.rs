//! `jumpgate-baseline ADDR FILE`: answers every request with FILE's bytes as JSON, the way
//! the peers' hyper anchor does: what the machine can do with no gateway in the way.

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(addr), Some(file)) = (args.next(), args.next()) else {
        eprintln!("usage: jumpgate-baseline ADDR FILE");
        std::process::exit(2);
    };
    let body = Bytes::from(std::fs::read(&file).unwrap_or_else(|e| {
        eprintln!("jumpgate-baseline: {file}: {e}");
        std::process::exit(1);
    }));
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .unwrap_or_else(|e| {
            eprintln!("jumpgate-baseline: cannot listen on {addr}: {e}");
            std::process::exit(1);
        });
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let body = body.clone();
        tokio::spawn(async move {
            let service = service_fn(move |_req| {
                let body = body.clone();
                async move {
                    let mut resp = hyper::Response::new(Full::new(body));
                    resp.headers_mut().insert(
                        hyper::header::CONTENT_TYPE,
                        hyper::header::HeaderValue::from_static("application/json"),
                    );
                    Ok::<_, Infallible>(resp)
                }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
