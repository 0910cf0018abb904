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
        // Superusers also get a few facts about the server.
        Case::get("superuser", "/api/health").superuser().expect(
            200,
            json!({"code": 200, "message": "API is healthy.",
                   "data": {"canBackup": true, "realIP": "127.0.0.1", "possibleProxyHeader": ""}}),
        ),
    ])
    .await;
}

#[tokio::test]
async fn dashboard_is_served() {
    let app = TestApp::spawn().await;
    let resp = reqwest::get(app.url("/_/")).await.expect("GET /_/");
    assert_eq!(resp.status().as_u16(), 200);
}
