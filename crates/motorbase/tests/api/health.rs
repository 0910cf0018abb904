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
