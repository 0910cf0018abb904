//! File fields: uploads, stored names, checks, downloads, thumbnails, protected files, S3.

use std::path::Path;

use reqwest::multipart::{Form, Part};
use reqwest::Method;
use serde_json::{json, Value};

use crate::common::{assert_fragment, Case, TestApp};

/// Read off PocketBase 0.40.6: what every served file carries.
const SANDBOX: &str = "default-src 'none'; media-src 'self'; style-src 'unsafe-inline'; sandbox";

/// A form part: a text field or a file.
enum P {
    Text(&'static str, String),
    File(&'static str, &'static str, Vec<u8>),
}

fn form(parts: Vec<P>) -> Form {
    parts.into_iter().fold(Form::new(), |f, p| match p {
        P::Text(k, v) => f.text(k, v),
        P::File(k, name, bytes) => f.part(k, Part::bytes(bytes).file_name(name)),
    })
}

async fn send_form(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    parts: Vec<P>,
) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .request(method, app.url(path))
        .multipart(form(parts));
    if let Some(t) = token {
        req = req.header("Authorization", t);
    }
    let resp = req.send().await.expect("send the form");
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("read the body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// GET as raw bytes with the response headers.
async fn fetch(
    app: &TestApp,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let mut req = reqwest::Client::new().get(app.url(path));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.expect("fetch");
    let status = resp.status().as_u16();
    let h = resp.headers().clone();
    (status, h, resp.bytes().await.expect("bytes").to_vec())
}

fn header<'a>(h: &'a reqwest::header::HeaderMap, k: &str) -> &'a str {
    h.get(k).and_then(|v| v.to_str().ok()).unwrap_or("")
}

fn png(w: u32, h: u32) -> Vec<u8> {
    let img =
        image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x * 7) as u8, (y * 5) as u8, 128]));
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut out, image::ImageFormat::Png)
        .expect("encode png");
    out.into_inner()
}

/// Files under the data folder's `storage/<collectionId>` (PocketBase's `.attrs` files aside).
fn stored_files(app: &TestApp, collection_id: &str) -> Vec<String> {
    fn walk(dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if !p.to_string_lossy().ends_with(".attrs") {
                out.push(p.to_string_lossy().into_owned());
            }
        }
    }
    let mut out = vec![];
    walk(
        &app.data_dir().join("storage").join(collection_id),
        &mut out,
    );
    out.sort();
    out
}

/// Waits up to 5 s for `check` (PocketBase deletes a deleted record's files in the background).
async fn eventually(check: impl Fn() -> bool) {
    for _ in 0..50 {
        if check() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// `stem_xxxxxxxxxx.ext`: PocketBase's stored-name scheme.
fn assert_stored_name(stored: &str, stem: &str, ext: &str) {
    let rest = stored
        .strip_prefix(&format!("{stem}_"))
        .and_then(|r| r.strip_suffix(ext))
        .unwrap_or_else(|| panic!("{stored:?} is not {stem}_<random>{ext}"));
    assert!(
        rest.len() == 10
            && rest
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
        "{stored:?}: random part {rest:?}"
    );
}

/// A collection open to everyone, with the file fields the tests use.
async fn docs(app: &TestApp) -> String {
    let c = app
        .create_collection(json!({
            "name": "docs",
            "type": "base",
            "listRule": "", "viewRule": "", "createRule": "", "updateRule": "", "deleteRule": "",
            "fields": [
                {"name": "title", "type": "text"},
                {"name": "one", "type": "file", "maxSelect": 1, "maxSize": 100},
                {"name": "many", "type": "file", "maxSelect": 3},
                {"name": "imgs", "type": "file", "maxSelect": 2,
                 "mimeTypes": ["image/png", "image/jpeg"], "thumbs": ["50x50", "20x0", "40x40f", "100x0", "0x35"]}
            ]
        }))
        .await;
    c["id"].as_str().expect("collection id").to_string()
}

fn file_url(cid: &str, rec: &Value, name: &str) -> String {
    format!(
        "/api/files/{cid}/{}/{name}",
        rec["id"].as_str().unwrap_or("")
    )
}

#[tokio::test]
async fn upload_then_download_byte_for_byte() {
    let app = TestApp::spawn().await;
    let cid = docs(&app).await;
    let binary: Vec<u8> = (0..5000u32).map(|i| (i * 31 % 251) as u8).collect();
    let (status, rec) = send_form(
        &app,
        Method::POST,
        "/api/collections/docs/records",
        None,
        vec![
            P::Text("title", "with files".into()),
            P::File("many", "data.bin", binary.clone()),
            P::File("many", "my photo.PNG", png(12, 8)),
            P::File(
                "many",
                "page.html",
                b"<html><script>alert(1)</script></html>".to_vec(),
            ),
            P::File("one", "hello.txt", b"hello world".to_vec()),
        ],
    )
    .await;
    assert_eq!(status, 200, "{rec}");
    let many: Vec<&str> = rec["many"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(many.len(), 3, "{rec}");
    assert_stored_name(many[0], "data", ".bin");
    assert_stored_name(many[1], "my_photo", ".PNG");
    assert_stored_name(many[2], "page", ".html");
    let one = rec["one"].as_str().unwrap();
    assert_stored_name(one, "hello", ".txt");

    let (status, h, body) = fetch(&app, &file_url(&cid, &rec, many[0]), &[]).await;
    assert_eq!((status, body.len()), (200, binary.len()));
    assert!(body == binary, "the download differs from the upload");
    assert_eq!(header(&h, "content-type"), "application/octet-stream");
    assert_eq!(header(&h, "content-security-policy"), SANDBOX);
    assert_eq!(header(&h, "x-content-type-options"), "nosniff");
    assert_eq!(header(&h, "accept-ranges"), "bytes");
    assert_eq!(
        header(&h, "cache-control"),
        "max-age=2592000, stale-while-revalidate=86400"
    );
    assert_eq!(
        header(&h, "content-disposition"),
        format!("attachment; filename=\"{}\"", many[0])
    );
    assert!(!header(&h, "last-modified").is_empty());

    // Images show in place unless a download is asked for; pages never do, and are sandboxed.
    let (_, h, _) = fetch(&app, &file_url(&cid, &rec, many[1]), &[]).await;
    assert_eq!(header(&h, "content-type"), "image/png");
    assert_eq!(
        header(&h, "content-disposition"),
        format!("inline; filename=\"{}\"", many[1])
    );
    let (_, h, _) = fetch(
        &app,
        &format!("{}?download=1", file_url(&cid, &rec, many[1])),
        &[],
    )
    .await;
    assert!(header(&h, "content-disposition").starts_with("attachment;"));
    let (_, h, _) = fetch(&app, &file_url(&cid, &rec, many[2]), &[]).await;
    assert_eq!(header(&h, "content-type"), "text/html; charset=utf-8");
    assert!(header(&h, "content-disposition").starts_with("attachment;"));
    assert_eq!(header(&h, "content-security-policy"), SANDBOX);

    // Ranges and conditional requests.
    let url = file_url(&cid, &rec, one);
    let (status, h, body) = fetch(&app, &url, &[("Range", "bytes=2-5")]).await;
    assert_eq!((status, body.as_slice()), (206, b"llo ".as_slice()));
    assert_eq!(header(&h, "content-range"), "bytes 2-5/11");
    assert_eq!(header(&h, "content-type"), "text/plain; charset=utf-8");
    let (status, h, _) = fetch(&app, &url, &[("Range", "bytes=50-60")]).await;
    assert_eq!((status, header(&h, "content-range")), (416, "bytes */11"));
    let (status, _, body) = fetch(
        &app,
        &url,
        &[("If-Modified-Since", "Fri, 01 Jan 2100 00:00:00 GMT")],
    )
    .await;
    assert_eq!((status, body.len()), (304, 0));

    let rid = rec["id"].as_str().unwrap();
    app.run(&[
        Case::get(
            "a name the record does not hold",
            format!("/api/files/{cid}/{rid}/nope.txt"),
        )
        .expect(
            404,
            json!({"status": 404, "message": "The requested resource wasn't found."}),
        ),
        Case::get(
            "a path outside the record",
            format!("/api/files/{cid}/{rid}/..%2F..%2Fdata.db"),
        )
        .status(404),
        Case::get(
            "a missing record",
            format!("/api/files/{cid}/missing/{one}"),
        )
        .status(404),
        Case::get(
            "a missing collection",
            format!("/api/files/nope/{rid}/{one}"),
        )
        .expect(
            404,
            json!({"message": "Missing or invalid collection context."}),
        ),
        Case::get("by collection name", format!("/api/files/docs/{rid}/{one}")).status(200),
    ])
    .await;
}

#[tokio::test]
async fn files_that_fail_their_checks_are_refused_and_leave_nothing() {
    let app = TestApp::spawn().await;
    let cid = docs(&app).await;
    let big = vec![7u8; 200];
    let cases: Vec<(&str, Vec<P>, Value)> = vec![
        (
            "over maxSize",
            vec![P::File("one", "big.bin", big.clone())],
            json!({"one": {"code": "validation_file_size_limit",
                "message": "Failed to upload big.bin - the maximum allowed file size is 100 bytes.",
                "params": {"file": "big.bin", "maxSize": 100}}}),
        ),
        (
            "more files than maxSelect",
            (0..4)
                .map(|_| P::File("many", "a.txt", b"x".to_vec()))
                .collect(),
            json!({"many": {"code": "validation_too_many_files",
                "message": "The maximum allowed files is 3.", "params": {"maxSelect": 3}}}),
        ),
        (
            "a text file named .png",
            vec![P::File("imgs", "fake.png", b"not an image".to_vec())],
            json!({"imgs": {"code": "validation_invalid_mime_type"}}),
        ),
        (
            "several fields at once",
            vec![
                P::File("imgs", "x.txt", b"text".to_vec()),
                P::File("one", "big.bin", big.clone()),
                P::File("many", "ok.txt", b"fine".to_vec()),
            ],
            json!({"imgs": {"code": "validation_invalid_mime_type"},
                   "one": {"code": "validation_file_size_limit"}}),
        ),
        (
            "names that were never uploaded",
            vec![P::Text("many", "nope.txt".into())],
            json!({"many": {"code": "validation_invalid_file",
                "message": "Invalid new files: [nope.txt].", "params": {"invalidFiles": ["nope.txt"]}}}),
        ),
    ];
    for (name, parts, data) in cases {
        let (status, body) = send_form(
            &app,
            Method::POST,
            "/api/collections/docs/records",
            None,
            parts,
        )
        .await;
        assert_eq!(status, 400, "{name}: {body}");
        assert_fragment(
            &body,
            &json!({"status": 400, "message": "Failed to create record.", "data": data}),
        );
        assert_eq!(
            stored_files(&app, &cid),
            Vec::<String>::new(),
            "{name} left files"
        );
    }
    // A content-sniffed PNG passes whatever its name and declared type.
    let (status, rec) = send_form(
        &app,
        Method::POST,
        "/api/collections/docs/records",
        None,
        vec![P::File("imgs", "real.bin", png(4, 4))],
    )
    .await;
    assert_eq!(status, 200, "{rec}");
    assert_eq!(stored_files(&app, &cid).len(), 1);
    // A single-file field keeps the last of several files.
    let (status, rec) = send_form(
        &app,
        Method::POST,
        "/api/collections/docs/records",
        None,
        vec![
            P::File("one", "first.txt", b"1".to_vec()),
            P::File("one", "second.txt", b"2".to_vec()),
        ],
    )
    .await;
    assert_eq!(status, 200, "{rec}");
    assert_stored_name(rec["one"].as_str().unwrap(), "second", ".txt");
    assert_eq!(stored_files(&app, &cid).len(), 2);
}

#[tokio::test]
async fn updates_append_remove_and_replace_files() {
    let app = TestApp::spawn().await;
    let cid = docs(&app).await;
    let (_, rec) = send_form(
        &app,
        Method::POST,
        "/api/collections/docs/records",
        None,
        vec![
            P::File("many", "a.txt", b"a".to_vec()),
            P::File("many", "b.txt", b"b".to_vec()),
            P::File("one", "one.txt", b"one".to_vec()),
        ],
    )
    .await;
    let id = rec["id"].as_str().unwrap().to_string();
    let path = format!("/api/collections/docs/records/{id}");
    let names = |v: &Value| -> Vec<String> {
        v["many"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|x| x.as_str().map(String::from))
            .collect()
    };
    let first = names(&rec);
    assert_eq!(stored_files(&app, &cid).len(), 3);

    let (status, rec) = send_form(
        &app,
        Method::PATCH,
        &path,
        None,
        vec![P::File("many+", "ccc.txt", b"c".to_vec())],
    )
    .await;
    assert_eq!(status, 200, "{rec}");
    let appended = names(&rec);
    assert_eq!(&appended[..2], &first[..]);
    assert_stored_name(&appended[2], "ccc", ".txt");

    let (status, rec) = app.patch(&path, None, json!({"many-": [first[0]]})).await;
    assert_eq!(status, 200, "{rec}");
    assert_eq!(names(&rec), appended[1..].to_vec());
    assert_eq!(
        fetch(&app, &file_url(&cid, &rec, &first[0]), &[]).await.0,
        404
    );
    assert_eq!(
        stored_files(&app, &cid).len(),
        3,
        "the removed file is deleted"
    );

    // Too many after appending: refused, nothing written, nothing lost.
    let (status, body) = send_form(
        &app,
        Method::PATCH,
        &path,
        None,
        vec![
            P::File("many+", "d.txt", b"d".to_vec()),
            P::File("many+", "e.txt", b"e".to_vec()),
        ],
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_fragment(
        &body,
        &json!({"message": "Failed to update record.", "data": {"many": {"code": "validation_too_many_files"}}}),
    );
    assert_eq!(stored_files(&app, &cid).len(), 3);

    // A plain upload replaces; `@jsonPayload` carries the other fields.
    let (status, rec) = send_form(
        &app,
        Method::PATCH,
        &path,
        None,
        vec![
            P::Text(
                "@jsonPayload",
                json!({"title": "replaced", "one": null}).to_string(),
            ),
            P::File("many", "new.txt", b"new".to_vec()),
        ],
    )
    .await;
    assert_eq!(status, 200, "{rec}");
    assert_eq!(
        (rec["title"].as_str(), rec["one"].as_str()),
        (Some("replaced"), Some(""))
    );
    let replaced = names(&rec);
    assert_eq!(replaced.len(), 1);
    assert_stored_name(&replaced[0], "new", ".txt");
    assert_eq!(
        stored_files(&app, &cid).len(),
        1,
        "replaced files are deleted"
    );
    let (status, _, body) = fetch(&app, &file_url(&cid, &rec, &replaced[0]), &[]).await;
    assert_eq!((status, body.as_slice()), (200, b"new".as_slice()));

    let (status, _) = app.delete(&path, None).await;
    assert_eq!(status, 204);
    eventually(|| stored_files(&app, &cid).is_empty()).await;
    assert_eq!(
        stored_files(&app, &cid),
        Vec::<String>::new(),
        "a deleted record's files go"
    );
}

#[tokio::test]
async fn thumbnails_have_the_asked_size() {
    let app = TestApp::spawn().await;
    let cid = docs(&app).await;
    let (status, rec) = send_form(
        &app,
        Method::POST,
        "/api/collections/docs/records",
        None,
        vec![
            P::File("imgs", "pic.png", png(120, 80)),
            P::File("many", "note.txt", b"text".to_vec()),
        ],
    )
    .await;
    assert_eq!(status, 200, "{rec}");
    let img = rec["imgs"][0].as_str().unwrap().to_string();
    let url = file_url(&cid, &rec, &img);
    for (thumb, size, name) in [
        ("50x50", (50, 50), format!("50x50_{img}")),
        ("20x0", (20, 13), format!("20x0_{img}")),
        ("40x40f", (40, 26), format!("40x40f_{img}")),
        ("100x0", (100, 67), format!("100x0_{img}")),
        ("0x35", (53, 35), format!("0x35_{img}")),
        ("100x100", (100, 100), format!("100x100_{img}")),
        // Sizes the field does not list serve the original.
        ("30x30", (120, 80), img.clone()),
        ("50x50t", (120, 80), img.clone()),
        ("junk", (120, 80), img.clone()),
    ] {
        let (status, h, body) = fetch(&app, &format!("{url}?thumb={thumb}"), &[]).await;
        assert_eq!(status, 200, "{thumb}");
        let got = image::load_from_memory(&body).expect("an image");
        assert_eq!((got.width(), got.height()), size, "{thumb}");
        assert_eq!(header(&h, "content-type"), "image/png", "{thumb}");
        assert_eq!(
            header(&h, "content-disposition"),
            format!("inline; filename=\"{name}\""),
            "{thumb}"
        );
    }
    // Asked twice, a thumbnail is made once and kept beside the file.
    let again = fetch(&app, &format!("{url}?thumb=50x50"), &[]).await;
    assert_eq!(again.0, 200);
    let rid = rec["id"].as_str().unwrap();
    let thumbs = app
        .data_dir()
        .join(format!("storage/{cid}/{rid}/thumbs_{img}"));
    assert!(thumbs.join(format!("50x50_{img}")).is_file());
    // Not an image: the thumb parameter is ignored.
    let txt = rec["many"][0].as_str().unwrap();
    let (status, _, body) = fetch(
        &app,
        &format!("{}?thumb=100x100", file_url(&cid, &rec, txt)),
        &[],
    )
    .await;
    assert_eq!((status, body.as_slice()), (200, b"text".as_slice()));
}

#[tokio::test]
async fn protected_files_need_a_file_token_that_passes_the_view_rule() {
    let app = TestApp::spawn().await;
    let c = app
        .create_collection(json!({
            "name": "private",
            "type": "base",
            "listRule": null,
            "viewRule": "owner = @request.auth.id",
            "createRule": "",
            "fields": [
                {"name": "owner", "type": "text"},
                {"name": "pub", "type": "file", "maxSelect": 1},
                {"name": "sec", "type": "file", "maxSelect": 1, "protected": true}
            ]
        }))
        .await;
    let cid = c["id"].as_str().unwrap();
    let (uid, user) = app.create_user("owner@example.com", "Passw0rd!!").await;
    let mut records = vec![];
    for owner in [uid.as_str(), "someone-else"] {
        let (status, rec) = send_form(
            &app,
            Method::POST,
            "/api/collections/private/records",
            None,
            vec![
                P::Text("owner", owner.to_string()),
                P::File("pub", "pub.txt", b"public".to_vec()),
                P::File("sec", "sec.txt", b"secret".to_vec()),
            ],
        )
        .await;
        assert_eq!(status, 200, "{rec}");
        records.push(rec);
    }
    let superuser = app.superuser_token().await;
    let token_for = |auth: Option<String>| {
        let app = &app;
        async move {
            let (status, body) = app
                .post("/api/files/token", auth.as_deref(), json!({}))
                .await;
            (status, body)
        }
    };
    let (status, body) = token_for(None).await;
    assert_eq!(status, 401, "{body}");
    let (status, body) = token_for(Some(user.clone())).await;
    assert_eq!(status, 200, "{body}");
    let user_file = body["token"].as_str().unwrap().to_string();
    let su_file = token_for(Some(superuser.clone())).await.1["token"]
        .as_str()
        .unwrap()
        .to_string();

    // The viewRule hides the other record from the user: read the names as the superuser.
    let (_, own) = app
        .get(
            &format!(
                "/api/collections/private/records/{}",
                records[0]["id"].as_str().unwrap()
            ),
            Some(&superuser),
        )
        .await;
    let (_, other) = app
        .get(
            &format!(
                "/api/collections/private/records/{}",
                records[1]["id"].as_str().unwrap()
            ),
            Some(&superuser),
        )
        .await;
    let own_sec = file_url(cid, &own, own["sec"].as_str().unwrap());
    let other_sec = file_url(cid, &other, other["sec"].as_str().unwrap());
    let other_pub = file_url(cid, &other, other["pub"].as_str().unwrap());
    app.run(&[
        // Unprotected files are public, whatever the viewRule.
        Case::get("public file, anonymous", other_pub.clone()).status(200),
        Case::get("protected, no token", own_sec.clone()).expect(
            404,
            json!({"message": "The requested resource wasn't found."}),
        ),
        Case::get("protected, auth header is not enough", own_sec.clone())
            .token(&user)
            .status(404),
        Case::get(
            "protected, an auth token as file token",
            format!("{own_sec}?token={user}"),
        )
        .status(404),
        Case::get(
            "protected, garbage token",
            format!("{own_sec}?token=garbage"),
        )
        .status(404),
        Case::get(
            "protected, own record",
            format!("{own_sec}?token={user_file}"),
        )
        .status(200),
        Case::get(
            "protected, the viewRule fails",
            format!("{other_sec}?token={user_file}"),
        )
        .status(404),
        Case::get(
            "protected, superuser",
            format!("{other_sec}?token={su_file}"),
        )
        .status(200),
    ])
    .await;
    // The token's payload is PocketBase's.
    let payload = user_file.split('.').nth(1).unwrap();
    let claims = decode_base64url(payload);
    let claims: Value = serde_json::from_slice(&claims).unwrap();
    assert_fragment(
        &claims,
        &json!({"collectionId": "_pb_users_auth_", "id": uid, "type": "file"}),
    );
    assert_eq!(claims.as_object().unwrap().len(), 4, "{claims}");
}

fn decode_base64url(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = vec![];
    let (mut buf, mut bits) = (0u32, 0);
    for c in s.bytes() {
        let v = ALPHABET.iter().position(|a| *a == c).expect("base64url") as u32;
        buf = (buf << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
            buf &= (1 << bits) - 1;
        }
    }
    out
}

#[tokio::test]
async fn s3_test_endpoint_checks_its_input() {
    let app = TestApp::spawn().await;
    let (_, user) = app.create_user("u@example.com", "Passw0rd!!").await;
    let path = "/api/settings/test/s3";
    app.run(&[
        Case::post("anonymous", path, json!({"filesystem": "storage"})).expect(
            401,
            json!({"message": "The request requires valid record authorization token."}),
        ),
        Case::post("not a superuser", path, json!({"filesystem": "storage"})).token(&user).status(403),
        Case::post("no filesystem", path, json!({})).superuser().expect(
            400,
            json!({"message": "Failed to test the S3 filesystem.",
                   "data": {"filesystem": {"code": "validation_required"}}}),
        ),
        Case::post("unknown filesystem", path, json!({"filesystem": "foo"})).superuser().expect(
            400,
            json!({"data": {"filesystem": {"code": "validation_in_invalid"}}}),
        ),
        Case::post("s3 disabled", path, json!({"filesystem": "storage"})).superuser().expect(
            400,
            json!({"message": "Failed to test the S3 filesystem. Raw error: \nS3 storage filesystem is not enabled.", "data": {}}),
        ),
        Case::post("backups s3 disabled", path, json!({"filesystem": "backups"})).superuser().status(400),
    ])
    .await;
}

/// A local S3-compatible server (moto) on a free loopback port, stopped on drop.
struct S3Server {
    child: std::process::Child,
    url: String,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `MOTO_SERVER` or `moto_server` on the PATH; `None` (the test is skipped) outside CI when
/// neither exists. `.ci/run` installs it.
async fn start_s3() -> Option<S3Server> {
    let bin = std::env::var("MOTO_SERVER").unwrap_or_else(|_| "moto_server".into());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    let child = match std::process::Command::new(&bin)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            assert!(std::env::var_os("CI").is_none(), "CI needs {bin}: {e}");
            eprintln!("skipping the S3 test: cannot run {bin} ({e}); set MOTO_SERVER");
            return None;
        }
    };
    let server = S3Server {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    for _ in 0..200 {
        if reqwest::get(&server.url).await.is_ok() {
            return Some(server);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the S3 server did not start");
}

#[tokio::test]
async fn s3_round_trip() {
    let Some(s3) = start_s3().await else {
        return;
    };
    let http = reqwest::Client::new();
    // moto checks no signature, but answers anonymous reads with 403.
    let signed = |url: String| {
        http.get(url).header(
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0",
        )
    };
    let bucket = format!("{}/motorbase-test", s3.url);
    assert!(http
        .put(&bucket)
        .send()
        .await
        .unwrap()
        .status()
        .is_success());
    let app = TestApp::spawn().await;
    let cid = docs(&app).await;
    let su = app.superuser_token().await;
    let (status, body) = app
        .patch(
            "/api/settings",
            Some(&su),
            json!({"s3": {"enabled": true, "bucket": "motorbase-test", "region": "us-east-1",
                "endpoint": s3.url, "accessKey": "test", "secret": "testsecret", "forcePathStyle": true}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .post(
            "/api/settings/test/s3",
            Some(&su),
            json!({"filesystem": "storage"}),
        )
        .await;
    assert_eq!(status, 204, "{body}");

    let content: Vec<u8> = (0..3000u32).map(|i| (i % 253) as u8).collect();
    let (status, rec) = send_form(
        &app,
        Method::POST,
        "/api/collections/docs/records",
        None,
        vec![
            P::File("many", "blob.bin", content.clone()),
            P::File("imgs", "pic.png", png(60, 30)),
        ],
    )
    .await;
    assert_eq!(status, 200, "{rec}");
    let rid = rec["id"].as_str().unwrap();
    let name = rec["many"][0].as_str().unwrap();
    // Stored in the bucket under PocketBase's key, not on the local disk.
    let object = signed(format!("{bucket}/{cid}/{rid}/{name}"))
        .send()
        .await
        .unwrap();
    assert_eq!(object.status().as_u16(), 200);
    assert!(object.bytes().await.unwrap().as_ref() == content.as_slice());
    assert_eq!(stored_files(&app, &cid), Vec::<String>::new());

    let (status, _, body) = fetch(&app, &file_url(&cid, &rec, name), &[]).await;
    assert_eq!(status, 200);
    assert!(body == content, "the download differs from the upload");
    let (status, _, body) = fetch(
        &app,
        &file_url(&cid, &rec, name),
        &[("Range", "bytes=10-19")],
    )
    .await;
    assert_eq!((status, body.as_slice()), (206, &content[10..20]));
    let img = rec["imgs"][0].as_str().unwrap();
    let (status, _, body) = fetch(
        &app,
        &format!("{}?thumb=50x50", file_url(&cid, &rec, img)),
        &[],
    )
    .await;
    assert_eq!(status, 200);
    let t = image::load_from_memory(&body).unwrap();
    assert_eq!((t.width(), t.height()), (50, 50));

    let (status, _) = app
        .delete(&format!("/api/collections/docs/records/{rid}"), None)
        .await;
    assert_eq!(status, 204);
    let mut gone = 0;
    for _ in 0..50 {
        gone = signed(format!("{bucket}/{cid}/{rid}/{name}"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        if gone == 404 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(gone, 404, "a deleted record's objects go");
}

#[tokio::test]
async fn truncating_or_deleting_a_collection_removes_its_files() {
    let app = TestApp::spawn().await;
    let su = app.superuser_token().await;
    let cid = docs(&app).await;
    let upload = |name: &'static str| vec![P::File("one", name, b"some bytes".to_vec())];
    for name in ["a.txt", "b.txt"] {
        let (status, body) = send_form(
            &app,
            Method::POST,
            "/api/collections/docs/records",
            None,
            upload(name),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    assert_eq!(stored_files(&app, &cid).len(), 2);

    let (status, _) = app
        .delete("/api/collections/docs/truncate", Some(&su))
        .await;
    assert_eq!(status, 204);
    assert!(
        stored_files(&app, &cid).is_empty(),
        "truncate left files behind"
    );

    let (status, _) = send_form(
        &app,
        Method::POST,
        "/api/collections/docs/records",
        None,
        upload("c.txt"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(stored_files(&app, &cid).len(), 1);
    let (status, _) = app.delete("/api/collections/docs", Some(&su)).await;
    assert_eq!(status, 204);
    assert!(
        !app.data_dir().join("storage").join(&cid).exists(),
        "deleting the collection left its folder behind"
    );
}
