use reqwest::Method;
use serde_json::json;

use crate::common::{Case, TestApp};

#[tokio::test]
async fn health_answers_everyone() {
    let app = TestApp::spawn().await;
    app.run(&[
        Case::get("guest", "/api/health").expect(
            200,
            json!({"code": 200, "message": "API is healthy.", "data": {}}),
        ),
        // Superusers also get a few facts about the server. PocketBase says canBackup: true;
        // Motorbase has no backups yet, so it truthfully says false.
        Case::get("superuser", "/api/health").superuser().expect(
            200,
            json!({"code": 200, "message": "API is healthy.",
                   "data": {"canBackup": false, "realIP": "127.0.0.1", "possibleProxyHeader": ""}}),
        ),
    ])
    .await;
}

/// (case, method, path, request headers, status, (response header, a value it must list)).
type CorsCase<'a> = (
    &'a str,
    Method,
    &'a str,
    Vec<(&'a str, &'a str)>,
    u16,
    &'a [(&'a str, &'a str)],
);

/// What PocketBase sends with every answer but a preflight.
const SECURITY: [(&str, &str); 4] = [
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "sameorigin"),
    ("x-xss-protection", "1; mode=block"),
    ("cross-origin-opener-policy", "same-origin"),
];

/// Browser apps call the API from another origin: every answer to one carries the origin
/// header, and the preflight a browser sends before a write with a token allows that method
/// and header (a wildcard would not cover `Authorization`). Every answer also carries
/// PocketBase's security headers, errors included.
#[tokio::test]
async fn cross_origin_requests_are_allowed() {
    let app = TestApp::spawn().await;
    let client = reqwest::Client::new();
    let origin = ("Origin", "http://app.example");
    let read = [
        &[("access-control-allow-origin", "*"), ("vary", "origin")][..],
        &SECURITY[..],
    ]
    .concat();
    let cases: &[CorsCase] = &[
        (
            "simple read",
            Method::GET,
            "/api/health",
            vec![origin],
            200,
            &read,
        ),
        (
            "an error",
            Method::GET,
            "/api/collections/nosuch/records",
            vec![origin],
            404,
            &read,
        ),
        (
            "same-origin read",
            Method::GET,
            "/api/health",
            vec![],
            200,
            &[&[("vary", "origin")][..], &SECURITY[..]].concat(),
        ),
        (
            "preflight of an update with a token",
            Method::OPTIONS,
            "/api/collections/users/records/abc",
            vec![
                origin,
                ("Access-Control-Request-Method", "PATCH"),
                (
                    "Access-Control-Request-Headers",
                    "content-type,authorization",
                ),
            ],
            204,
            &[
                ("access-control-allow-origin", "*"),
                ("access-control-allow-methods", "patch"),
                ("access-control-allow-headers", "authorization"),
                ("access-control-allow-headers", "content-type"),
                ("vary", "access-control-request-headers"),
            ],
        ),
        (
            "preflight of a delete on a path no route serves",
            Method::OPTIONS,
            "/api/nothing-here",
            vec![origin, ("Access-Control-Request-Method", "DELETE")],
            204,
            &[
                ("access-control-allow-origin", "*"),
                ("access-control-allow-methods", "delete"),
            ],
        ),
    ];
    for (name, method, path, headers, status, expected) in cases {
        let mut req = client.request(method.clone(), app.url(path));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.expect("request");
        assert_eq!(resp.status().as_u16(), *status, "{name}");
        if !headers.iter().any(|(k, _)| *k == "Origin") {
            assert!(
                !resp.headers().contains_key("access-control-allow-origin"),
                "{name}: no origin, no CORS answer"
            );
        }
        for (header, part) in *expected {
            let values: Vec<String> = resp
                .headers()
                .get_all(*header)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .map(str::to_lowercase)
                .collect();
            assert!(
                values
                    .iter()
                    .flat_map(|v| v.split(','))
                    .any(|v| v.trim() == *part),
                "{name}: {header} should list {part}, got {values:?}"
            );
        }
    }
}
