//! Record-list filters replayed against answers recorded from PocketBase 0.40.6: every filter
//! on which `tools/filter-compare` ever found the servers to differ, and a sample of generated
//! filters covering every operand kind and operator. The fixture is produced by that tool
//! (`compare.py --emit-fixture`, see its docstring for how to regenerate it).

use std::collections::BTreeSet;

use serde_json::Value;

use crate::common::{with_query, TestApp};

const FIXTURE: &str = include_str!("../fixtures/filters_pocketbase_0_40_6.json");

/// One recorded case: the filter and sort, and PocketBase's status and ordered ids.
struct Recorded<'a> {
    filter: &'a str,
    sort: &'a str,
    status: u16,
    /// `None` when PocketBase refused the filter.
    ids: Option<Vec<&'a str>>,
}

impl<'a> Recorded<'a> {
    fn from_json(case: &'a Value) -> Recorded<'a> {
        let text = |key: &str| {
            case[key]
                .as_str()
                .unwrap_or_else(|| panic!("case without a {key}: {case}"))
        };
        Recorded {
            filter: text("filter"),
            sort: text("sort"),
            status: case["status"]
                .as_u64()
                .and_then(|s| u16::try_from(s).ok())
                .unwrap_or_else(|| panic!("case without a status: {case}")),
            ids: case["ids"].as_array().map(|ids| strings(ids)),
        }
    }
}

fn strings(values: &[Value]) -> Vec<&str> {
    values
        .iter()
        .map(|v| v.as_str().unwrap_or_else(|| panic!("not a string: {v}")))
        .collect()
}

fn array<'a>(value: &'a Value, what: &str) -> &'a [Value] {
    value
        .as_array()
        .unwrap_or_else(|| panic!("the fixture's {what} is not an array"))
}

/// The fixture's collections, users and records, created in that order as the superuser.
async fn seed(app: &TestApp, fixture: &Value) {
    let collections = array(&fixture["collections"], "collections");
    for collection in collections {
        app.create_collection(collection.clone()).await;
    }
    for user in array(&fixture["users"], "users") {
        app.create_record("users", user.clone()).await;
    }
    // Collection order, not key order: a relation's targets must exist first.
    for collection in collections {
        let name = collection["name"].as_str().expect("a collection name");
        for record in array(&fixture["records"][name], name) {
            app.create_record(name, record.clone()).await;
        }
    }
}

/// What differs between the expected and the returned ids.
fn describe_ids(expected: &[&str], got: &[&str]) -> String {
    let expected_set: BTreeSet<&str> = expected.iter().copied().collect();
    let got_set: BTreeSet<&str> = got.iter().copied().collect();
    if expected_set == got_set {
        return format!("same {} ids in another order: {got:?}", got.len());
    }
    let missing: Vec<&str> = expected_set.difference(&got_set).copied().collect();
    let extra: Vec<&str> = got_set.difference(&expected_set).copied().collect();
    format!(
        "{} ids instead of {}; missing {missing:?}, unexpected {extra:?}",
        got.len(),
        expected.len()
    )
}

#[tokio::test]
async fn filters_answer_as_pocketbase_recorded() {
    let fixture: Value = serde_json::from_str(FIXTURE).expect("the fixture is JSON");
    let listed = fixture["collection"]
        .as_str()
        .expect("the fixture names the listed collection");
    let app = TestApp::spawn().await;
    seed(&app, &fixture).await;
    let token = app.superuser_token().await;

    let cases = array(&fixture["cases"], "cases");
    let list_path = format!("/api/collections/{listed}/records");
    let mut failures = Vec::new();
    for case in cases.iter().map(Recorded::from_json) {
        let path = with_query(
            &list_path,
            &[
                ("filter", case.filter),
                ("sort", case.sort),
                ("perPage", "500"),
                ("fields", "id"),
            ],
        );
        let (status, body) = app.get(&path, Some(&token)).await;
        let ids = (status == 200).then(|| {
            body["items"]
                .as_array()
                .unwrap_or_else(|| panic!("not a list response: {body}"))
                .iter()
                .map(|item| item["id"].as_str().unwrap_or_default())
                .collect::<Vec<_>>()
        });
        if status == case.status && ids == case.ids {
            continue;
        }
        let problem = match (&case.ids, &ids) {
            _ if status != case.status => {
                format!("status {status}, expected {}: {body}", case.status)
            }
            (Some(expected), Some(got)) => describe_ids(expected, got),
            _ => format!("{ids:?}, expected {:?}", case.ids),
        };
        failures.push(format!(
            "filter: {}\n    sort: {}\n    {problem}",
            case.filter, case.sort
        ));
    }
    assert!(
        failures.is_empty(),
        "{} of {} filters recorded from PocketBase answer differently:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
